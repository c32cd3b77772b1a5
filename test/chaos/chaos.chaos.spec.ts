/**
 * Reliability suite (`npm run test:chaos`): during a run of CHAOS_TASKS tasks (default 10,000),
 * one fault at a time — kill -9 of the coordinator, of the resource allocator and of an agent
 * process, a nats-server restart, a Postgres restart. Each case: 0 tasks lost, 0 completed twice,
 * the run finishes, and the recovery time is printed. Everything runs on a private nats-server
 * and a private Postgres so the machine's shared servers are never touched.
 */
import { EventMessages, type MeshEventDto, STREAMS, TaskCommands } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import {
  connectTestBus,
  eventually,
  type PrivateNats,
  type PrivatePostgres,
  randomNamespace,
  type ServiceProcess,
  startPrivateNats,
  startPrivatePostgres,
  startServiceProcess,
} from '@swarm-mesh/testing';
import { AckPolicy, DeliverPolicy } from 'nats';
import { Client } from 'pg';

const TASKS = Number(process.env.CHAOS_TASKS ?? 10_000);
/** Fault injected once this share of the run has succeeded. */
const FAULT_AT = 0.3;

const COORDINATOR_ENV = {
  AGENT_HEARTBEAT_INTERVAL_MS: '200',
  AGENT_DEAD_AFTER_MS: '2000',
  DISPATCH_ACK_TIMEOUT_MS: '3000',
  RESULTS_ACK_WAIT_MS: '2000',
  SWEEP_INTERVAL_MS: '50',
  DEFAULT_BACKOFF_MS: '100,200,400',
};

describe(`reliability under faults (${TASKS} tasks per case)`, () => {
  let nats: PrivateNats;
  let pg: PrivatePostgres;
  let dbUrl: string;
  let sql: Client;
  let bus: MeshBus;
  const namespace = randomNamespace();
  const procs: Record<string, ServiceProcess> = {};
  const agents: ServiceProcess[] = [];

  const start = async (name: 'coordinator' | 'resource-allocator'): Promise<void> => {
    procs[name] = await startServiceProcess(name, {
      namespace,
      databaseUrl: dbUrl,
      natsUrl: nats.url,
      env: name === 'coordinator' ? COORDINATOR_ENV : {},
      readyTimeoutMs: 90_000,
    });
  };
  const startAgent = async (i: number): Promise<ServiceProcess> =>
    startServiceProcess('demo-swarm', {
      namespace,
      natsUrl: nats.url,
      env: {
        DEMO_CAPABILITIES: 'infra.noop',
        DEMO_AGENTS_PER_CAPABILITY: '1',
        DEMO_CONCURRENCY: '40',
        DEMO_AGENT_PREFIX: `chaos${i}`,
        DEMO_SWARM_PORT: '0',
      },
      readyTimeoutMs: 90_000,
    });

  beforeAll(async () => {
    nats = await startPrivateNats();
    pg = await startPrivatePostgres();
    dbUrl = await pg.createDatabase('chaos');
    bus = await connectTestBus({ namespace, identity: 'gateway', servers: nats.url });
    await start('coordinator');
    await start('resource-allocator');
    agents.push(await startAgent(1), await startAgent(2));
    sql = new Client({ connectionString: dbUrl });
    await sql.connect();
    sql.on('error', () => {});
  });

  afterAll(async () => {
    await sql?.end().catch(() => {});
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
    await Promise.all(Object.values(procs).map((p) => p.stop().catch(() => {})));
    await bus?.close().catch(() => {});
    await pg?.close();
    await nats?.close();
  });

  /** Counts with a fresh connection when the shared one broke (Postgres restart). */
  async function count(run: string, state: string): Promise<number> {
    try {
      const r = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM coordinator.tasks WHERE labels->>'run' = $1 AND state = $2`,
        [run, state],
      );
      return r.rows[0]!.n;
    } catch {
      await sql.end().catch(() => {});
      sql = new Client({ connectionString: dbUrl });
      sql.on('error', () => {});
      await sql.connect();
      return -1;
    }
  }

  async function succeededEvents(ids: Set<string>): Promise<Map<string, number>> {
    const jsm = await bus.jsm();
    const stream = bus.name(STREAMS.EVENTS);
    const total = (await jsm.streams.info(stream)).state.last_seq;
    const c = await jsm.consumers.add(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      filter_subject: bus.subject(EventMessages.tasks.subject),
      inactive_threshold: 60_000_000_000,
    });
    const consumer = await bus.js().consumers.get(stream, c.name);
    const counts = new Map<string, number>();
    let seen = 0;
    while (seen < total) {
      let got = 0;
      for await (const m of await consumer.fetch({ max_messages: 500, expires: 2000 })) {
        got++;
        seen = m.info.streamSequence;
        const body = JSON.parse(new TextDecoder().decode(m.data)) as { body: { events: MeshEventDto[] } };
        for (const e of body.body.events) {
          const id = String(e.data.taskId);
          if (e.type === 'task.succeeded' && ids.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
      if (got === 0) break;
    }
    await jsm.consumers.delete(stream, c.name).catch(() => {});
    return counts;
  }

  /** Submits the run, injects the fault at FAULT_AT, waits for the end, checks exactly-once. */
  async function runWithFault(run: string, fault: () => Promise<void>): Promise<void> {
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i += 1000) {
      const tasks = Array.from({ length: Math.min(1000, TASKS - i) }, (_, k) => ({
        capability: 'infra.noop',
        input: { n: i + k },
        labels: { run },
      }));
      const reply = await bus.request(TaskCommands.submit, { tenantId: 'default', tasks }, { timeoutMs: 60_000 });
      ids.push(...reply.tasks.map((t) => t.id));
    }
    await eventually(async () => (await count(run, 'succeeded')) >= TASKS * FAULT_AT, {
      timeoutMs: 120_000,
      intervalMs: 20,
      description: `${FAULT_AT * 100}% of ${run}`,
    });
    const before = await count(run, 'succeeded');
    const faultAt = Date.now();
    await fault();
    // recovery: the first moment completions move again after the fault
    await eventually(async () => (await count(run, 'succeeded')) > before, {
      timeoutMs: 120_000,
      intervalMs: 20,
      description: 'progress after the fault',
    });
    const recoveryMs = Date.now() - faultAt;
    await eventually(async () => (await count(run, 'succeeded')) === TASKS, {
      timeoutMs: 300_000,
      intervalMs: 200,
      description: `all of ${run} to succeed`,
    });
    const totalMs = Date.now() - faultAt;
    const idSet = new Set(ids);
    const events = await eventually(
      async () => {
        const c = await succeededEvents(idSet);
        return c.size === TASKS ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'a success event for every task' },
    );
    const twice = [...events.values()].filter((n) => n > 1).length;
    const notSucceeded = TASKS - (await count(run, 'succeeded'));
    const multiSuccess = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM coordinator.tasks t WHERE labels->>'run' = $1
         AND (SELECT count(*) FROM jsonb_array_elements(t.attempts) a WHERE a->>'outcome' = 'succeeded') <> 1`,
      [run],
    );
    process.stdout.write(
      `[chaos] ${run}: ${TASKS} tasks, lost ${notSucceeded}, completed twice ${twice + multiSuccess.rows[0]!.n}, ` +
        `recovery ${(recoveryMs / 1000).toFixed(2)} s, run finished ${(totalMs / 1000).toFixed(1)} s after the fault\n`,
    );
    expect(notSucceeded).toBe(0);
    expect(twice).toBe(0);
    expect(multiSuccess.rows[0]!.n).toBe(0);
  }

  it('kill -9 of the coordinator', async () => {
    await runWithFault('kill-coordinator', async () => {
      await procs.coordinator!.kill();
      await start('coordinator');
    });
  });

  it('kill -9 of the resource allocator', async () => {
    await runWithFault('kill-allocator', async () => {
      await procs['resource-allocator']!.kill();
      await start('resource-allocator');
    });
  });

  it('kill -9 of an agent process', async () => {
    await runWithFault('kill-agent', async () => {
      const victim = agents.shift()!;
      await victim.kill();
      agents.push(await startAgent(3));
    });
  });

  it('nats-server restart', async () => {
    await runWithFault('restart-nats', async () => {
      await nats.restart();
    });
  });

  it('Postgres restart', async () => {
    await runWithFault('restart-postgres', async () => {
      await pg.restart();
    });
  });
});
