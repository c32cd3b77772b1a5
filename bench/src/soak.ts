/**
 * Issue 9's scale and soak checks inside the bench: simulated idle agents (idle-agents.ts, a
 * child process) and periodic RSS samples of the mesh processes during the rate run.
 */
import { testNatsUrl } from '@swarm-mesh/testing';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { processMemory } from './procfs';

export interface IdleAgents {
  pid: number;
  stop(): Promise<void>;
}

/** Starts `n` idle agents in a child process and resolves once every one is registered. */
export async function startIdleAgents(namespace: string, n: number, log: (s: string) => void, timeoutMs = 300_000): Promise<IdleAgents> {
  const child = spawn(process.execPath, [join(__dirname, 'idle-agents.js')], {
    env: { ...process.env, SWARM_NAMESPACE: namespace, NATS_URL: testNatsUrl(), IDLE_AGENTS: String(n), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  const done = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await done;
    clearTimeout(t);
  };
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`idle agents not registered within ${timeoutMs} ms: ${err.slice(-500)}`)), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (/^ready \d+$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`idle agents exited (${code}) before registering: ${err.slice(-500)}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  log(`idle agents: ${n} registered in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
  return { pid: child.pid!, stop };
}

export interface RssRow {
  name: string;
  first: number;
  min: number;
  max: number;
  last: number;
  /** Last sample vs the first one after the warm-up (one point against another: swings count). */
  driftPct: number;
  /** Median of the last fifth of the samples vs the median of the first fifth after the warm-up (growth, not swings). */
  trendPct: number;
}

export interface RssSampler {
  stop(): { samples: number; rows: RssRow[]; maxDriftPct: number; maxTrendPct: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Samples the RSS of each process every `everyMs`. The first tenth of the samples (at least
 * one) is the warm-up. Drift compares the last sample with the first one after it; a heap that
 * breathes (±20 MiB between collections) moves that figure without any growth, so the trend
 * compares the median of the last fifth of the samples with the median of the first fifth.
 */
export function sampleRss(processes: ReadonlyArray<{ name: string; pid: number }>, everyMs: number): RssSampler {
  const series = new Map<string, number[]>();
  const take = (): void => {
    for (const p of processes) {
      const m = processMemory(p.pid);
      if (!m || !Number.isFinite(m.rssMb)) continue;
      const s = series.get(p.name) ?? [];
      s.push(m.rssMb);
      series.set(p.name, s);
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      const rows: RssRow[] = [];
      let samples = 0;
      for (const [name, s] of series) {
        samples = Math.max(samples, s.length);
        const warm = s.slice(Math.max(1, Math.floor(s.length / 10)));
        const first = warm[0] ?? s[0]!;
        const last = s[s.length - 1]!;
        const fifth = Math.max(1, Math.floor(warm.length / 5));
        const early = median(warm.slice(0, fifth));
        const late = median(warm.slice(-fifth));
        rows.push({
          name,
          first,
          min: Math.min(...warm),
          max: Math.max(...warm),
          last,
          driftPct: (100 * (last - first)) / first,
          trendPct: (100 * (late - early)) / early,
        });
      }
      return {
        samples,
        rows,
        maxDriftPct: rows.reduce((m, r) => Math.max(m, Math.abs(r.driftPct)), 0),
        maxTrendPct: rows.reduce((m, r) => Math.max(m, Math.abs(r.trendPct)), 0),
      };
    },
  };
}
