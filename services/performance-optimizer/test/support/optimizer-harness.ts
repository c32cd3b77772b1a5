import { randomUUID } from 'node:crypto';
import {
  type AnalyzeReply,
  EVENTS_WILDCARD,
  EventMessages,
  type MeshEventDto,
  PerformanceCommands,
  STREAMS,
  TUNING_KV,
} from '@swarm-mesh/contracts';
import { ensureStream, FlagStore, type MeshBus } from '@swarm-mesh/messaging';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  randomNamespace,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
} from '@swarm-mesh/testing';
import { Client } from 'pg';

/** Optimizer settings shrunk for tests: 1 s rollups, analysis only on demand. */
export const FAST_OPTIMIZER_ENV: Record<string, string> = {
  OPTIMIZER_ROLLUP_BUCKET_MS: '1000',
  OPTIMIZER_ANALYZE_INTERVAL_MS: '0',
  OPTIMIZER_INGEST_ACK_WAIT_MS: '2000',
  OPTIMIZER_TIMEOUT_MIN_SAMPLES: '50',
  OPTIMIZER_TIMEOUT_FLOOR_MS: '10',
  OPTIMIZER_ROUTING_MIN_SAMPLES: '10',
};

/**
 * An optimizer process (built dist/) in a fresh namespace and database, the EVENTS stream it
 * consumes (created here as the coordinator would), a test bus to publish task events and call
 * its commands, and a Postgres client on its database.
 */
export class OptimizerHarness {
  optimizer!: ServiceProcess;
  bus!: MeshBus;
  pg!: Client;
  flags!: FlagStore;
  private db!: TestDatabase;

  private constructor(readonly namespace: string) {}

  static async start(env: Record<string, string> = {}, otlpEndpoint?: string): Promise<OptimizerHarness> {
    const h = new OptimizerHarness(randomNamespace('p'));
    h.db = await createTestDatabase();
    h.bus = await connectTestBus({ namespace: h.namespace, identity: 'coordinator' });
    await ensureStream(h.bus, { name: STREAMS.EVENTS, subjects: [EVENTS_WILDCARD], retention: 'limits', maxAgeMs: 3_600_000 });
    h.flags = await FlagStore.open(h.bus);
    h.optimizer = await startServiceProcess('performance-optimizer', {
      namespace: h.namespace,
      databaseUrl: h.db.url,
      ...(otlpEndpoint ? { otlpEndpoint } : {}),
      env: { ...FAST_OPTIMIZER_ENV, ...env },
    });
    h.pg = new Client({ connectionString: h.db.url });
    await h.pg.connect();
    return h;
  }

  /** Publishes task events as the coordinator's outbox does (one batch, a fresh msg id). */
  async publish(events: MeshEventDto[]): Promise<void> {
    for (let i = 0; i < events.length; i += 2000) {
      await this.bus.publishDurable(
        EventMessages.tasks,
        { source: 'coordinator', events: events.slice(i, i + 2000) },
        { msgId: randomUUID() },
      );
    }
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const r = await this.pg.query<{ n: string }>(sql, params);
    return Number(r.rows[0]?.n ?? 0);
  }

  analyze(tenantId = 'default'): Promise<AnalyzeReply> {
    return this.bus.request(PerformanceCommands.analyze, { tenantId });
  }

  /** The JSON value of a tuning KV key, or null. */
  async kv(bucket: (typeof TUNING_KV)[keyof typeof TUNING_KV], key: string): Promise<Record<string, unknown> | null> {
    const kv = await this.bus.js().views.kv(this.bus.name(bucket));
    const e = await kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    return JSON.parse(new TextDecoder().decode(e.value)) as Record<string, unknown>;
  }

  async stop(): Promise<void> {
    await this.optimizer?.stop().catch(() => {});
    this.flags?.stop();
    await this.pg?.end().catch(() => {});
    if (this.bus) {
      await cleanupNamespace(this.bus).catch(() => {});
      await this.bus.close().catch(() => {});
    }
    await this.db?.drop().catch(() => {});
  }
}

/** Builds task events like the coordinator's. */
export function taskEvent(
  type: string,
  at: number,
  data: Record<string, unknown> & { taskId?: string; capability?: string },
  tenantId = 'default',
): MeshEventDto {
  return {
    type,
    ts: new Date(at).toISOString(),
    tenantId,
    data: { taskId: randomUUID(), capability: 'data.fetch', state: type.split('.')[1], attempt: 1, agentId: null, priority: 1, ...data },
  };
}

/** A successful attempt on `pool` that ran `runMs`, finished at `at`. */
export function succeeded(at: number, runMs: number, extra: Record<string, unknown> = {}): MeshEventDto {
  const pool = (extra.pool as string | undefined) ?? 'p-a';
  return taskEvent('task.succeeded', at, {
    agentId: `${pool}-agent`,
    queueWaitMs: 5,
    runMs: Math.round(runMs),
    totalMs: Math.round(runMs) + 5,
    usage: { provider: pool, model: 'sim-1', tokensIn: 100, tokensOut: 50, costUsd: 0.0001 },
    pool: null,
    ...extra,
  });
}
