import { pgArray, preparedQuery } from '@swarm-mesh/persistence';
import type { DataSource } from 'typeorm';
import type { SampleRow } from './event-mapper';

const SAMPLE_COLUMNS = [
  ['task_id', 'uuid'],
  ['attempt', 'integer'],
  ['tenant_id', 'text'],
  ['capability', 'text'],
  ['agent_id', 'text'],
  ['pool', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['priority', 'smallint'],
  ['queue_wait_ms', 'integer'],
  ['run_ms', 'integer'],
  ['total_ms', 'integer'],
  ['tokens_in', 'integer'],
  ['tokens_out', 'integer'],
  ['cost', 'numeric'],
  ['outcome', 'text'],
  ['error_code', 'text'],
  ['validation', 'text'],
  ['deadline_at', 'timestamptz'],
  ['workflow_id', 'text'],
  ['task_state', 'text'],
  ['finished_at', 'timestamptz'],
] as const;

const COLS = SAMPLE_COLUMNS.map(([c]) => c).join(', ');
/** One array parameter per column ($2…): Postgres reads typed arrays for less CPU than one JSON document. */
const UNNEST = `unnest(${SAMPLE_COLUMNS.map(([, t], i) => `$${i + 2}::${t}[]`).join(', ')}) AS x(${COLS})`;
const KEY = 'tenant_id, bucket_start, capability, pool, agent_id';
const ADDITIVE = [
  'attempts',
  'succeeded',
  'failed',
  'timed_out',
  'other',
  'run_n',
  'run_sum_ms',
  'queue_n',
  'queue_sum_ms',
  'lost_run_ms',
  'tasks',
  'tasks_succeeded',
  'total_sum_ms',
  'deadline_tasks',
  'deadline_missed',
  'cost_n',
  'cost_sum',
  'tokens_n',
  'tokens_sum',
  'validation_failed',
];

/**
 * ONE statement per batch (one round trip, atomic):
 * 1. the samples, one array per column (`unnest`), `ON CONFLICT (task_id, attempt)`:
 *    a redelivered attempt changes nothing, except that an attempt row learns that its task
 *    ended (a task cancelled while waiting for its retry);
 * 2. the rollup increments of exactly the rows the statement inserted (or ended), so a
 *    redelivered batch never counts twice: counts and sums per tenant × bucket × capability ×
 *    pool × agent, plus log-scale histograms (`performance.hist_bin`, `hist_merge`), upserted;
 * 3. it answers which input rows were new (`inserted`) or ended, for the live view and traces.
 */
const INGEST = `
WITH x AS (
  SELECT * FROM ${UNNEST}
), ins AS (
  INSERT INTO performance.execution_samples AS s (${COLS})
  SELECT ${COLS} FROM x
  ON CONFLICT (task_id, attempt) DO UPDATE
    SET task_state = EXCLUDED.task_state,
        total_ms = coalesce(EXCLUDED.total_ms, s.total_ms),
        deadline_at = coalesce(EXCLUDED.deadline_at, s.deadline_at),
        workflow_id = coalesce(s.workflow_id, EXCLUDED.workflow_id)
    WHERE s.task_state IS NULL AND EXCLUDED.task_state IS NOT NULL
  RETURNING s.*, (xmax = 0) AS inserted
), r AS (
  SELECT tenant_id, to_timestamp(floor(extract(epoch FROM finished_at) * 1000 / $1) * $1 / 1000.0) AS bucket_start,
         capability, coalesce(pool, '') AS pool, coalesce(agent_id, '') AS agent_id,
         (inserted AND attempt > 0) AS att, outcome, run_ms, queue_wait_ms, total_ms, cost, tokens_in, tokens_out,
         validation, task_state, deadline_at, finished_at
    FROM ins
), sums AS (
  SELECT ${KEY},
         count(*) FILTER (WHERE att) AS attempts,
         count(*) FILTER (WHERE att AND outcome = 'succeeded') AS succeeded,
         count(*) FILTER (WHERE att AND outcome = 'failed') AS failed,
         count(*) FILTER (WHERE att AND outcome = 'timed_out') AS timed_out,
         count(*) FILTER (WHERE att AND outcome NOT IN ('succeeded', 'failed', 'timed_out')) AS other,
         count(run_ms) FILTER (WHERE att AND outcome = 'succeeded') AS run_n,
         coalesce(sum(run_ms) FILTER (WHERE att AND outcome = 'succeeded'), 0) AS run_sum_ms,
         count(queue_wait_ms) FILTER (WHERE att) AS queue_n,
         coalesce(sum(queue_wait_ms) FILTER (WHERE att), 0) AS queue_sum_ms,
         coalesce(sum(run_ms) FILTER (WHERE att AND outcome <> 'succeeded'), 0) AS lost_run_ms,
         count(*) FILTER (WHERE task_state IS NOT NULL) AS tasks,
         count(*) FILTER (WHERE task_state = 'succeeded') AS tasks_succeeded,
         coalesce(sum(total_ms) FILTER (WHERE task_state IS NOT NULL), 0) AS total_sum_ms,
         count(*) FILTER (WHERE task_state IS NOT NULL AND deadline_at IS NOT NULL) AS deadline_tasks,
         count(*) FILTER (WHERE task_state IS NOT NULL AND deadline_at IS NOT NULL
                          AND (task_state <> 'succeeded' OR finished_at > deadline_at)) AS deadline_missed,
         count(cost) FILTER (WHERE att) AS cost_n,
         coalesce(sum(cost) FILTER (WHERE att), 0) AS cost_sum,
         count(*) FILTER (WHERE att AND (tokens_in IS NOT NULL OR tokens_out IS NOT NULL)) AS tokens_n,
         coalesce(sum(coalesce(tokens_in, 0) + coalesce(tokens_out, 0)) FILTER (WHERE att), 0) AS tokens_sum,
         count(*) FILTER (WHERE att AND validation = 'failed') AS validation_failed
    FROM r GROUP BY ${KEY}
), bins AS (
  SELECT ${KEY}, 'run' AS kind, performance.hist_bin(run_ms) AS bin, count(*) AS n
    FROM r WHERE att AND outcome = 'succeeded' AND run_ms IS NOT NULL GROUP BY ${KEY}, performance.hist_bin(run_ms)
  UNION ALL
  SELECT ${KEY}, 'queue', performance.hist_bin(queue_wait_ms), count(*)
    FROM r WHERE att AND queue_wait_ms IS NOT NULL GROUP BY ${KEY}, performance.hist_bin(queue_wait_ms)
  UNION ALL
  SELECT ${KEY}, 'total', performance.hist_bin(total_ms), count(*)
    FROM r WHERE task_state IS NOT NULL AND total_ms IS NOT NULL GROUP BY ${KEY}, performance.hist_bin(total_ms)
), hists AS (
  SELECT ${KEY},
         coalesce(jsonb_object_agg(bin, n) FILTER (WHERE kind = 'run'), '{}') AS run_hist,
         coalesce(jsonb_object_agg(bin, n) FILTER (WHERE kind = 'queue'), '{}') AS queue_hist,
         coalesce(jsonb_object_agg(bin, n) FILTER (WHERE kind = 'total'), '{}') AS total_hist
    FROM bins GROUP BY ${KEY}
), up AS (
  INSERT INTO performance.sample_rollups AS ru (${KEY}, ${ADDITIVE.join(', ')}, run_hist, queue_hist, total_hist)
  SELECT ${KEY.split(', ')
    .map((k) => `s.${k}`)
    .join(', ')}, ${ADDITIVE.map((c) => `s.${c}`).join(', ')},
         coalesce(h.run_hist, '{}'), coalesce(h.queue_hist, '{}'), coalesce(h.total_hist, '{}')
    FROM sums s LEFT JOIN hists h USING (${KEY})
   WHERE s.attempts > 0 OR s.tasks > 0
   ORDER BY ${KEY}
  ON CONFLICT (${KEY}) DO UPDATE SET
    ${ADDITIVE.map((c) => `${c} = ru.${c} + EXCLUDED.${c}`).join(',\n    ')},
    run_hist = performance.hist_merge(ru.run_hist, EXCLUDED.run_hist),
    queue_hist = performance.hist_merge(ru.queue_hist, EXCLUDED.queue_hist),
    total_hist = performance.hist_merge(ru.total_hist, EXCLUDED.total_hist)
  RETURNING 1
)
SELECT task_id::text AS task_id, attempt, inserted FROM ins`;

/** What a write changed, per input row (same order). */
export type RowEffect = 'inserted' | 'ended' | 'duplicate';

/** Writes a batch of samples and its rollup increments in one statement (see INGEST). */
export class SampleWriter {
  constructor(
    private readonly ds: DataSource,
    private readonly bucketMs: number,
  ) {}

  async write(rows: SampleRow[]): Promise<RowEffect[]> {
    const effects: RowEffect[] = new Array<RowEffect>(rows.length).fill('duplicate');
    if (rows.length === 0) return effects;
    // the same attempt twice in one statement would be an error: keep the last, with any task end
    const byKey = new Map<string, number>();
    const unique: SampleRow[] = [];
    const indexOf: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const key = r.task_id + r.attempt;
      const at = byKey.get(key);
      if (at === undefined) {
        byKey.set(key, unique.length);
        unique.push(r);
        indexOf.push(i);
      } else {
        const prev = unique[at]!;
        unique[at] = prev.task_state !== null && r.task_state === null ? { ...r, task_state: prev.task_state, total_ms: prev.total_ms } : r;
        indexOf[at] = i;
      }
    }
    const returned = await preparedQuery<{ task_id: string; attempt: number; inserted: boolean }>(
      this.ds,
      'performance_ingest_samples',
      INGEST,
      [this.bucketMs, ...SAMPLE_COLUMNS.map(([c]) => pgArray(unique.map((r) => r[c])))],
    );
    for (const r of returned) {
      const u = byKey.get(r.task_id + r.attempt);
      if (u !== undefined) effects[indexOf[u]!] = r.inserted ? 'inserted' : 'ended';
    }
    return effects;
  }
}
