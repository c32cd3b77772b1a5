import type { AgentDto, DeadLetterDto, QueueDepthDto, SubmittedTaskDto, TaskDto } from '@swarm-mesh/contracts';

/** Left-aligned columns separated by two spaces; `-` for empty cells. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** `label  value` lines with aligned values; undefined values are skipped. */
export function details(pairs: Array<[string, string | number | null | undefined]>): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${String(v)}`).join('\n') + '\n';
}

/** Compact JSON, cut to `max` characters. */
export function jsonSnippet(value: unknown, max = 200): string {
  const s = JSON.stringify(value) ?? '';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function percent(p: number | undefined | null): string | undefined {
  return p === undefined || p === null ? undefined : `${Math.round(p * 100)}%`;
}

/** `[#####.....]` for 0..1. */
export function progressBar(p: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(p * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** `1.2s`, `3m04s`, `250ms`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** Age of an ISO time relative to now: `5s ago`. */
export function ago(iso: string | null | undefined, now = Date.now()): string | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${duration(Math.max(0, now - t))} ago`;
}

export function taskDetails(t: TaskDto): string {
  let out = details([
    ['id', t.id],
    ['capability', t.capability],
    ['state', t.state],
    ['priority', t.priority],
    ['attempt', `${t.attempt}/${t.maxAttempts}`],
    ['progress', t.progress ? [percent(t.progress.percent), t.progress.message].filter(Boolean).join(' ') : undefined],
    ['agent', t.agentId],
    ['idempotency key', t.idempotencyKey],
    [
      'labels',
      Object.keys(t.labels).length > 0
        ? Object.entries(t.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')
        : undefined,
    ],
    ['deadline', t.deadline],
    ['next attempt', t.nextAttemptAt],
    ['trace', t.traceId],
    ['created', t.createdAt],
    ['updated', t.updatedAt],
    ['finished', t.finishedAt],
    ['input', jsonSnippet(t.input)],
    ['result', t.result ? jsonSnippet(t.result, 500) : undefined],
    ['error', t.error ? `${t.error.code ? `${t.error.code}: ` : ''}${t.error.message}` : undefined],
  ]);
  if (t.attempts.length > 0) {
    out += 'attempts:\n';
    out += table(
      ['  #', 'AGENT', 'STARTED', 'FINISHED', 'OUTCOME', 'ERROR'],
      t.attempts.map((a) => [
        `  ${a.attempt}`,
        a.agentId,
        a.startedAt,
        a.finishedAt,
        a.outcome,
        a.error ? `${a.error.code ? `${a.error.code}: ` : ''}${a.error.message}` : undefined,
      ]),
    );
  }
  return out;
}

export function tasksTable(items: TaskDto[]): string {
  return table(
    ['ID', 'CAPABILITY', 'STATE', 'PRIORITY', 'ATTEMPT', 'AGENT', 'UPDATED'],
    items.map((t) => [t.id, t.capability, t.state, t.priority, `${t.attempt}/${t.maxAttempts}`, t.agentId, t.updatedAt]),
  );
}

/** The compact entries a batch submit answers with. */
export function submittedTable(items: SubmittedTaskDto[]): string {
  return table(
    ['ID', 'CAPABILITY', 'STATE', 'PRIORITY', 'CREATED'],
    items.map((t) => [t.id, t.capability, t.state, t.priority, t.createdAt]),
  );
}

export function agentsTable(items: AgentDto[]): string {
  return table(
    ['ID', 'STATE', 'DOMAIN', 'TIER', 'CAPABILITIES', 'RUNNING', 'FREE', 'OK/FAILED', 'BREAKER', 'HEARTBEAT'],
    items.map((a) => [
      a.id,
      a.state,
      a.domain,
      a.tier,
      a.capabilities.join(','),
      `${a.load.running}/${a.concurrency}`,
      a.load.freeSlots,
      `${a.stats.succeeded}/${a.stats.failed}`,
      a.breaker.state,
      ago(a.lastHeartbeatAt),
    ]),
  );
}

export function agentDetails(a: AgentDto): string {
  return details([
    ['id', a.id],
    ['name', a.name],
    ['state', a.state],
    ['domain', a.domain],
    ['tier', a.tier],
    ['capabilities', a.capabilities.join(', ')],
    ['load', `${a.load.running} running, ${a.load.freeSlots} free of ${a.concurrency}`],
    ['succeeded', a.stats.succeeded],
    ['failed', `${a.stats.failed} (${a.stats.consecutiveFailures} in a row)`],
    ['cpu', a.stats.cpuPercent === undefined ? undefined : `${a.stats.cpuPercent.toFixed(1)}%`],
    ['memory', a.stats.memoryRssBytes === undefined ? undefined : `${Math.round(a.stats.memoryRssBytes / 1024 / 1024)} MiB`],
    ['breaker', a.breaker.state + (a.breaker.retryAt ? ` (retry at ${a.breaker.retryAt})` : '')],
    ['heartbeat', a.lastHeartbeatAt ? `${a.lastHeartbeatAt} (${ago(a.lastHeartbeatAt)})` : undefined],
    ['instance', a.instanceId],
    ['version', a.version],
    ['registered', a.registeredAt],
  ]);
}

export function deadLettersTable(items: DeadLetterDto[]): string {
  return table(
    ['ID', 'TASK', 'CAPABILITY', 'REASON', 'ERRORS', 'CREATED', 'REPLAYED'],
    items.map((d) => [d.id, d.taskId, d.capability, d.reason, d.errors.length, d.createdAt, d.replayedAt]),
  );
}

export function deadLetterDetails(d: DeadLetterDto): string {
  let out = details([
    ['id', d.id],
    ['task', d.taskId],
    ['capability', d.capability],
    ['reason', d.reason],
    ['created', d.createdAt],
    ['replayed', d.replayedAt ? `${d.replayedAt}${d.replayedBy ? ` by ${d.replayedBy}` : ''}` : undefined],
  ]);
  if (d.errors.length > 0) {
    out += 'errors:\n';
    out += table(
      ['  ATTEMPT', 'AT', 'CODE', 'RETRYABLE', 'MESSAGE'],
      d.errors.map((e) => [`  ${e.attempt ?? '-'}`, e.at, e.code, e.retryable ? 'yes' : 'no', e.message]),
    );
  }
  return out;
}

export function queuesTable(items: QueueDepthDto[]): string {
  return table(
    ['CAPABILITY', 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'QUEUED', 'DISPATCHED', 'RUNNING', 'RETRY', 'AGENTS', 'FREE', 'OLDEST'],
    items.map((q) => [
      q.capability,
      q.queued.CRITICAL,
      q.queued.HIGH,
      q.queued.MEDIUM,
      q.queued.LOW,
      q.totalQueued,
      q.dispatched,
      q.running,
      q.retryScheduled,
      q.availableAgents,
      q.freeSlots,
      q.oldestQueuedAgeMs === null ? undefined : duration(q.oldestQueuedAgeMs),
    ]),
  );
}
