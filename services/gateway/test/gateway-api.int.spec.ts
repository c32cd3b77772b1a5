import {
  AgentCommands,
  DuplicateIdempotencyKeyError,
  MAX_TASK_INPUT_BYTES,
  NotFoundError,
  QueueCommands,
  TaskCommands,
  TimeoutError,
  UnknownCapabilityError,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { type RunningService, runService } from '@swarm-mesh/service-kit';
import { startTelemetry } from '@swarm-mesh/telemetry';
import { connectTestBus, createTestDatabase, eventually, randomNamespace, type TestDatabase, testNatsUrl } from '@swarm-mesh/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { hashApiKey } from '../src/auth/api-key';
import { gatewayDefinition } from '../src/gateway.definition';
import { call, type CallOptions, insertApiKey } from './helpers';
import { StubCoordinator } from './stub-coordinator';

// @fastify/static (behind the Swagger UI) requires content-disposition 3, which is ESM-only: Node 20
// loads it through require(esm) but Jest cannot. Only reply.download() uses it; a CJS stand-in serves.
jest.mock('content-disposition', () => ({ create: (name: string) => `attachment; filename="${name}"` }));

// spans without the HTTP instrumentation (Jest loads http before any patching could happen):
// the gateway opens its own server span per request, which the test checks reaches the coordinator
startTelemetry({ serviceName: 'gateway-test', instrumentHttp: false });

const ADMIN = `admin-${randomBytes(12).toString('hex')}`;
const BODY_LIMIT = 1024 * 1024;

let ns: string;
let db: TestDatabase;
let stubBus: MeshBus;
let stub: StubCoordinator;
let gw: RunningService;
let pg: Client;
let viewerKey: string;
let acmeKey: string;
let scryptKey: string;
let revokedKey: string;

const api = (method: string, path: string, opts: CallOptions = {}) => call(gw.url, method, path, opts);
const admin = (method: string, path: string, opts: Omit<CallOptions, 'key'> = {}) => api(method, path, { ...opts, key: ADMIN });

beforeAll(async () => {
  ns = randomNamespace('gw');
  db = await createTestDatabase();
  stubBus = await connectTestBus({ namespace: ns, identity: 'coordinator' });
  stub = new StubCoordinator(stubBus);
  stub.start();
  gw = await runService(gatewayDefinition, {
    NATS_URL: testNatsUrl(),
    SWARM_NAMESPACE: ns,
    DATABASE_URL: db.url,
    DB_POOL_MAX: '4',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    LOG_LEVEL: 'error',
    SWARM_ADMIN_API_KEY: ADMIN,
    GATEWAY_API_KEY_CACHE_TTL_MS: '200',
    GATEWAY_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    // only a stub coordinator runs: commands of absent services fail at once, not after a wait
    NATS_AWAIT_RESPONDER_MS: '0',
  });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
  viewerKey = (await insertApiKey(pg, { tenantId: 'default', role: 'viewer' })).key;
  acmeKey = (await insertApiKey(pg, { tenantId: 'acme', role: 'operator' })).key;
  scryptKey = (await insertApiKey(pg, { tenantId: 'default', role: 'operator', hash: (k) => hashApiKey(k, 'scrypt') })).key;
  revokedKey = (await insertApiKey(pg, { tenantId: 'default', role: 'admin', revoked: true })).key;
});

afterAll(async () => {
  await gw?.stop();
  await stubBus?.close();
  await pg?.end();
  await db?.drop();
});

/** Runs `fn` and checks the stub coordinator received nothing meanwhile. */
async function expectNothingForwarded(fn: () => Promise<void>): Promise<void> {
  const before = stub.calls.length;
  await fn();
  expect(stub.calls.length).toBe(before);
}

const TASK_ID = '3f1c2b7a-9d4e-4f60-8a1b-2c3d4e5f6a7b';
const DL_ID = '9b2f0c4e-1d5a-4e8b-a7c3-2f6d8e0b1a92';

describe('authentication', () => {
  it('refuses requests without a key (401 UNAUTHENTICATED) and forwards nothing', async () => {
    await expectNothingForwarded(async () => {
      const r = await api('GET', '/api/v1/tasks');
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ code: 'UNAUTHENTICATED', message: expect.any(String), details: {} });
      const p = await api('POST', '/api/v1/tasks', { body: { capability: 'data.fetch' } });
      expect(p.status).toBe(401);
      // without a key the body is not read: no JSON, size or media-type verdict for a stranger
      for (const opts of [
        { raw: '{"capability": ' },
        { raw: JSON.stringify({ capability: 'data.fetch', input: { blob: 'x'.repeat(BODY_LIMIT) } }) },
        { raw: 'capability=data.fetch', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      ]) {
        const r = await api('POST', '/api/v1/tasks', opts);
        expect({ status: r.status, code: r.body.code }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
        expect(r.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
      }
    });
  });

  it('refuses unknown keys, malformed or well-formed', async () => {
    await expectNothingForwarded(async () => {
      for (const key of ['nope', `${ADMIN}x`, 'sm_abcdefgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', viewerKey.slice(0, -1) + 'Z']) {
        const r = await api('GET', '/api/v1/queues', { key });
        expect(r.status).toBe(401);
        expect(r.body.code).toBe('UNAUTHENTICATED');
      }
      const basic = await api('GET', '/api/v1/queues', { headers: { authorization: `Basic ${ADMIN}` } });
      expect(basic.status).toBe(401);
    });
  });

  it('accepts the bootstrap admin key as a bearer token or in x-api-key, as tenant "default"', async () => {
    const bearer = await api('GET', '/api/v1/queues', { key: ADMIN });
    expect(bearer.status).toBe(200);
    expect(stub.last()).toMatchObject({ command: 'coordinator.queues.depths', body: { tenantId: 'default' } });
    const header = await api('GET', '/api/v1/queues', { key: ADMIN, header: 'x-api-key' });
    expect(header.status).toBe(200);
    const lower = await api('GET', '/api/v1/queues', { headers: { authorization: `bearer ${ADMIN}` } });
    expect(lower.status).toBe(200);
  });

  it('lets a viewer key read but not mutate (403 FORBIDDEN)', async () => {
    const r = await api('GET', `/api/v1/tasks/${TASK_ID}`, { key: viewerKey });
    expect(r.status).toBe(200);
    expect(stub.last()?.body).toEqual({ tenantId: 'default', taskId: TASK_ID });
    await expectNothingForwarded(async () => {
      const p = await api('POST', '/api/v1/tasks', { key: viewerKey, body: { capability: 'data.fetch' } });
      expect(p.status).toBe(403);
      expect(p.body.code).toBe('FORBIDDEN');
      expect((await api('POST', `/api/v1/tasks/${TASK_ID}/cancel`, { key: viewerKey })).status).toBe(403);
      expect((await api('POST', '/api/v1/agents/fetcher-1/drain', { key: viewerKey, header: 'x-api-key' })).status).toBe(403);
      expect((await api('POST', `/api/v1/dead-letters/${DL_ID}/replay`, { key: viewerKey })).status).toBe(403);
    });
  });

  it('verifies scrypt-hashed stored keys too', async () => {
    const r = await api('POST', '/api/v1/tasks', { key: scryptKey, body: { capability: 'data.fetch' } });
    expect(r.status).toBe(201);
  });

  it('refuses a revoked key', async () => {
    await expectNothingForwarded(async () => {
      const r = await api('GET', '/api/v1/queues', { key: revokedKey });
      expect(r.status).toBe(401);
    });
  });

  it('honours a revocation once the cached verification expires', async () => {
    const { key, id } = await insertApiKey(pg, { tenantId: 'default', role: 'operator' });
    expect((await api('GET', '/api/v1/queues', { key })).status).toBe(200);
    await pg.query('UPDATE gateway.api_keys SET revoked_at = now() WHERE id = $1', [id]);
    await eventually(async () => (await api('GET', '/api/v1/queues', { key })).status === 401, {
      timeoutMs: 5_000,
      description: 'revoked key refused',
    });
    const row = await pg.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM gateway.api_keys WHERE id = $1', [id]);
    expect(row.rows[0]?.last_used_at).toBeInstanceOf(Date);
  });

  it('passes the key’s tenant to the coordinator: another tenant’s task is 404', async () => {
    const r = await api('GET', `/api/v1/tasks/${TASK_ID}`, { key: acmeKey });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('TASK_NOT_FOUND');
    expect(stub.last()?.body).toEqual({ tenantId: 'acme', taskId: TASK_ID });
    const s = await api('POST', '/api/v1/tasks', { key: acmeKey, body: { capability: 'data.fetch' } });
    expect(s.status).toBe(201);
    expect(s.body.tenantId).toBe('acme');
    expect(stub.last()?.body.tenantId).toBe('acme');
  });

  it('leaves health, metrics and the OpenAPI document open', async () => {
    const health = await api('GET', '/api/v1/health');
    expect([200, 503]).toContain(health.status);
    expect(health.body.services.gateway.status).toBe('ok');
    expect((await api('GET', '/health/live')).status).toBe(200);
    expect((await api('GET', '/metrics')).status).toBe(200);
    expect((await api('GET', '/api/docs-json')).status).toBe(200);
    const ui = await fetch(`${gw.url}/api/docs`);
    expect(ui.status).toBe(200);
  });
});

describe('tasks', () => {
  it('POST /tasks forwards one task and answers 201 with the TaskDto', async () => {
    const task = {
      capability: 'data.fetch',
      input: { url: 'https://example.com', simulate: { latencyMs: 5 } },
      priority: 'HIGH',
      idempotencyKey: 'k-1',
      retry: { maxAttempts: 2, backoffMs: [100, 200] },
      timeouts: { startToCloseMs: 1000 },
      labels: { team: 'a' },
      deadline: '2030-01-01T00:00:00Z',
    };
    const r = await admin('POST', '/api/v1/tasks', { body: task });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ tenantId: 'default', capability: 'data.fetch', priority: 'HIGH', state: 'queued', maxAttempts: 2 });
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(stub.last()).toMatchObject({ command: 'coordinator.tasks.create', body: { tenantId: 'default', task } });
  });

  it('concurrent POST /tasks leave gathered (tasks.create_many); each request keeps its own outcome and trace', async () => {
    const before = stub.gathered.length;
    stub.once(TaskCommands.create, () => {
      throw new UnknownCapabilityError(['nobody.does']);
    });
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, n) => admin('POST', '/api/v1/tasks', { body: { capability: 'data.fetch', input: { n } } })),
    );
    // exactly one of them met the refusal; the others were created
    expect(rs.filter((r) => r.status === 422).map((r) => r.body.code)).toEqual(['UNKNOWN_CAPABILITY']);
    const created = rs.filter((r) => r.status === 201);
    expect(created).toHaveLength(39);
    expect(new Set(created.map((r) => (r.body.input as { n: number }).n)).size).toBe(39);
    const sizes = stub.gathered.slice(before);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    // every forwarded item carries the trace of its own request
    const traces = stub.calls.slice(-40).map((c) => c.traceId);
    for (const r of created) expect(traces).toContain(r.headers.get('x-trace-id'));
  });

  it('POST /tasks/batch forwards all tasks in one command and answers 201 {tasks}', async () => {
    const tasks = [{ capability: 'data.fetch' }, { capability: 'content.write', priority: 'LOW' }];
    const r = await admin('POST', '/api/v1/tasks/batch', { body: { tasks } });
    expect(r.status).toBe(201);
    expect(r.body.tasks).toHaveLength(2);
    expect(r.body.tasks[1]).toMatchObject({ capability: 'content.write', priority: 'LOW' });
    expect(stub.last()).toMatchObject({ command: 'coordinator.tasks.submit', body: { tenantId: 'default', tasks } });
  });

  it('GET /tasks/:id', async () => {
    const r = await admin('GET', `/api/v1/tasks/${TASK_ID.toUpperCase()}`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(TASK_ID);
    expect(stub.last()).toMatchObject({ command: 'coordinator.tasks.get', body: { tenantId: 'default', taskId: TASK_ID } });
  });

  it('GET /tasks converts and forwards the filters', async () => {
    const r = await admin('GET', '/api/v1/tasks?state=running&capability=data.fetch&priority=HIGH&agentId=fetcher-1&limit=20&cursor=abc');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ items: [expect.objectContaining({ state: 'running' })], nextCursor: 'c2' });
    expect(stub.last()).toMatchObject({
      command: 'coordinator.tasks.list',
      body: {
        tenantId: 'default',
        state: 'running',
        capability: 'data.fetch',
        priority: 'HIGH',
        agentId: 'fetcher-1',
        limit: 20,
        cursor: 'abc',
      },
    });
    const bare = await admin('GET', '/api/v1/tasks');
    expect(bare.status).toBe(200);
    expect(stub.last()?.body).toEqual({ tenantId: 'default' });
  });

  it('POST /tasks/:id/cancel with and without a reason', async () => {
    const r = await admin('POST', `/api/v1/tasks/${TASK_ID}/cancel`, { body: { reason: 'not needed' } });
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('cancelled');
    expect(stub.last()).toMatchObject({
      command: 'coordinator.tasks.cancel',
      body: { tenantId: 'default', taskId: TASK_ID, reason: 'not needed' },
    });
    const bare = await admin('POST', `/api/v1/tasks/${TASK_ID}/cancel`);
    expect(bare.status).toBe(200);
    expect(stub.last()?.body).toEqual({ tenantId: 'default', taskId: TASK_ID });
  });

  it('POST /tasks/:id/priority', async () => {
    const r = await admin('POST', `/api/v1/tasks/${TASK_ID}/priority`, { body: { priority: 'CRITICAL' } });
    expect(r.status).toBe(200);
    expect(r.body.priority).toBe('CRITICAL');
    expect(stub.last()).toMatchObject({
      command: 'coordinator.tasks.priority',
      body: { tenantId: 'default', taskId: TASK_ID, priority: 'CRITICAL' },
    });
  });
});

describe('agents, dead letters, queues', () => {
  it('GET /agents with filters', async () => {
    const r = await admin('GET', '/api/v1/agents?state=healthy&capability=data.fetch&domain=data&limit=5&cursor=x');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ items: [expect.objectContaining({ id: 'fetcher-1' })], nextCursor: null });
    expect(stub.last()).toMatchObject({
      command: 'coordinator.agents.list',
      body: { tenantId: 'default', state: 'healthy', capability: 'data.fetch', domain: 'data', limit: 5, cursor: 'x' },
    });
  });

  it('GET /agents/:id, /health and /errors', async () => {
    const a = await admin('GET', '/api/v1/agents/fetcher-1');
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ id: 'fetcher-1', state: 'healthy', capabilities: ['data.fetch'] });
    expect(stub.last()).toMatchObject({ command: 'coordinator.agents.get', body: { tenantId: 'default', agentId: 'fetcher-1' } });

    const h = await admin('GET', '/api/v1/agents/fetcher-1/health');
    expect(h.status).toBe(200);
    expect(h.body).toEqual({
      id: 'fetcher-1',
      state: 'healthy',
      lastHeartbeatAt: '2025-01-01T00:00:00.000Z',
      load: { running: 1, freeSlots: 3 },
      stats: { cpuPercent: 12.5, memoryRssBytes: 1000, succeeded: 10, failed: 2, consecutiveFailures: 0 },
      breaker: { state: 'closed' },
    });

    const e = await admin('GET', '/api/v1/agents/fetcher-1/errors?limit=10');
    expect(e.status).toBe(200);
    expect(e.body.items[0]).toMatchObject({ outcome: 'failed', error: { message: 'boom' } });
    expect(e.body.nextCursor).toBeNull();
    expect(stub.last()).toMatchObject({
      command: 'coordinator.agents.errors',
      body: { tenantId: 'default', agentId: 'fetcher-1', limit: 500 },
    });

    // the log pages newest first with ?limit=&cursor=, as every list
    const entry = (n: number) => ({
      taskId: `5d7f1a2e-8c1b-4c59-9b1e-0a6a3c2b1d1${n}`,
      capability: 'data.fetch',
      attempt: 1,
      outcome: 'failed',
      error: { message: `boom ${n}`, retryable: true },
      at: `2025-01-01T00:00:0${n}.000Z`,
    });
    const log = { items: [entry(3), entry(2), entry(1)] };
    stub.once(AgentCommands.errors, () => log);
    const p1 = await admin('GET', '/api/v1/agents/fetcher-1/errors?limit=2');
    expect(p1.body.items.map((x: { error: { message: string } }) => x.error.message)).toEqual(['boom 3', 'boom 2']);
    expect(typeof p1.body.nextCursor).toBe('string');
    stub.once(AgentCommands.errors, () => log);
    const p2 = await admin('GET', `/api/v1/agents/fetcher-1/errors?limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body.items.map((x: { error: { message: string } }) => x.error.message)).toEqual(['boom 1']);
    expect(p2.body.nextCursor).toBeNull();
  });

  it.each(['drain', 'resume', 'restart'] as const)('POST /agents/:id/%s', async (action) => {
    const r = await admin('POST', `/api/v1/agents/fetcher-1/${action}`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('fetcher-1');
    expect(stub.last()).toMatchObject({
      command: 'coordinator.agents.control',
      body: { tenantId: 'default', agentId: 'fetcher-1', action },
    });
  });

  it('GET /dead-letters with filters, GET /dead-letters/:id, POST replay', async () => {
    const l = await admin('GET', '/api/v1/dead-letters?capability=data.fetch&includeReplayed=true&limit=3');
    expect(l.status).toBe(200);
    expect(l.body.items[0]).toMatchObject({ id: DL_ID, reason: 'attempts exhausted' });
    expect(stub.last()).toMatchObject({
      command: 'coordinator.dead_letters.list',
      body: { tenantId: 'default', capability: 'data.fetch', includeReplayed: true, limit: 3 },
    });
    const f = await admin('GET', '/api/v1/dead-letters?includeReplayed=false');
    expect(f.status).toBe(200);
    expect(stub.last()?.body).toEqual({ tenantId: 'default', includeReplayed: false });

    const g = await admin('GET', `/api/v1/dead-letters/${DL_ID}`);
    expect(g.status).toBe(200);
    expect(g.body.id).toBe(DL_ID);
    expect(stub.last()).toMatchObject({ command: 'coordinator.dead_letters.get', body: { tenantId: 'default', deadLetterId: DL_ID } });

    const r = await admin('POST', `/api/v1/dead-letters/${DL_ID}/replay`);
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('queued');
    expect(stub.last()).toMatchObject({
      command: 'coordinator.dead_letters.replay',
      body: { tenantId: 'default', deadLetterId: DL_ID, actor: 'api-key:bootstrap' },
    });
  });

  it('GET /queues', async () => {
    const r = await admin('GET', '/api/v1/queues');
    expect(r.status).toBe(200);
    expect(r.body.items.map((q: { capability: string }) => q.capability)).toEqual(['content.write', 'data.fetch']);
    expect(r.body.items[1].queued).toEqual({ LOW: 1, MEDIUM: 2, HIGH: 0, CRITICAL: 0 });
    expect(r.body.nextCursor).toBeNull();
  });

  it('GET /queues and /flags page as every list does: ?limit=&cursor= → nextCursor, by name', async () => {
    const first = await admin('GET', '/api/v1/queues?limit=1');
    expect(first.status).toBe(200);
    expect(first.body.items.map((q: { capability: string }) => q.capability)).toEqual(['content.write']);
    expect(typeof first.body.nextCursor).toBe('string');
    const second = await admin('GET', `/api/v1/queues?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((q: { capability: string }) => q.capability)).toEqual(['data.fetch']);
    expect(second.body.nextCursor).toBeNull();

    const all = await admin('GET', '/api/v1/flags');
    const names: string[] = all.body.items.map((f: { name: string }) => f.name);
    expect(names.length).toBeGreaterThan(2);
    expect(all.body.nextCursor).toBeNull();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await admin('GET', `/api/v1/flags?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((f: { name: string }) => f.name));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...names].sort());

    for (const qs of ['/api/v1/queues?cursor=bm9wZQ', '/api/v1/flags?cursor=%5B%5D']) {
      const bad = await admin('GET', qs);
      expect({ qs, status: bad.status, code: bad.body.code }).toEqual({ qs, status: 400, code: 'INVALID_CURSOR' });
    }
    for (const qs of ['/api/v1/queues?limit=0', '/api/v1/flags?limit=501', '/api/v1/queues?limit=abc']) {
      const bad = await admin('GET', qs);
      expect({ qs, status: bad.status, code: bad.body.code }).toEqual({ qs, status: 400, code: 'VALIDATION_FAILED' });
    }
  });
});

describe('coordinator errors map to HTTP', () => {
  it('NotFoundError → 404 TASK_NOT_FOUND with details', async () => {
    stub.once(TaskCommands.get, (r) => {
      throw new NotFoundError('task', r.taskId);
    });
    const r = await admin('GET', `/api/v1/tasks/${TASK_ID}`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 'TASK_NOT_FOUND', message: `task ${TASK_ID} not found`, details: { kind: 'task', id: TASK_ID } });
  });

  it('DuplicateIdempotencyKeyError → 409 with the existing task id', async () => {
    stub.once(TaskCommands.create, () => {
      throw new DuplicateIdempotencyKeyError('k-1', TASK_ID);
    });
    const r = await admin('POST', '/api/v1/tasks', { body: { capability: 'data.fetch', idempotencyKey: 'k-1' } });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('DUPLICATE_IDEMPOTENCY_KEY');
    expect(r.body.details).toEqual({ idempotencyKey: 'k-1', existingTaskId: TASK_ID });
  });

  it('UnknownCapabilityError → 422', async () => {
    stub.once(TaskCommands.create, () => {
      throw new UnknownCapabilityError(['nobody.does']);
    });
    const r = await admin('POST', '/api/v1/tasks', { body: { capability: 'nobody.does' } });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'UNKNOWN_CAPABILITY', details: { capabilities: ['nobody.does'] } });
  });

  it('AGENT_NOT_FOUND and DEAD_LETTER_NOT_FOUND → 404 (other tenant)', async () => {
    const a = await api('POST', '/api/v1/agents/fetcher-1/drain', { key: acmeKey });
    expect(a.status).toBe(404);
    expect(a.body.code).toBe('AGENT_NOT_FOUND');
    const d = await api('POST', `/api/v1/dead-letters/${DL_ID}/replay`, { key: acmeKey });
    expect(d.status).toBe(404);
    expect(d.body.code).toBe('DEAD_LETTER_NOT_FOUND');
  });

  it('a TIMEOUT error → 504', async () => {
    stub.once(QueueCommands.depths, () => {
      throw new TimeoutError('resource-allocator', 100);
    });
    const r = await admin('GET', '/api/v1/queues');
    expect(r.status).toBe(504);
    expect(r.body.code).toBe('TIMEOUT');
  });
});

describe('bad input never reaches the coordinator', () => {
  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    await expectNothingForwarded(async () => {
      const r = await admin('POST', '/api/v1/tasks', { raw: '{"capability": "data.fetch",' });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('MALFORMED_JSON');
      expect(r.body.message).toMatch(/^payload is not valid JSON: /);
      expect(r.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
      // a JSON body that is not an object: refused, even where every field is optional
      for (const raw of ['null', '[]', '"x"', '7']) {
        const b = await admin('PATCH', `/api/v1/resources/budgets/${DL_ID}`, { raw });
        expect({ raw, status: b.status, violations: b.body.details?.violations }).toEqual({
          raw,
          status: 400,
          violations: [{ path: '(root)', message: 'expected a JSON object', constraint: 'isObject' }],
        });
      }
    });
  });

  it('unknown fields, missing capability, bad priority, bad nested values → 400 VALIDATION_FAILED', async () => {
    await expectNothingForwarded(async () => {
      const unknown = await admin('POST', '/api/v1/tasks', { body: { capability: 'data.fetch', colour: 'red' } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.code).toBe('VALIDATION_FAILED');
      expect(unknown.body.details.violations).toContainEqual(expect.objectContaining({ path: 'colour' }));

      const missing = await admin('POST', '/api/v1/tasks', { body: { input: {} } });
      expect(missing.status).toBe(400);
      expect(missing.body.details.violations).toContainEqual(expect.objectContaining({ path: 'capability' }));

      const priority = await admin('POST', '/api/v1/tasks', { body: { capability: 'data.fetch', priority: 'URGENT' } });
      expect(priority.status).toBe(400);
      expect(priority.body.details.violations).toContainEqual(expect.objectContaining({ path: 'priority' }));

      const nested = await admin('POST', '/api/v1/tasks/batch', {
        body: { tasks: [{ capability: 'a' }, { capability: 'b', retry: { maxAttempts: 0 } }] },
      });
      expect(nested.status).toBe(400);
      expect(nested.body.details.violations).toContainEqual(expect.objectContaining({ path: 'tasks.1.retry.maxAttempts' }));

      const empty = await admin('POST', '/api/v1/tasks/batch', { body: { tasks: [] } });
      expect(empty.status).toBe(400);

      const proto = await admin('POST', '/api/v1/tasks', { raw: '{"capability":"a","input":{"__proto__":{"x":1}}}' });
      expect(proto.status).toBe(400);
      // valid JSON with a forbidden key: named as such (not "not valid JSON"), with its path
      expect(proto.body).toMatchObject({ code: 'VALIDATION_FAILED', message: 'forbidden key "__proto__"' });
      expect(proto.body.details.violations).toContainEqual(
        expect.objectContaining({ path: 'input.__proto__', constraint: 'forbiddenKey' }),
      );

      const setPriority = await admin('POST', `/api/v1/tasks/${TASK_ID}/priority`, { body: { priority: 'urgent' } });
      expect(setPriority.status).toBe(400);

      const cancelExtra = await admin('POST', `/api/v1/tasks/${TASK_ID}/cancel`, { body: { reason: 'x', force: true } });
      expect(cancelExtra.status).toBe(400);
    });
  });

  it('a task input over MAX_TASK_INPUT_BYTES → 413 PAYLOAD_TOO_LARGE', async () => {
    const big = { blob: 'x'.repeat(MAX_TASK_INPUT_BYTES) };
    await expectNothingForwarded(async () => {
      const one = await admin('POST', '/api/v1/tasks', { body: { capability: 'data.fetch', input: big } });
      expect(one.status).toBe(413);
      expect(one.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { path: 'input', limitBytes: MAX_TASK_INPUT_BYTES } });
      const batch = await admin('POST', '/api/v1/tasks/batch', { body: { tasks: [{ capability: 'a' }, { capability: 'b', input: big }] } });
      expect(batch.status).toBe(413);
      expect(batch.body.details.path).toBe('tasks.1.input');
    });
  });

  it('a body over GATEWAY_BODY_LIMIT_BYTES → 413', async () => {
    await expectNothingForwarded(async () => {
      const tasks = Array.from({ length: 10 }, () => ({ capability: 'a', input: { blob: 'y'.repeat(BODY_LIMIT / 8) } }));
      const r = await admin('POST', '/api/v1/tasks/batch', { body: { tasks } });
      expect(r.status).toBe(413);
      expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
    });
  });

  it('bad path ids → 400', async () => {
    await expectNothingForwarded(async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/tasks/not-a-uuid'],
        ['POST', '/api/v1/tasks/123/cancel'],
        ['POST', '/api/v1/tasks/zzz/priority'],
        ['GET', '/api/v1/dead-letters/abc'],
        ['POST', '/api/v1/dead-letters/abc/replay'],
        ['GET', '/api/v1/agents/bad.id'],
        ['POST', '/api/v1/agents/b%20ad/drain'],
        ['GET', '/api/v1/agents/%C3%A9/health'],
      ] as const) {
        const r = await admin(method, path, method === 'POST' && path.endsWith('priority') ? { body: { priority: 'LOW' } } : {});
        expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status: 400, code: 'VALIDATION_FAILED' });
      }
    });
  });

  it('bad or unknown query parameters → 400', async () => {
    await expectNothingForwarded(async () => {
      for (const qs of [
        '/api/v1/tasks?limit=abc',
        '/api/v1/tasks?limit=0',
        '/api/v1/tasks?limit=501',
        '/api/v1/tasks?limit=1.5',
        '/api/v1/tasks?state=sleeping',
        '/api/v1/tasks?priority=low',
        '/api/v1/tasks?colour=red',
        '/api/v1/tasks?state=queued&state=running',
        '/api/v1/agents?domain=space',
        '/api/v1/agents/fetcher-1/errors?limit=-1',
        '/api/v1/dead-letters?includeReplayed=maybe',
        '/api/v1/queues?x=1',
        `/api/v1/tasks/${TASK_ID}?verbose=1`,
        '/api/v1/agents/fetcher-1?x=',
      ]) {
        const r = await admin('GET', qs);
        expect({ qs, status: r.status, code: r.body.code }).toEqual({ qs, status: 400, code: 'VALIDATION_FAILED' });
      }
      // a limit that is not a number is said to be one, not "greater than 500"
      const abc = await admin('GET', '/api/v1/tasks?limit=abc');
      expect(abc.body.message).toBe('query: 1 invalid field (limit: limit must be an integer number)');
    });
  });
});

describe('tracing', () => {
  it('every response carries x-trace-id; a forwarded command joins that trace', async () => {
    const ok = await admin('GET', `/api/v1/tasks/${TASK_ID}`);
    const traceId = ok.headers.get('x-trace-id');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(stub.last()?.traceId).toBe(traceId);
    for (const r of [
      await api('GET', '/api/v1/tasks'),
      await admin('GET', '/api/v1/nowhere'),
      await admin('GET', '/api/v1/tasks/nope'),
      await api('GET', '/metrics'),
    ]) {
      expect(r.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});

describe('OpenAPI document', () => {
  it('documents every route with request and response schemas', async () => {
    const r = await api('GET', '/api/docs-json');
    const doc = r.body;
    const routes: Record<string, string[]> = {
      '/api/v1/tasks': ['get', 'post'],
      '/api/v1/tasks/batch': ['post'],
      '/api/v1/tasks/{id}': ['get'],
      '/api/v1/tasks/{id}/cancel': ['post'],
      '/api/v1/tasks/{id}/priority': ['post'],
      '/api/v1/agents': ['get'],
      '/api/v1/agents/{id}': ['get'],
      '/api/v1/agents/{id}/health': ['get'],
      '/api/v1/agents/{id}/errors': ['get'],
      '/api/v1/agents/{id}/drain': ['post'],
      '/api/v1/agents/{id}/resume': ['post'],
      '/api/v1/agents/{id}/restart': ['post'],
      '/api/v1/dead-letters': ['get'],
      '/api/v1/dead-letters/{id}': ['get'],
      '/api/v1/dead-letters/{id}/replay': ['post'],
      '/api/v1/queues': ['get'],
      '/api/v1/health': ['get'],
    };
    for (const [path, methods] of Object.entries(routes)) {
      for (const m of methods) {
        const op = doc.paths[path]?.[m];
        expect({ path, m, documented: Boolean(op) }).toEqual({ path, m, documented: true });
        const success = op.responses['200'] ?? op.responses['201'];
        expect({ path, m, schema: Boolean(success?.content?.['application/json']?.schema) }).toEqual({ path, m, schema: true });
        if (path === '/api/v1/health') continue;
        expect(op.responses['401']).toBeDefined();
        expect(op.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'x-api-key': [] }]));
      }
    }
    const schemas = doc.components.schemas;
    expect(doc.paths['/api/v1/tasks'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/SubmitTaskDto',
    });
    expect(schemas.SubmitTaskDto.required).toEqual(['capability']);
    expect(schemas.SubmitTaskDto.properties.priority.enum).toEqual(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
    expect(schemas.SubmitTaskDto.properties.retry.allOf).toEqual([{ $ref: '#/components/schemas/RetryPolicyDto' }]);
    expect(schemas.RetryPolicyDto.properties.backoffMs).toMatchObject({ type: 'array', items: { type: 'integer', minimum: 0 } });
    expect(schemas.TaskDto.properties.attempts).toMatchObject({ type: 'array', items: { $ref: '#/components/schemas/TaskAttemptDto' } });
    expect(schemas.TaskDto.properties.id).toMatchObject({ type: 'string', format: 'uuid' });
    expect(schemas.TaskPageDto.properties.nextCursor).toMatchObject({ type: 'string', nullable: true });
    expect(schemas.QueueDepthsDto).toBeDefined();
    expect(schemas.AgentHealthDto.required).toEqual(expect.arrayContaining(['id', 'state', 'load', 'stats', 'breaker']));
    expect(schemas.Error.properties.code.enum).toContain('TASK_NOT_FOUND');
    expect(schemas.SubmitTaskDto.properties.input['x-max-json-bytes']).toBe(MAX_TASK_INPUT_BYTES);
    expect(schemas.MeshHealthReport.properties.services.required).toContain('coordinator');
    // every $ref resolves
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z0-9_]+/g) ?? [];
    for (const ref of new Set(refs)) expect(schemas[ref.split('/').pop()!]).toBeDefined();
    // list filters are documented as typed query parameters
    const params = doc.paths['/api/v1/tasks'].get.parameters;
    expect(params).toContainEqual(
      expect.objectContaining({ name: 'limit', in: 'query', required: false, schema: expect.objectContaining({ type: 'integer' }) }),
    );
    expect(params).toContainEqual(
      expect.objectContaining({
        name: 'state',
        in: 'query',
        schema: expect.objectContaining({ enum: expect.arrayContaining(['queued']) }),
      }),
    );
    const dl = doc.paths['/api/v1/dead-letters'].get.parameters;
    expect(dl).toContainEqual(expect.objectContaining({ name: 'includeReplayed', schema: expect.objectContaining({ type: 'boolean' }) }));
    const idParam = doc.paths['/api/v1/tasks/{id}'].get.parameters.find((p: { name: string }) => p.name === 'id');
    expect(idParam).toMatchObject({ in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
  });
});

describe('without a coordinator', () => {
  afterAll(() => stub.start());

  it('answers 503 SERVICE_UNAVAILABLE', async () => {
    await stub.stop();
    const r = await admin('POST', '/api/v1/tasks', { body: { capability: 'data.fetch', idempotencyKey: randomUUID() } });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('SERVICE_UNAVAILABLE');
    const g = await admin('GET', '/api/v1/queues');
    expect(g.status).toBe(503);
  });
});
