/**
 * Mesh security: services and agents connect to NATS with their own users (scripts/nats-auth.mjs);
 * an agent may only publish and subscribe on its own subjects. Runs a private nats-server with the
 * generated config, a real coordinator (service user) and SDK agents (agent users), and proves
 * that an agent's task still runs end to end while NATS denies it another service's command
 * subject and another agent's subjects. Build first: `npx tsc -b tsconfig.build.json`.
 */
import { Agent, createLogger } from '@swarm-mesh/agent-sdk';
import { TaskCommands } from '@swarm-mesh/contracts';
import { connectMesh, MeshBus } from '@swarm-mesh/messaging';
import {
  createTestDatabase,
  eventually,
  type PrivateNats,
  randomNamespace,
  type ServiceProcess,
  startPrivateNats,
  startServiceProcess,
  type TestDatabase,
} from '@swarm-mesh/testing';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { connect, type NatsConnection, type NatsError } from 'nats';
import { FAST_COORDINATOR_ENV } from './support/e2e-mesh';

interface GeneratedUser {
  user: string;
  password: string;
  kind: 'service' | 'agent';
  agentIds: string[];
}

const ns = randomNamespace('np');
const PROBE = 'permission-probe';
let nats: PrivateNats;
let db: TestDatabase;
let users: Map<string, GeneratedUser>;
let coordinator: ServiceProcess | undefined;
let serviceBus: MeshBus;
const agents: Agent[] = [];
const conns: NatsConnection[] = [];

function creds(user: string): { user: string; pass: string } {
  const u = users.get(user);
  if (!u) throw new Error(`no generated user ${user}`);
  return { user: u.user, pass: u.password };
}

async function rawConnection(user: string): Promise<{ nc: NatsConnection; errors: string[] }> {
  const nc = await connect({ servers: nats.url, ...creds(user), name: `test:${user}` });
  conns.push(nc);
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type !== 'error') continue;
      const e = s.data as NatsError | string | undefined;
      errors.push(typeof e === 'object' && e !== null ? `${e.code}: ${e.message}` : String(e));
    }
  })();
  return { nc, errors };
}

beforeAll(async () => {
  const out = execFileSync(
    process.execPath,
    [
      join(__dirname, '..', '..', 'scripts', 'nats-auth.mjs'),
      '--namespace',
      ns,
      '--agent',
      'np-agent-1',
      '--agent',
      'np-agent-2',
      '--service-user',
      'test-client',
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const generated = JSON.parse(out) as { config: string; users: GeneratedUser[] };
  users = new Map(generated.users.map((u) => [u.user, u]));
  nats = await startPrivateNats({ config: generated.config });
  db = await createTestDatabase();
  coordinator = await startServiceProcess('coordinator', {
    namespace: ns,
    databaseUrl: db.url,
    natsUrl: nats.url,
    env: { ...FAST_COORDINATOR_ENV, NATS_USER: 'coordinator', NATS_PASSWORD: creds('coordinator').pass },
  });
  const nc = await connectMesh({ servers: nats.url, ...creds('test-client') });
  serviceBus = new MeshBus({ nc, identity: 'client:test', namespace: ns });
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await coordinator?.stop().catch(() => {});
  await serviceBus?.close().catch(() => {});
  await Promise.all(conns.map((c) => c.close().catch(() => {})));
  await nats?.close();
  await db?.drop();
});

describe('NATS users and permissions from scripts/nats-auth.mjs', () => {
  it('refuses connections without valid credentials', async () => {
    await expect(connect({ servers: nats.url, user: 'np-agent-1', pass: 'wrong', reconnect: false })).rejects.toThrow(/Authorization/i);
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization/i);
  });

  it('an agent with its own credentials registers, pulls its dispatches, acks and reports results', async () => {
    const agent = new Agent({
      id: 'np-agent-1',
      domain: 'data',
      capabilities: ['np.echo'],
      namespace: ns,
      natsUrl: nats.url,
      nats: creds('agent-np-agent-1'),
      shutdownGraceMs: 1000,
      logger: createLogger({ service: 'agent:np-agent-1', level: 'error' }),
    });
    agent.handle('np.echo', (ctx) => ({ echoed: ctx.input }));
    await agent.start();
    agents.push(agent);
    const task = await serviceBus.request(TaskCommands.create, { tenantId: 'default', task: { capability: 'np.echo', input: { n: 1 } } });
    await eventually(
      async () => {
        const t = await serviceBus.request(TaskCommands.get, { tenantId: 'default', taskId: task.id });
        return t.state === 'succeeded' ? t : undefined;
      },
      { timeoutMs: 20_000, description: 'task succeeded through a permission-confined agent' },
    );
  });

  it("denies an agent publishing on a service's command subject and on another agent's subjects; allows its own", async () => {
    const observer = await rawConnection('test-client');
    // only this test's probes count (the SDK agent of the previous test keeps heart-beating)
    const seen: string[] = [];
    const probe = (_e: unknown, m: { subject: string; data: Uint8Array }): void => {
      if (new TextDecoder().decode(m.data) === PROBE) seen.push(m.subject);
    };
    observer.nc.subscribe(`${ns}.swarm.cmd.>`, { callback: probe });
    observer.nc.subscribe(`${ns}.swarm.agent.>`, { callback: probe });
    await observer.nc.flush();

    const agent = await rawConnection('agent-np-agent-2');
    const denied = [
      `${ns}.swarm.cmd.coordinator.tasks.create`,
      `${ns}.swarm.cmd.coordinator.agents.control`,
      `${ns}.swarm.agent.np-agent-1.results`,
      `${ns}.swarm.agent.np-agent-1.heartbeat`,
      `${ns}.swarm.agent.np-agent-2.inbox.dispatch`,
    ];
    for (const s of denied) agent.nc.publish(s, new TextEncoder().encode(PROBE));
    // published after the denied ones on the same connection: once it arrives, the others would have
    const allowed = `${ns}.swarm.agent.np-agent-2.heartbeat`;
    agent.nc.publish(allowed, new TextEncoder().encode(PROBE));
    await agent.nc.flush();
    await eventually(() => seen.includes(allowed), { description: 'the allowed publish arrives' });
    await observer.nc.flush();
    expect(seen.filter((s) => denied.includes(s))).toEqual([]);
    // nats.js reports each refusal as a PERMISSIONS_VIOLATION status (the server's -ERR)
    await eventually(() => agent.errors.length >= denied.length, {
      description: `NATS reported a permissions violation for each denied publish (got ${JSON.stringify(agent.errors)})`,
    });
    expect(agent.errors.every((e) => /permissions.violation/i.test(e))).toBe(true);

    // requests to a service are refused too (the coordinator never sees them)
    const before = seen.length;
    await expect(
      agent.nc.request(`${ns}.swarm.cmd.coordinator.tasks.list`, new TextEncoder().encode(PROBE), { timeout: 1000 }),
    ).rejects.toThrow();
    expect(seen.slice(before).filter((s) => s.includes('.cmd.'))).toEqual([]);
  });

  it("denies subscribing to another agent's inbox or to service commands; allows its own inbox", async () => {
    const agent = await rawConnection('agent-np-agent-2');
    const subErrors: string[] = [];
    for (const s of [`${ns}.swarm.agent.np-agent-1.inbox.>`, `${ns}.swarm.cmd.>`]) {
      agent.nc.subscribe(s, { callback: (err) => err && subErrors.push(`${s}: ${err.message}`) });
    }
    const own = agent.nc.subscribe(`${ns}.swarm.agent.np-agent-2.inbox.>`);
    const got: string[] = [];
    void (async () => {
      for await (const m of own) got.push(m.subject);
    })();
    await agent.nc.flush();
    const svc = await rawConnection('test-client');
    svc.nc.publish(`${ns}.swarm.agent.np-agent-2.inbox.control`, new TextEncoder().encode('{}'));
    await svc.nc.flush();
    await eventually(() => got.length === 1, { description: 'own inbox receives' });
    await eventually(() => subErrors.length === 2 || agent.errors.filter((e) => /subscription/i.test(e)).length >= 2, {
      description: `subscription violations reported (sub errors ${JSON.stringify(subErrors)}, status ${JSON.stringify(agent.errors)})`,
    });
  });
});
