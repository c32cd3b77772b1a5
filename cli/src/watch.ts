import type { TaskDto } from '@swarm-mesh/contracts';
import type { SwarmClient } from '@swarm-mesh/agent-sdk';
import { duration, jsonSnippet, percent, progressBar } from './format';
import type { CliIO } from './io';

export interface WatchOptions {
  pollMs: number;
  timeoutMs?: number;
  json: boolean;
}

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

function attemptInfo(t: TaskDto): string {
  return `attempt ${t.attempt}/${t.maxAttempts}${t.agentId ? ` on ${t.agentId}` : ''}`;
}

/** What changed between two snapshots, as human lines (progress only when `withProgress`). */
export function describeChange(prev: TaskDto | undefined, t: TaskDto, withProgress: boolean): string[] {
  const lines: string[] = [];
  if (!prev) {
    lines.push(`task ${t.id} (${t.capability}, ${t.priority}) is ${t.state}${t.attempt > 0 ? `, ${attemptInfo(t)}` : ''}`);
  } else {
    for (const a of t.attempts) {
      const before = prev.attempts.find((p) => p.attempt === a.attempt);
      if (a.outcome && !before?.outcome) {
        const error = a.error ? `: ${a.error.code ? `${a.error.code} ` : ''}${a.error.message}` : '';
        lines.push(`attempt ${a.attempt}${a.agentId ? ` on ${a.agentId}` : ''} ${a.outcome}${error}`);
      }
    }
    if (prev.state !== t.state) {
      let extra = '';
      if (t.state === 'dispatched' || t.state === 'running') extra = ` (${attemptInfo(t)})`;
      else if (t.state === 'retry_scheduled' && t.nextAttemptAt) extra = ` (next attempt at ${t.nextAttemptAt})`;
      lines.push(`${prev.state} → ${t.state}${extra}`);
    }
  }
  const p = t.progress;
  const pp = prev?.progress;
  if (withProgress && p && (p.percent !== pp?.percent || p.message !== pp?.message)) {
    lines.push(`progress ${[percent(p.percent), p.message].filter(Boolean).join(' ')}`);
  }
  return lines;
}

function statusLine(t: TaskDto, columns: number): string {
  const p = t.progress?.percent;
  const parts = [
    p === undefined ? progressBar(0).replace(/\./g, ' ') : progressBar(p),
    (percent(p) ?? '-').padStart(4),
    t.state,
    attemptInfo(t),
  ];
  if (t.progress?.message) parts.push(`— ${t.progress.message}`);
  const line = parts.join(' ');
  return line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line;
}

/**
 * Follows a task until it reaches a terminal state: one line per change (state, finished attempts,
 * progress) and, on a terminal, a live progress bar. `--json` prints each new snapshot as one JSON
 * line (the API's TaskDto). Returns the exit code: 0 when the task succeeded, 1 otherwise.
 */
export async function watchTask(client: SwarmClient, io: CliIO, taskId: string, opts: WatchOptions): Promise<number> {
  const started = Date.now();
  const tty = !opts.json && io.stdout.isTTY === true;
  const columns = io.stdout.columns ?? 100;
  let barShown = false;
  const clearBar = (): void => {
    if (barShown) io.stdout.write('\r\x1b[2K');
    barShown = false;
  };
  const final = await client
    .waitFor(taskId, {
      pollMs: opts.pollMs,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      onUpdate: (t, prev) => {
        if (opts.json) {
          io.stdout.write(`${JSON.stringify(t)}\n`);
          return;
        }
        const lines = describeChange(prev, t, !tty);
        if (tty) clearBar();
        for (const line of lines) io.stdout.write(`${clock()} ${line}\n`);
        if (tty && (t.state === 'running' || t.state === 'dispatched')) {
          io.stdout.write(statusLine(t, columns));
          barShown = true;
        }
      },
    })
    .finally(clearBar);
  if (!opts.json) {
    const attempts = `${final.attempt} attempt${final.attempt === 1 ? '' : 's'}`;
    io.stdout.write(`task ${final.id} ${final.state} after ${attempts} (watched ${duration(Date.now() - started)})\n`);
    if (final.result) io.stdout.write(`result: ${jsonSnippet(final.result, 2000)}\n`);
    if (final.state !== 'succeeded' && final.error) {
      io.stdout.write(`error: ${final.error.code ? `${final.error.code}: ` : ''}${final.error.message}\n`);
    }
  }
  return final.state === 'succeeded' ? 0 : 1;
}
