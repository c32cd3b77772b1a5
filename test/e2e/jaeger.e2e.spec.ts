/**
 * Traces end to end in a real Jaeger v2 (the pinned binary, in-memory storage): the five services
 * and the demo swarm as real processes export OTLP/HTTP to it, tasks go in through the REST API,
 * and Jaeger's query API (what its UI reads) must show one trace per task, named by the task's
 * `traceId`, spanning every service that takes part in the task today.
 *
 * Which services must appear is the list TASK_TRACE_SERVICES: all five services and the agent.
 * A workflow's tasks are checked the same way. Build first: `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeshBus } from '@swarm-mesh/messaging';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  eventually,
  randomNamespace,
  REPO_ROOT,
  type RunningMesh,
  type ServiceProcess,
  startMesh,
  startServiceProcess,
  type TestDatabase,
} from '@swarm-mesh/testing';
import { parseManifests } from '../deploy/support/k8s';
import { toolPath } from '../deploy/support/tools';
import { ADMIN_KEY } from './support/e2e-mesh';
import { type Jaeger, type JaegerSpan, type JaegerTrace, parentOf, serviceOf, startJaeger, tagOf } from './support/jaeger';

jest.setTimeout(20 * 60_000); // the first run on a machine builds Jaeger (several minutes)

/**
 * Services whose spans a task's trace must hold (or link to), by their OTel service.name: the
 * allocator through the link from the coordinator's `admit` span to the grant that admitted the
 * task (tasks here run on a pool), the optimizer through its `performance.sample` span under the
 * task's trace when it ingests the task's result.
 */
const TASK_TRACE_SERVICES = ['gateway', 'coordinator', 'resource-allocator', 'demo-swarm', 'performance-optimizer'] as const;

const CAPABILITY = 'data.fetch';
const OTLP_SERVER = 'server';
const OTLP_CLIENT = 'client';

const ns = randomNamespace('j');
let db: TestDatabase;
let bus: MeshBus;
let jaeger: Jaeger;
let mesh: RunningMesh;
let demo: ServiceProcess;

interface CreatedTask {
  id: string;
  state: string;
  traceId: string;
}

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${mesh.gatewayUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

async function waitSucceeded(id: string): Promise<CreatedTask> {
  return eventually(
    async () => {
      const r = await api<CreatedTask>('GET', `/tasks/${id}`);
      return r.body.state === 'succeeded' ? r.body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, description: `task ${id} succeeded` },
  );
}

const spansOf = (t: JaegerTrace, service: string): JaegerSpan[] => t.spans.filter((s) => serviceOf(t, s) === service);
const kindOf = (s: JaegerSpan): unknown => tagOf(s, 'span.kind');

/**
 * Does `service` take part in the trace? Any of:
 * - a span of its own in the trace (a child of a span there: per-task work);
 * - a span of the trace links to a span of another trace that `service` takes part in (e.g. the
 *   coordinator's dispatch span links to the grant request that admitted the task, whose trace
 *   holds the allocator's span);
 * - a span of `service` in another trace links to a span of this trace (e.g. a batch span of the
 *   optimizer with one link per ingested event).
 * Links are OTLP span links; Jaeger shows them as FOLLOWS_FROM references.
 */
async function participates(t: JaegerTrace, service: string): Promise<boolean> {
  if (spansOf(t, service).length > 0) return true;
  for (const s of t.spans) {
    for (const ref of s.references.filter((r) => r.refType === 'FOLLOWS_FROM' && r.traceID !== t.traceID)) {
      const linked = await jaeger.trace(ref.traceID);
      if (linked?.spans.some((x) => x.spanID === ref.spanID) && spansOf(linked, service).length > 0) return true;
    }
  }
  const ids = new Set(t.spans.map((s) => s.spanID));
  for (const other of await jaeger.search(service, {}, 1000)) {
    for (const s of other.spans) {
      if (serviceOf(other, s) !== service) continue;
      if (s.references.some((r) => r.refType === 'FOLLOWS_FROM' && r.traceID === t.traceID && ids.has(r.spanID))) return true;
    }
  }
  return false;
}

/** Waits until Jaeger holds the task's trace with everything the task must have produced. */
async function completeTrace(traceId: string, taskId: string): Promise<JaegerTrace> {
  let last: JaegerTrace | undefined;
  return eventually(
    async () => {
      last = await jaeger.trace(traceId);
      if (!last) return undefined;
      const t = last;
      const has = (service: string, name: string): boolean =>
        t.spans.some((s) => serviceOf(t, s) === service && s.operationName === name && tagOf(s, 'swarm.task.id') === taskId);
      for (const svc of TASK_TRACE_SERVICES) if (!(await participates(t, svc))) return undefined;
      return has('demo-swarm', `run ${CAPABILITY}`) && has('coordinator', `complete ${CAPABILITY}`) ? t : undefined;
    },
    {
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `Jaeger trace ${traceId} of task ${taskId} with ${TASK_TRACE_SERVICES.join(', ')} (last seen: ${
        last ? [...new Set(last.spans.map((s) => `${serviceOf(last!, s)}:${s.operationName}`))].join(', ') : 'nothing'
      })`,
    },
  );
}

beforeAll(async () => {
  jaeger = await startJaeger();
  db = await createTestDatabase();
  bus = await connectTestBus({ namespace: ns, identity: 'client:jaeger-e2e' });
  mesh = await startMesh({
    namespace: ns,
    databaseUrl: db.url,
    otlpEndpoint: jaeger.otlpUrl,
    // default coordinator timings: a slow CI machine must not turn one attempt into two
    serviceEnv: { gateway: { SWARM_ADMIN_API_KEY: ADMIN_KEY } },
  });
  demo = await startServiceProcess('demo-swarm', {
    namespace: ns,
    databaseUrl: db.url,
    otlpEndpoint: jaeger.otlpUrl,
    env: { DEMO_AGENTS_PER_CAPABILITY: '1', DEMO_CAPABILITIES: CAPABILITY, DEMO_LATENCY_MS: '10', DEMO_CONCURRENCY: '4' },
  });
  await eventually(async () => (await fetch(`${demo.url}/health`)).status === 200 || undefined, {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: 'demo agents registered',
  });
  // the capability runs on a pool, so every task is admitted with the allocator's credits
  const pool = await api<{ id: string }>('POST', '/resources/pools', {
    name: 'jaeger-pool',
    provider: 'sim',
    model: 'sim-1',
    capabilities: [CAPABILITY],
    limits: { concurrency: 50 },
  });
  expect(pool.status).toBe(201);
});

afterAll(async () => {
  await demo?.stop();
  await mesh?.stopAll();
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
  await db?.drop();
  await jaeger?.stop();
});

describe('a workflow in Jaeger', () => {
  it('gives every task of a submitted workflow a trace spanning all five services and the agent', async () => {
    const wf = await api<{ id: string }>('POST', '/workflows', {
      name: 'jaeger-wf',
      nodes: [
        { key: 'first', capability: CAPABILITY, input: { simulate: { latencyMs: 5 } } },
        { key: 'second', capability: CAPABILITY, dependsOn: ['first'], input: { simulate: { latencyMs: 5 } } },
      ],
    });
    expect(wf.status).toBe(201);
    const nodes = await eventually(
      async () => {
        const r = await api<{ state: string; nodes: Array<{ key: string; taskId: string; taskState: string }> }>(
          'GET',
          `/workflows/${wf.body.id}`,
        );
        return r.body.state === 'succeeded' ? r.body.nodes : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'workflow succeeded' },
    );
    expect(nodes.map((n) => n.key).sort()).toEqual(['first', 'second']);
    for (const n of nodes) {
      const t = await api<CreatedTask>('GET', `/tasks/${n.taskId}`);
      expect(t.body.traceId).toMatch(/^[0-9a-f]{32}$/);
      const tr = await completeTrace(t.body.traceId, n.taskId);
      for (const svc of TASK_TRACE_SERVICES) expect({ svc, in: await participates(tr, svc) }).toEqual({ svc, in: true });
    }
  });
});

describe('a task in Jaeger', () => {
  let task: CreatedTask;
  let trace: JaegerTrace;

  beforeAll(async () => {
    const created = await api<CreatedTask>('POST', '/tasks', { capability: CAPABILITY, input: { simulate: { latencyMs: 20 } } });
    expect(created.status).toBe(201);
    task = created.body;
    expect(task.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(created.headers.get('x-trace-id')).toBe(task.traceId);
    const done = await waitSucceeded(task.id);
    expect(done.traceId).toBe(task.traceId);
    trace = await completeTrace(task.traceId, task.id);
  });

  it("is one connected trace, named by the task's traceId, rooted at the gateway's POST /api/v1/tasks", () => {
    expect(trace.traceID).toBe(task.traceId);
    for (const s of trace.spans) expect(s.traceID).toBe(task.traceId);
    const roots = trace.spans.filter((s) => parentOf(s) === '');
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    expect(serviceOf(trace, root)).toBe('gateway');
    expect(root.operationName).toMatch(/^POST\b/);
    expect(tagOf(root, 'url.path') ?? tagOf(root, 'http.target')).toBe('/api/v1/tasks');
    expect(kindOf(root)).toBe(OTLP_SERVER);
    const ids = new Set(trace.spans.map((s) => s.spanID));
    for (const s of trace.spans) if (s !== root) expect(ids.has(parentOf(s))).toBe(true);
  });

  it.each(TASK_TRACE_SERVICES)('spans %s', async (service) => {
    expect(await participates(trace, service)).toBe(true);
  });

  it('follows the task hop by hop: gateway → coordinator → dispatch → agent run → completion', () => {
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const ancestors = (s: JaegerSpan): JaegerSpan[] => {
      const out: JaegerSpan[] = [];
      for (let p = byId.get(parentOf(s)); p; p = byId.get(parentOf(p))) out.push(p);
      return out;
    };
    const root = trace.spans.find((s) => parentOf(s) === '')!;

    // the gateway asks the coordinator over NATS: a client span of the gateway, a server span of the coordinator under it
    const handled = spansOf(trace, 'coordinator').filter((s) => kindOf(s) === OTLP_SERVER);
    expect(handled.length).toBeGreaterThanOrEqual(1);
    for (const h of handled) {
      const caller = byId.get(parentOf(h))!;
      expect({ service: serviceOf(trace, caller), kind: kindOf(caller) }).toEqual({ service: 'gateway', kind: OTLP_CLIENT });
      expect(h.operationName).toMatch(/^handle coordinator\./);
      expect(caller.operationName).toBe(h.operationName.replace(/^handle /, 'request '));
      expect(ancestors(h)).toContain(root);
    }

    const dispatch = spansOf(trace, 'coordinator').filter((s) => s.operationName === `dispatch ${CAPABILITY}`);
    expect(dispatch).toHaveLength(1);
    expect(kindOf(dispatch[0]!)).toBe('producer');
    expect(tagOf(dispatch[0]!, 'swarm.task.id')).toBe(task.id);

    const run = spansOf(trace, 'demo-swarm').filter((s) => s.operationName === `run ${CAPABILITY}`);
    expect(run).toHaveLength(1);
    expect(kindOf(run[0]!)).toBe('consumer');
    expect(parentOf(run[0]!)).toBe(dispatch[0]!.spanID);
    expect(tagOf(run[0]!, 'swarm.task.id')).toBe(task.id);
    expect(tagOf(run[0]!, 'swarm.task.attempt')).toBe(1);
    expect(String(tagOf(run[0]!, 'swarm.agent.id'))).toContain(CAPABILITY.replace('.', '-'));
    expect(ancestors(run[0]!)).toContain(root);

    const complete = spansOf(trace, 'coordinator').filter((s) => s.operationName === `complete ${CAPABILITY}`);
    expect(complete.map((s) => tagOf(s, 'swarm.task.state'))).toContain('succeeded');
    for (const s of complete) expect(ancestors(s)).toContain(root);
    // the attempt ran inside the dispatch → complete window
    expect(run[0]!.startTime).toBeGreaterThanOrEqual(dispatch[0]!.startTime);
  });

  it('is the only trace holding spans of this task, and holds no other task', async () => {
    const second = await api<CreatedTask>('POST', '/tasks', { capability: CAPABILITY, input: { simulate: { latencyMs: 5 } } });
    expect(second.status).toBe(201);
    expect(second.body.traceId).not.toBe(task.traceId);
    await waitSucceeded(second.body.id);
    const other = await completeTrace(second.body.traceId, second.body.id);
    expect(other.spans.some((s) => tagOf(s, 'swarm.task.id') === task.id)).toBe(false);

    for (const t of [task, second.body]) {
      for (const service of ['coordinator', 'demo-swarm']) {
        const found = await jaeger.search(service, { 'swarm.task.id': t.id });
        expect({ service, task: t.id, traces: found.map((x) => x.traceID) }).toEqual({ service, task: t.id, traces: [t.traceId] });
      }
    }
    const fresh = await jaeger.trace(task.traceId);
    expect(new Set(fresh!.spans.map((s) => tagOf(s, 'swarm.task.id')).filter(Boolean))).toEqual(new Set([task.id]));
  });

  it("a batch: each task's spans are in the trace the API returned for it", async () => {
    const res = await api<{ tasks: CreatedTask[] }>('POST', '/tasks/batch', {
      tasks: [
        { capability: CAPABILITY, input: { simulate: { latencyMs: 5 } } },
        { capability: CAPABILITY, input: { simulate: { latencyMs: 5 } } },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body.tasks).toHaveLength(2);
    for (const t of res.body.tasks) {
      expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
      await waitSucceeded(t.id);
      const tr = await completeTrace(t.traceId, t.id);
      const runs = tr.spans.filter((s) => s.operationName === `run ${CAPABILITY}` && tagOf(s, 'swarm.task.id') === t.id);
      expect(runs).toHaveLength(1);
      const found = await jaeger.search('demo-swarm', { 'swarm.task.id': t.id });
      expect(found.map((x) => x.traceID)).toEqual([t.traceId]);
    }
  });

  it('Jaeger knows every process of the mesh by its service name', async () => {
    expect(await jaeger.services()).toEqual(expect.arrayContaining(['gateway', 'coordinator', 'demo-swarm']));
  });
});

describe('the Jaeger the deployment runs', () => {
  it('is the version the test runs, and accepts the k8s/ configuration', () => {
    expect(jaeger.version).toBe('v2.13.0');
    const docs = parseManifests(readFileSync(join(REPO_ROOT, 'k8s', '30-jaeger.yaml'), 'utf8'));
    const cm = docs.find((d) => d.manifest.kind === 'ConfigMap')!.manifest as unknown as { data: Record<string, string> };
    const deployment = docs.find((d) => d.manifest.kind === 'Deployment')!.manifest as unknown as {
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    };
    expect(deployment.spec.template.spec.containers[0]!.image).toBe(`jaegertracing/jaeger:${jaeger.version.slice(1)}`);
    const dir = mkdtempSync(join(tmpdir(), 'swarm-jaeger-conf-'));
    try {
      writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml']!);
      // exits non-zero, naming the problem, on an invalid configuration
      execFileSync(toolPath('jaeger'), ['validate', '--config', join(dir, 'config.yaml')], { stdio: 'pipe', timeout: 60_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
