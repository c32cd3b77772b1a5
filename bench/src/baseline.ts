/**
 * The raw baseline, no services: what the machine's NATS and Postgres do for a minimal durable
 * pipeline with the same batching tricks the mesh is meant to use.
 *
 *  (a) JetStream: N messages published to a temporary file-backed stream with `Nats-Msg-Id` and
 *      up to 2000 publish acks in flight, consumed at the same time by a durable pull consumer
 *      that acks each message → msgs/s = N / (last ack processed − first publish).
 *  (b) Postgres: N rows inserted in batches of 500 (one `INSERT … SELECT FROM unnest(…)`
 *      statement and transaction each) into a logged table with a uuid primary key, then each
 *      row updated once the same way → rows/s = N / (insert time + update time).
 *
 * baseline_tasks_per_s = 1 / (1/js_rate + 1/pg_rate): one publish+consume+ack and one
 * insert+update per task, done back to back.
 */
import type { MeshBus } from '@swarm-mesh/messaging';
import { AckPolicy, DeliverPolicy, nanos, RetentionPolicy, StorageType } from 'nats';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

export interface BaselineResult {
  messages: number;
  jsPublishPerS: number;
  jsPipelinePerS: number;
  jsSeconds: number;
  pgRows: number;
  pgInsertPerS: number;
  pgUpdatePerS: number;
  pgRowsPerS: number;
  pgSeconds: number;
  baselineTasksPerS: number;
}

export const BASELINE_FORMULA = 'baseline_tasks_per_s = 1 / (1/js_publish_consume_ack_per_s + 1/pg_insert_update_rows_per_s)';

const JS_IN_FLIGHT = 2000;
const PG_BATCH = 500;

/** A payload the size of a dispatch envelope (~350 bytes). */
function payload(i: number): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      id: randomUUID(),
      type: 'task.dispatch',
      from: 'coordinator',
      ts: new Date().toISOString(),
      body: { taskId: randomUUID(), attempt: 1, epoch: 1, capability: 'infra.noop', input: {}, seq: i, priority: 'MEDIUM' },
    }),
  );
}

export async function jetStreamBaseline(bus: MeshBus, n: number): Promise<{ publishPerS: number; pipelinePerS: number; seconds: number }> {
  const jsm = await bus.jsm();
  const js = bus.js();
  const stream = bus.name('BENCH_BASELINE');
  const subject = bus.subject('bench.baseline.work');
  await jsm.streams.add({
    name: stream,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
    num_replicas: 1,
  });
  try {
    await jsm.consumers.add(stream, {
      durable_name: 'bench',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 10_000,
      ack_wait: nanos(30_000),
    });
    const consumer = await js.consumers.get(stream, 'bench');
    const run = randomUUID().slice(0, 8);
    const payloads = Array.from({ length: Math.min(n, 1000) }, (_, i) => payload(i));

    let consumed = 0;
    let resolveConsumed!: () => void;
    const allConsumed = new Promise<void>((r) => (resolveConsumed = r));
    const messages = await consumer.consume({
      max_messages: 1000,
      callback: (m) => {
        m.ack();
        if (++consumed === n) resolveConsumed();
      },
    });

    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let inflight = 0;
      let acked = 0;
      const pump = (): void => {
        while (inflight < JS_IN_FLIGHT && next < n) {
          const i = next++;
          inflight++;
          js.publish(subject, payloads[i % payloads.length], { msgID: `${run}-${i}` }).then(() => {
            inflight--;
            if (++acked === n) resolve();
            else pump();
          }, reject);
        }
      };
      pump();
    });
    const tPublished = performance.now();
    await allConsumed;
    await bus.nc.flush(); // every ack sent before this ping has been processed by the server
    const tDone = performance.now();
    await messages.close();
    return { publishPerS: n / ((tPublished - t0) / 1000), pipelinePerS: n / ((tDone - t0) / 1000), seconds: (tDone - t0) / 1000 };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
  }
}

export async function postgresBaseline(
  databaseUrl: string,
  n: number,
): Promise<{ insertPerS: number; updatePerS: number; rowsPerS: number; seconds: number }> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  const table = `bench_baseline_${randomUUID().slice(0, 8)}`;
  try {
    await pg.query(
      `CREATE TABLE ${table} (id uuid PRIMARY KEY, tenant_id text NOT NULL, capability text NOT NULL, state text NOT NULL,
        input jsonb NOT NULL, result jsonb, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`,
    );
    const ids = Array.from({ length: n }, () => randomUUID());
    const input = JSON.stringify({ seq: 0, note: 'bench' });
    const t0 = performance.now();
    for (let i = 0; i < n; i += PG_BATCH) {
      const chunk = ids.slice(i, i + PG_BATCH);
      await pg.query(
        `INSERT INTO ${table} (id, tenant_id, capability, state, input, created_at, updated_at)
         SELECT u.id, 'default', 'infra.noop', 'queued', u.input, now(), now() FROM unnest($1::uuid[], $2::jsonb[]) AS u(id, input)`,
        [chunk, chunk.map(() => input)],
      );
    }
    const t1 = performance.now();
    const result = JSON.stringify({ ok: true });
    for (let i = 0; i < n; i += PG_BATCH) {
      const chunk = ids.slice(i, i + PG_BATCH);
      await pg.query(
        `UPDATE ${table} AS t SET state = 'succeeded', result = u.result, updated_at = now()
         FROM unnest($1::uuid[], $2::jsonb[]) AS u(id, result) WHERE t.id = u.id`,
        [chunk, chunk.map(() => result)],
      );
    }
    const t2 = performance.now();
    return {
      insertPerS: n / ((t1 - t0) / 1000),
      updatePerS: n / ((t2 - t1) / 1000),
      rowsPerS: n / ((t2 - t0) / 1000),
      seconds: (t2 - t0) / 1000,
    };
  } finally {
    await pg.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pg.end().catch(() => undefined);
  }
}

export async function runBaseline(bus: MeshBus, databaseUrl: string, n: number): Promise<BaselineResult> {
  const js = await jetStreamBaseline(bus, n);
  const pg = await postgresBaseline(databaseUrl, n);
  return {
    messages: n,
    jsPublishPerS: js.publishPerS,
    jsPipelinePerS: js.pipelinePerS,
    jsSeconds: js.seconds,
    pgRows: n,
    pgInsertPerS: pg.insertPerS,
    pgUpdatePerS: pg.updatePerS,
    pgRowsPerS: pg.rowsPerS,
    pgSeconds: pg.seconds,
    baselineTasksPerS: 1 / (1 / js.pipelinePerS + 1 / pg.rowsPerS),
  };
}
