import type { LatencyStatsDto } from '@swarm-mesh/contracts';
import type { DataSource } from 'typeorm';
import { latencyStats } from '../ingest/live-stats';
import { type Hist, histFromJson, histMerge } from './histogram';

/** Additive figures of any set of rollup rows. */
export interface Agg {
  attempts: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  other: number;
  runN: number;
  runSum: number;
  runHist: Hist;
  queueN: number;
  queueSum: number;
  queueHist: Hist;
  lostRunMs: number;
  tasks: number;
  tasksSucceeded: number;
  totalSum: number;
  totalHist: Hist;
  deadlineTasks: number;
  deadlineMissed: number;
  costN: number;
  costSum: number;
  tokensN: number;
  tokensSum: number;
  validationFailed: number;
}

/** One rollup row: a bucket of one capability × pool × agent. */
export interface RollupRow extends Agg {
  bucket: number;
  capability: string;
  pool: string;
  agentId: string;
}

export function emptyAgg(): Agg {
  return {
    attempts: 0,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    other: 0,
    runN: 0,
    runSum: 0,
    runHist: new Map(),
    queueN: 0,
    queueSum: 0,
    queueHist: new Map(),
    lostRunMs: 0,
    tasks: 0,
    tasksSucceeded: 0,
    totalSum: 0,
    totalHist: new Map(),
    deadlineTasks: 0,
    deadlineMissed: 0,
    costN: 0,
    costSum: 0,
    tokensN: 0,
    tokensSum: 0,
    validationFailed: 0,
  };
}

export function addAgg(into: Agg, r: Agg): Agg {
  into.attempts += r.attempts;
  into.succeeded += r.succeeded;
  into.failed += r.failed;
  into.timedOut += r.timedOut;
  into.other += r.other;
  into.runN += r.runN;
  into.runSum += r.runSum;
  histMerge(into.runHist, r.runHist);
  into.queueN += r.queueN;
  into.queueSum += r.queueSum;
  histMerge(into.queueHist, r.queueHist);
  into.lostRunMs += r.lostRunMs;
  into.tasks += r.tasks;
  into.tasksSucceeded += r.tasksSucceeded;
  into.totalSum += r.totalSum;
  histMerge(into.totalHist, r.totalHist);
  into.deadlineTasks += r.deadlineTasks;
  into.deadlineMissed += r.deadlineMissed;
  into.costN += r.costN;
  into.costSum += r.costSum;
  into.tokensN += r.tokensN;
  into.tokensSum += r.tokensSum;
  into.validationFailed += r.validationFailed;
  return into;
}

/** Groups rows by `key` and adds them up. */
export function aggregate<K>(rows: readonly RollupRow[], key: (r: RollupRow) => K | undefined): Map<K, Agg> {
  const out = new Map<K, Agg>();
  for (const r of rows) {
    const k = key(r);
    if (k === undefined) continue;
    let a = out.get(k);
    if (!a) {
      a = emptyAgg();
      out.set(k, a);
    }
    addAgg(a, r);
  }
  return out;
}

/** succeeded / (succeeded + failed + timed out), or null. */
export function successRate(a: Agg): number | null {
  const n = a.succeeded + a.failed + a.timedOut;
  return n > 0 ? Math.round((a.succeeded / n) * 10_000) / 10_000 : null;
}

export function runStats(a: Agg): LatencyStatsDto {
  return latencyStats(a.runHist, a.runN, a.runSum);
}

export function queueStats(a: Agg): LatencyStatsDto {
  return latencyStats(a.queueHist, a.queueN, a.queueSum);
}

interface RawRollup {
  bucket_ms: string;
  capability: string;
  pool: string;
  agent_id: string;
  attempts: number;
  succeeded: number;
  failed: number;
  timed_out: number;
  other: number;
  run_n: number;
  run_sum_ms: string;
  run_hist: unknown;
  queue_n: number;
  queue_sum_ms: string;
  queue_hist: unknown;
  lost_run_ms: string;
  tasks: number;
  tasks_succeeded: number;
  total_sum_ms: string;
  total_hist: unknown;
  deadline_tasks: number;
  deadline_missed: number;
  cost_n: number;
  cost_sum: string;
  tokens_n: number;
  tokens_sum: string;
  validation_failed: number;
}

/** Rollup rows of a tenant with buckets in [fromMs, toMs). */
export async function loadRollups(
  ds: DataSource,
  tenantId: string,
  fromMs: number,
  toMs: number = Date.now() + 3_600_000,
  capability?: string,
): Promise<RollupRow[]> {
  const params: unknown[] = [tenantId, new Date(fromMs).toISOString(), new Date(toMs).toISOString()];
  if (capability !== undefined) params.push(capability);
  const raw = await ds.query<RawRollup[]>(
    `SELECT (extract(epoch FROM bucket_start) * 1000)::bigint AS bucket_ms, capability, pool, agent_id, attempts, succeeded, failed,
            timed_out, other, run_n, run_sum_ms, run_hist, queue_n, queue_sum_ms, queue_hist, lost_run_ms, tasks, tasks_succeeded,
            total_sum_ms, total_hist, deadline_tasks, deadline_missed, cost_n, cost_sum, tokens_n, tokens_sum, validation_failed
       FROM performance.sample_rollups
      WHERE tenant_id = $1 AND bucket_start >= $2 AND bucket_start < $3 ${capability !== undefined ? 'AND capability = $4' : ''}`,
    params,
  );
  return raw.map((r) => ({
    bucket: Number(r.bucket_ms),
    capability: r.capability,
    pool: r.pool,
    agentId: r.agent_id,
    attempts: r.attempts,
    succeeded: r.succeeded,
    failed: r.failed,
    timedOut: r.timed_out,
    other: r.other,
    runN: r.run_n,
    runSum: Number(r.run_sum_ms),
    runHist: histFromJson(r.run_hist),
    queueN: r.queue_n,
    queueSum: Number(r.queue_sum_ms),
    queueHist: histFromJson(r.queue_hist),
    lostRunMs: Number(r.lost_run_ms),
    tasks: r.tasks,
    tasksSucceeded: r.tasks_succeeded,
    totalSum: Number(r.total_sum_ms),
    totalHist: histFromJson(r.total_hist),
    deadlineTasks: r.deadline_tasks,
    deadlineMissed: r.deadline_missed,
    costN: r.cost_n,
    costSum: Number(r.cost_sum),
    tokensN: r.tokens_n,
    tokensSum: Number(r.tokens_sum),
    validationFailed: r.validation_failed,
  }));
}

/** Tenants with rollups since `fromMs`. */
export async function activeTenants(ds: DataSource, fromMs: number): Promise<string[]> {
  const rows = await ds.query<Array<{ tenant_id: string }>>(
    `SELECT DISTINCT tenant_id FROM performance.sample_rollups WHERE bucket_start >= $1`,
    [new Date(fromMs).toISOString()],
  );
  return rows.map((r) => r.tenant_id).sort();
}
