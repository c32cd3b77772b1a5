/**
 * `/metrics` on every process: the five services and the demo swarm as real processes (built
 * `dist/`) in one namespace and database, one task run through them, then each `/metrics` is read
 * and checked against README.md's Metrics table (the documented list is the one tested; rows
 * marked "planned" are not checked). Build first: `npm run build`.
 */
import { type MeshBus } from '@swarm-mesh/messaging';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  eventually,
  randomNamespace,
  type RunningMesh,
  type ServiceProcess,
  startMesh,
  startServiceProcess,
  type TestDatabase,
} from '@swarm-mesh/testing';
import { ADMIN_KEY } from './support/e2e-mesh';
import { dashboardSeries, documentedSeries, type Exposition, type MetricsProcess, parseExposition } from './support/prometheus';

jest.setTimeout(180_000);

const CAPABILITY = 'infra.noop';
const PROCESSES: MetricsProcess[] = [
  'gateway',
  'coordinator',
  'resource-allocator',
  'conflict-resolver',
  'performance-optimizer',
  'demo-swarm',
];
const documented = documentedSeries();

const ns = randomNamespace('m');
let db: TestDatabase;
let bus: MeshBus;
let mesh: RunningMesh;
let demo: ServiceProcess;
let taskId: string;

function urlOf(p: MetricsProcess): string {
  if (p === 'demo-swarm') return demo.url;
  const s = mesh.services[p];
  if (!s) throw new Error(`${p} was not started`);
  return s.url;
}

async function scrape(p: MetricsProcess): Promise<Exposition> {
  const res = await fetch(`${urlOf(p)}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseExposition(await res.text());
}

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${mesh.gatewayUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  db = await createTestDatabase();
  bus = await connectTestBus({ namespace: ns, identity: 'client:metrics-e2e' });
  mesh = await startMesh({
    namespace: ns,
    databaseUrl: db.url,
    // default coordinator timings: a slow CI machine must not turn one attempt into two
    serviceEnv: { gateway: { SWARM_ADMIN_API_KEY: ADMIN_KEY } },
  });
  demo = await startServiceProcess('demo-swarm', {
    namespace: ns,
    databaseUrl: db.url,
    env: { DEMO_AGENTS_PER_CAPABILITY: '1', DEMO_CAPABILITIES: CAPABILITY, DEMO_LATENCY_MS: '5', DEMO_CONCURRENCY: '2' },
  });
  await eventually(async () => (await fetch(`${demo.url}/health`)).status === 200 || undefined, {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: 'demo agents registered',
  });
  // one task through the mesh, so counters and histograms have samples
  const created = await api<{ id: string }>('POST', '/tasks', { capability: CAPABILITY, input: { simulate: { latencyMs: 5 } } });
  expect(created.status).toBe(201);
  taskId = created.body.id;
  await eventually(async () => ((await api<{ state: string }>('GET', `/tasks/${taskId}`)).body.state === 'succeeded' ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 50,
    description: `task ${taskId} succeeded`,
  });
});

afterAll(async () => {
  await demo?.stop();
  await mesh?.stopAll();
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
  await db?.drop();
});

describe('README.md documents the metrics', () => {
  it('lists the series the issue asks for', () => {
    const names = documented.map((d) => d.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'swarm_queue_depth',
        'swarm_task_latency_seconds',
        'swarm_agents',
        'swarm_pool_utilization_ratio',
        'swarm_conflicts_total',
        'swarm_dead_letters_total',
        'swarm_nats_errors_total',
        'swarm_postgres_errors_total',
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThanOrEqual(30);
    for (const d of documented) expect(d.name).toMatch(/^(swarm|demo)_[a-z_]+\*?$/);
  });
});

describe('/metrics', () => {
  it.each(PROCESSES)('%s exposes every series documented for it', async (p) => {
    const expo = await scrape(p);
    const missing: string[] = [];
    for (const d of documented.filter((x) => x.exposedBy.includes(p) && !x.planned)) {
      if (d.name.endsWith('*')) {
        const prefix = d.name.slice(0, -1);
        if (![...expo.types.keys()].some((n) => n.startsWith(prefix))) missing.push(d.name);
        continue;
      }
      const type = expo.types.get(d.name);
      if (type !== d.type) missing.push(`${d.name} (${d.type}; exposed as ${type ?? 'nothing'})`);
    }
    expect(missing).toEqual([]);
    if (p !== 'demo-swarm') {
      // default labels on every sample, and the release it runs
      const info = expo.find('swarm_service_info', { service: p });
      expect(info).toHaveLength(1);
      expect(info[0]!.value).toBe(1);
      expect(info[0]!.labels).toMatchObject({ instance: expect.any(String), version: expect.any(String) });
      for (const s of expo.samples) expect(s.labels.service).toBe(p);
    }
  });

  it('coordinator: the task shows in the task, queue, agent and latency series', async () => {
    const expo = await scrape('coordinator');
    const one = (name: string, labels: Record<string, string> = {}): number => {
      const s = expo.find(name, labels);
      expect({ name, labels, found: s.length }).toEqual({ name, labels, found: 1 });
      return s[0]!.value;
    };
    expect(one('swarm_tasks_submitted_total')).toBeGreaterThanOrEqual(1);
    expect(one('swarm_tasks_dispatched_total')).toBeGreaterThanOrEqual(1);
    expect(one('swarm_tasks_completed_total', { capability: CAPABILITY, state: 'succeeded' })).toBeGreaterThanOrEqual(1);
    expect(one('swarm_task_latency_seconds_count', { capability: CAPABILITY })).toBeGreaterThanOrEqual(1);
    expect(one('swarm_task_latency_seconds_bucket', { capability: CAPABILITY, le: '+Inf' })).toBeGreaterThanOrEqual(1);
    for (const priority of ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])
      expect(one('swarm_queue_depth', { capability: CAPABILITY, priority })).toBe(0);
    const agents = expo.find('swarm_agents');
    expect(agents.reduce((n, s) => n + s.value, 0)).toBeGreaterThanOrEqual(1);
    for (const a of agents) expect(['healthy', 'degraded', 'unresponsive', 'dead', 'draining', 'quarantined']).toContain(a.labels.state);
    expect(one('swarm_nats_connected')).toBe(1);
  });

  it('gateway: API requests are counted and timed by route template, ops endpoints are not', async () => {
    await fetch(`${mesh.gatewayUrl}/health`);
    const expo = await scrape('gateway');
    const posted = expo.find('swarm_http_requests_total', { method: 'POST', route: '/api/v1/tasks', status: '201' });
    expect(posted).toHaveLength(1);
    expect(posted[0]!.value).toBeGreaterThanOrEqual(1);
    const reads = expo.find('swarm_http_requests_total', { method: 'GET', route: '/api/v1/tasks/:id', status: '200' });
    expect(reads[0]?.value).toBeGreaterThanOrEqual(1);
    expect(
      expo.find('swarm_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/tasks' })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    const routes = new Set(expo.find('swarm_http_requests_total').map((s) => s.labels.route));
    expect(routes.has('/metrics')).toBe(false);
    expect(routes.has('/health')).toBe(false);
    // the gateway asked the coordinator over NATS
    expect(expo.find('swarm_nats_requests_total').some((s) => s.labels.outcome === 'ok' && s.value >= 1)).toBe(true);
  });

  it('demo-swarm: the attempt is counted for its agent', async () => {
    const expo = await scrape('demo-swarm');
    const done = expo.find('demo_agent_attempts_total', { capability: CAPABILITY, outcome: 'succeeded' });
    expect(done.reduce((n, s) => n + s.value, 0)).toBeGreaterThanOrEqual(1);
    expect(expo.find('demo_agent_registered').every((s) => s.value === 1)).toBe(true);
  });

  it('every series the Grafana dashboard charts is exposed by some process, or documented as planned', async () => {
    const exposed = new Set<string>();
    for (const p of PROCESSES) for (const name of (await scrape(p)).types.keys()) exposed.add(name);
    const planned = new Set(documented.filter((d) => d.planned).map((d) => d.name));
    expect(dashboardSeries().filter((n) => !exposed.has(n) && !planned.has(n))).toEqual([]);
  });
});
