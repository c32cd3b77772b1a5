/**
 * Two replicas of every service (the local runner's `--replicas 2`): requests go through both
 * gateways; the singleton services (coordinator, allocator, resolver) run one active replica and
 * one standby each. No task is dispatched twice, every resource lease is recorded and released,
 * and when the active coordinator is killed with -9 the standby takes over without losing or
 * repeating anything. Build first: `npm run build`.
 */
import { EventMessages, KV_BUCKETS, type MeshEventDto, SERVICE_NAMES, STREAMS } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  eventually,
  randomNamespace,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
} from '@swarm-mesh/testing';
import { AckPolicy, DeliverPolicy } from 'nats';
import { Client } from 'pg';

const ADMIN_KEY = 'sm_replicas_admin_key_for_the_e2e_test_0123456789';
const CAPABILITY = 'infra.noop';
const N = 1500;

const ns = randomNamespace('r');
let db: TestDatabase;
let bus: MeshBus;
let sql: Client;
const procs = new Map<string, ServiceProcess>();
let gateways: ServiceProcess[] = [];

async function api<T>(gw: ServiceProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gw.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Submits `n` tasks in batches, alternating between the two gateways (retrying a 503 during a failover). */
async function submitThroughBoth(n: number, label: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 250) {
    const gw = gateways[(i / 250) % 2]!;
    const tasks = Array.from({ length: Math.min(250, n - i) }, (_, k) => ({
      capability: CAPABILITY,
      input: { n: i + k },
      labels: { run: label },
    }));
    const r = await eventually(
      async () => {
        const res = await api<{ tasks: Array<{ id: string }> }>(gw, 'POST', '/tasks/batch', { tasks });
        return res.status === 201 ? res : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: 'a batch accepted' },
    );
    ids.push(...r.body.tasks.map((t) => t.id));
  }
  return ids;
}

async function count(label: string, state: string): Promise<number> {
  const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM coordinator.tasks WHERE labels->>'run' = $1 AND state = $2`, [
    label,
    state,
  ]);
  return r.rows[0]!.n;
}

async function taskEvents(): Promise<MeshEventDto[]> {
  const jsm = await bus.jsm();
  const stream = bus.name(STREAMS.EVENTS);
  const last = (await jsm.streams.info(stream)).state.last_seq;
  const c = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: bus.subject(EventMessages.tasks.subject),
    inactive_threshold: 60_000_000_000,
  });
  const consumer = await bus.js().consumers.get(stream, c.name);
  const out: MeshEventDto[] = [];
  let seen = 0;
  while (seen < last) {
    let got = 0;
    for await (const m of await consumer.fetch({ max_messages: 500, expires: 2000 })) {
      got++;
      seen = m.info.streamSequence;
      out.push(...bus.decodeMessage(EventMessages.tasks, m).body.events);
    }
    if (got === 0) break;
  }
  await jsm.consumers.delete(stream, c.name).catch(() => {});
  return out;
}

/** The instance holding a singleton service's lease. */
async function activeInstance(service: string): Promise<string | undefined> {
  const kv = await bus.js().views.kv(bus.name(KV_BUCKETS.LEASES));
  const e = await kv.get(service);
  return e && e.operation === 'PUT' ? (JSON.parse(e.string()) as { instanceId: string }).instanceId : undefined;
}

beforeAll(async () => {
  db = await createTestDatabase();
  bus = await connectTestBus({ namespace: ns, identity: 'client:replicas-e2e' });
  const env = { SWARM_ADMIN_API_KEY: ADMIN_KEY, AGENT_DEAD_AFTER_MS: '3000', RESULTS_ACK_WAIT_MS: '2000' };
  // both replicas of a service start together; the singletons race for their lease
  await Promise.all(
    SERVICE_NAMES.flatMap((service) =>
      ['a', 'b'].map(async (r) => {
        const p = await startServiceProcess(service, {
          namespace: ns,
          databaseUrl: db.url,
          env: { ...env, SWARM_INSTANCE_ID: `${service}-${r}` },
          readyTimeoutMs: 90_000,
        });
        procs.set(`${service}-${r}`, p);
      }),
    ),
  );
  gateways = [procs.get('gateway-a')!, procs.get('gateway-b')!];
  procs.set(
    'demo',
    await startServiceProcess('demo-swarm', {
      namespace: ns,
      env: { DEMO_CAPABILITIES: CAPABILITY, DEMO_AGENTS_PER_CAPABILITY: '2', DEMO_CONCURRENCY: '25' },
      readyTimeoutMs: 90_000,
    }),
  );
  sql = new Client({ connectionString: db.url });
  await sql.connect();
  // the capability runs on a pool: every attempt holds an allocator lease
  const pool = await api<{ id: string }>(gateways[0]!, 'POST', '/resources/pools', {
    name: 'replicas-pool',
    provider: 'sim',
    model: 'sim-1',
    capabilities: [CAPABILITY],
    limits: { concurrency: 40 },
  });
  expect(pool.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await sql?.end().catch(() => {});
  await Promise.all([...procs.values()].map((p) => p.stop().catch(() => {})));
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
  await db?.drop();
});

describe('two replicas of every service', () => {
  it('one active replica per singleton service, both gateways serving', async () => {
    for (const service of ['coordinator', 'resource-allocator', 'conflict-resolver']) {
      const active = await eventually(() => activeInstance(service), { description: `${service} lease held` });
      expect([`${service}-a`, `${service}-b`]).toContain(active);
    }
    for (const gw of gateways) expect((await api<{ status: string }>(gw, 'GET', '/health')).status).toBe(200);
  });

  it('dispatches no task twice and records and releases every resource lease', async () => {
    const ids = await submitThroughBoth(N, 'steady');
    await eventually(async () => (await count('steady', 'succeeded')) === N, {
      timeoutMs: 120_000,
      intervalMs: 200,
      description: 'all succeeded',
    });
    const idSet = new Set(ids);
    const events = await eventually(
      async () => {
        const ev = (await taskEvents()).filter((e) => idSet.has(String(e.data.taskId)));
        return ev.filter((e) => e.type === 'task.succeeded').length >= N ? ev : undefined;
      },
      { timeoutMs: 30_000, description: 'the events of every task' },
    );
    const per = (type: string): Map<string, number> => {
      const m = new Map<string, number>();
      for (const e of events) if (e.type === type) m.set(String(e.data.taskId), (m.get(String(e.data.taskId)) ?? 0) + 1);
      return m;
    };
    const dispatched = per('task.dispatched');
    const succeeded = per('task.succeeded');
    expect(dispatched.size).toBe(N);
    expect([...dispatched.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...succeeded.values()].filter((n) => n !== 1)).toEqual([]);
    // leases: one per attempt, every one released (none lost, none left behind)
    const leases = await eventually(
      async () => {
        const r = await sql.query<{ total: number; live: number }>(
          `SELECT count(*)::int AS total, count(*) FILTER (WHERE released_at IS NULL)::int AS live FROM resources.leases WHERE task_id = ANY($1::uuid[])`,
          [ids],
        );
        const row = r.rows[0]!;
        return row.total === N && row.live === 0 ? row : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'every lease recorded and released' },
    );
    expect(leases).toEqual({ total: N, live: 0 });
  });

  it('when the active coordinator is killed, the standby takes over: nothing lost, nothing completed twice', async () => {
    const ids = await submitThroughBoth(N, 'failover');
    await eventually(async () => (await count('failover', 'succeeded')) >= N / 4, {
      timeoutMs: 60_000,
      intervalMs: 50,
      description: 'run under way',
    });
    const active = (await activeInstance('coordinator'))!;
    const standby = active === 'coordinator-a' ? 'coordinator-b' : 'coordinator-a';
    await procs.get(active)!.kill();
    await eventually(async () => (await activeInstance('coordinator')) === standby, {
      timeoutMs: 30_000,
      description: 'the standby holds the lease',
    });
    await eventually(async () => (await count('failover', 'succeeded')) === N, {
      timeoutMs: 120_000,
      intervalMs: 200,
      description: 'all succeeded',
    });
    const r = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM coordinator.tasks t WHERE id = ANY($1::uuid[])
         AND (SELECT count(*) FROM jsonb_array_elements(t.attempts) a WHERE a->>'outcome' = 'succeeded') <> 1`,
      [ids],
    );
    expect(r.rows[0]!.n).toBe(0);
    const idSet = new Set(ids);
    const succeeded = new Map<string, number>();
    await eventually(
      async () => {
        succeeded.clear();
        for (const e of await taskEvents())
          if (e.type === 'task.succeeded' && idSet.has(String(e.data.taskId)))
            succeeded.set(String(e.data.taskId), (succeeded.get(String(e.data.taskId)) ?? 0) + 1);
        return succeeded.size === N;
      },
      { timeoutMs: 30_000, description: 'a success event per task' },
    );
    expect([...succeeded.values()].filter((n) => n !== 1)).toEqual([]);
  });
});
