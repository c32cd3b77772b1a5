/**
 * The coordinator's own view of a measured window, from its Prometheus /metrics: how many ticks
 * (group commits) ran, how long they took, how much of that was the Postgres commit, and how
 * many rows each carried. The tick loop runs one tick at a time, so `tick busy %` near 100 means
 * the loop itself is the limit.
 */
import http from 'node:http';

export interface CoordinatorLoopStats {
  wallS: number;
  ticks: number;
  tickS: number;
  commits: number;
  commitS: number;
  rows: number;
}

const SERIES = [
  'swarm_coordinator_tick_seconds_sum',
  'swarm_coordinator_tick_seconds_count',
  'swarm_coordinator_commit_seconds_sum',
  'swarm_coordinator_commit_seconds_count',
  'swarm_coordinator_tick_rows_sum',
] as const;

type Snapshot = Partial<Record<(typeof SERIES)[number], number>>;

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** Sums each wanted series over its label sets. */
export function parseSeries(text: string): Snapshot {
  const out: Snapshot = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !(SERIES as readonly string[]).includes(m[1]!)) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) out[m[1] as (typeof SERIES)[number]] = (out[m[1] as (typeof SERIES)[number]] ?? 0) + v;
  }
  return out;
}

/** Coordinator tick/commit figures over a window: `start()`, then `stop()` (undefined when /metrics lacks them). */
export class CoordinatorWindow {
  private before: Snapshot | undefined;
  private t0 = 0;

  constructor(private readonly metricsUrl: string) {}

  async start(): Promise<void> {
    this.before = await get(this.metricsUrl).then(parseSeries, () => undefined);
    this.t0 = performance.now();
  }

  async stop(): Promise<CoordinatorLoopStats | undefined> {
    const wallS = (performance.now() - this.t0) / 1000;
    const after = await get(this.metricsUrl).then(parseSeries, () => undefined);
    const b = this.before;
    if (!b || !after) return undefined;
    const d = (k: (typeof SERIES)[number]): number | undefined =>
      after[k] === undefined || b[k] === undefined ? undefined : after[k] - b[k];
    const ticks = d('swarm_coordinator_tick_seconds_count');
    const tickS = d('swarm_coordinator_tick_seconds_sum');
    if (ticks === undefined || tickS === undefined) return undefined;
    return {
      wallS,
      ticks,
      tickS,
      commits: d('swarm_coordinator_commit_seconds_count') ?? NaN,
      commitS: d('swarm_coordinator_commit_seconds_sum') ?? NaN,
      rows: d('swarm_coordinator_tick_rows_sum') ?? NaN,
    };
  }
}
