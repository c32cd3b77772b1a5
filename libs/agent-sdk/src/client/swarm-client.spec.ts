import type { TaskDto, TaskState } from '@swarm-mesh/contracts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SwarmApiError, SwarmBatchSubmitError } from './errors';
import { SwarmClient } from './swarm-client';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
}
type Reply = { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number; raw?: string };
type Handler = (req: Seen, n: number) => Reply;

let server: Server;
let url: string;
let seen: Seen[] = [];
let handler: Handler = () => ({ status: 404, body: { code: 'ROUTE_NOT_FOUND', message: 'no', details: {} } });

function task(id: string, state: TaskState = 'queued', extra: Partial<TaskDto> = {}): TaskDto {
  return {
    id,
    tenantId: 'default',
    capability: 'data.fetch',
    state,
    priority: 'MEDIUM',
    input: {},
    attempts: [],
    attempt: 0,
    maxAttempts: 4,
    labels: {},
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const s: Seen = {
        method: req.method ?? '',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      seen.push(s);
      const r = handler(s, seen.length);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(r.status, { 'content-type': 'application/json', 'x-trace-id': 'f'.repeat(32), ...r.headers });
        res.end(r.raw ?? (r.body === undefined ? '' : JSON.stringify(r.body)));
      }, r.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  seen = [];
});

const client = (opts: ConstructorParameters<typeof SwarmClient>[0] = {}) =>
  new SwarmClient({ url, apiKey: 'k1', retryDelayMs: 1, ...opts });

describe('SwarmClient', () => {
  it('reads SWARM_URL and SWARM_API_KEY by default and sends the key as a bearer token', async () => {
    handler = () => ({ status: 200, body: { items: [] } });
    const c = new SwarmClient({ env: { SWARM_URL: `${url}/`, SWARM_API_KEY: 'env-key' } });
    expect(c.url).toBe(url);
    await c.queues();
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/api/v1/queues' });
    expect(seen[0]!.headers.authorization).toBe('Bearer env-key');
    expect(new SwarmClient({ env: {} }).url).toBe('http://127.0.0.1:3000');
  });

  it('submits one task and returns the created TaskDto', async () => {
    handler = (r) => ({ status: 201, body: task('t1', 'queued', { capability: (r.body as { capability: string }).capability }) });
    const t = await client().submit({ capability: 'content.write', input: { a: 1 }, priority: 'HIGH' });
    expect(t.id).toBe('t1');
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/tasks',
      body: { capability: 'content.write', input: { a: 1 }, priority: 'HIGH' },
    });
    expect(seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('splits a batch over 1000 tasks into chunks and keeps the order', async () => {
    let n = 0;
    handler = (r) => ({ status: 201, body: { tasks: (r.body as { tasks: unknown[] }).tasks.map(() => task(`t${n++}`)) } });
    const tasks = Array.from({ length: 2500 }, (_, i) => ({ capability: 'a', input: { i } }));
    const out = await client().submitBatch(tasks);
    expect(seen.map((s) => (s.body as { tasks: unknown[] }).tasks.length)).toEqual([1000, 1000, 500]);
    expect(seen[1]!.path).toBe('/api/v1/tasks/batch');
    expect((seen[2]!.body as { tasks: Array<{ input: { i: number } }> }).tasks[0]!.input.i).toBe(2000);
    expect(out.map((t) => t.id)).toEqual(Array.from({ length: 2500 }, (_, i) => `t${i}`));
  });

  it('reports the tasks already submitted when a later chunk fails', async () => {
    handler = (r, n) =>
      n === 1
        ? { status: 201, body: { tasks: (r.body as { tasks: unknown[] }).tasks.map((_, i) => task(`t${i}`)) } }
        : { status: 422, body: { code: 'UNKNOWN_CAPABILITY', message: 'unknown capability: zz', details: { capabilities: ['zz'] } } };
    const err = await client()
      .submitBatch(Array.from({ length: 1001 }, () => ({ capability: 'a' })))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwarmBatchSubmitError);
    expect((err as SwarmBatchSubmitError).submitted).toHaveLength(1000);
    expect((err as SwarmBatchSubmitError).code).toBe('UNKNOWN_CAPABILITY');
  });

  it('gets, lists with filters, cancels and re-prioritises', async () => {
    handler = (r) => {
      if (r.path === '/api/v1/tasks') return { status: 200, body: { items: [task('a')], nextCursor: null } };
      if (r.path.endsWith('/cancel')) return { status: 200, body: task('x', 'cancelled') };
      if (r.path.endsWith('/priority')) return { status: 200, body: task('x', 'queued', { priority: 'LOW' }) };
      return { status: 200, body: task('x') };
    };
    const c = client();
    expect((await c.get('x')).id).toBe('x');
    expect(seen.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/tasks/x' });
    await c.list({ state: 'running', capability: 'data.fetch', limit: 5, agentId: undefined });
    expect(seen.at(-1)!.query).toEqual({ state: 'running', capability: 'data.fetch', limit: '5' });
    expect((await c.cancel('x', 'why')).state).toBe('cancelled');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/tasks/x/cancel', body: { reason: 'why' } });
    await c.cancel('x');
    expect(seen.at(-1)!.body).toEqual({});
    expect((await c.setPriority('x', 'LOW')).priority).toBe('LOW');
    expect(seen.at(-1)).toMatchObject({ path: '/api/v1/tasks/x/priority', body: { priority: 'LOW' } });
  });

  it('iterates every page with the cursor', async () => {
    handler = (r) => {
      const cursor = r.query.cursor;
      if (!cursor) return { status: 200, body: { items: [task('1'), task('2')], nextCursor: 'c1' } };
      if (cursor === 'c1') return { status: 200, body: { items: [task('3')], nextCursor: 'c2' } };
      return { status: 200, body: { items: [task('4')], nextCursor: null } };
    };
    const ids: string[] = [];
    for await (const t of client().listAll({ state: 'queued', limit: 2 })) ids.push(t.id);
    expect(ids).toEqual(['1', '2', '3', '4']);
    expect(seen.map((s) => s.query)).toEqual([
      { state: 'queued', limit: '2' },
      { state: 'queued', limit: '2', cursor: 'c1' },
      { state: 'queued', limit: '2', cursor: 'c2' },
    ]);
  });

  it('calls the agent, dead-letter, queue and health routes', async () => {
    handler = (r) => ({
      status: r.path === '/api/v1/health' ? 503 : 200,
      body: { items: [], nextCursor: null, status: 'degraded', path: r.path },
    });
    const c = client();
    await c.agents.list({ domain: 'data' });
    await c.agents.get('a1');
    await c.agents.health('a1');
    await c.agents.errors('a1', 7);
    await c.agents.drain('a1');
    await c.agents.resume('a1');
    await c.agents.restart('a1');
    await c.deadLetters.list({ includeReplayed: true });
    await c.deadLetters.get('d1');
    await c.deadLetters.replay('d1');
    await c.queues();
    const health = await c.health();
    expect(health.status).toBe('degraded');
    expect(
      seen.map((s) => `${s.method} ${s.path}${Object.keys(s.query).length ? `?${new URLSearchParams(s.query).toString()}` : ''}`),
    ).toEqual([
      'GET /api/v1/agents?domain=data',
      'GET /api/v1/agents/a1',
      'GET /api/v1/agents/a1/health',
      'GET /api/v1/agents/a1/errors?limit=7',
      'POST /api/v1/agents/a1/drain',
      'POST /api/v1/agents/a1/resume',
      'POST /api/v1/agents/a1/restart',
      'GET /api/v1/dead-letters?includeReplayed=true',
      'GET /api/v1/dead-letters/d1',
      'POST /api/v1/dead-letters/d1/replay',
      'GET /api/v1/queues',
      'GET /api/v1/health',
    ]);
    expect(seen[4]!.headers['content-type']).toBeUndefined();
  });

  it('turns error bodies into SwarmApiError with status, code, message, details and trace id', async () => {
    handler = () => ({ status: 404, body: { code: 'TASK_NOT_FOUND', message: 'task x not found', details: { kind: 'task', id: 'x' } } });
    const err = (await client()
      .get('x')
      .catch((e: unknown) => e)) as SwarmApiError;
    expect(err).toBeInstanceOf(SwarmApiError);
    expect(err).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND', message: 'task x not found', details: { kind: 'task', id: 'x' } });
    expect(err.traceId).toBe('f'.repeat(32));
    expect(seen).toHaveLength(1);

    handler = () => ({ status: 502, raw: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } });
    const html = (await client({ retries: 0 })
      .get('x')
      .catch((e: unknown) => e)) as SwarmApiError;
    expect(html).toMatchObject({ status: 502, code: 'HTTP_502' });
    expect(html.message).toContain('bad gateway');
  });

  it('retries GETs on 503/504 and mutations only on 503', async () => {
    handler = (_r, n) =>
      n < 3
        ? { status: n === 1 ? 503 : 504, body: { code: 'SERVICE_UNAVAILABLE', message: 'x', details: {} } }
        : { status: 200, body: task('x') };
    expect((await client().get('x')).id).toBe('x');
    expect(seen).toHaveLength(3);

    seen = [];
    handler = (_r, n) =>
      n === 1
        ? { status: 503, body: { code: 'SERVICE_UNAVAILABLE', message: 'x', details: {} } }
        : { status: 200, body: task('x', 'cancelled') };
    expect((await client().cancel('x')).state).toBe('cancelled');
    expect(seen).toHaveLength(2);

    seen = [];
    handler = () => ({ status: 504, body: { code: 'TIMEOUT', message: 'coordinator did not answer', details: {} } });
    await expect(client().submit({ capability: 'a' })).rejects.toMatchObject({ status: 504, code: 'TIMEOUT' });
    expect(seen).toHaveLength(1);

    seen = [];
    handler = () => ({ status: 503, body: { code: 'SERVICE_UNAVAILABLE', message: 'down', details: {} } });
    await expect(client({ retries: 2 }).submit({ capability: 'a' })).rejects.toMatchObject({ status: 503 });
    expect(seen).toHaveLength(3);
    expect(seen.map((s) => JSON.stringify(s.body))).toEqual(Array(3).fill('{"capability":"a"}'));

    seen = [];
    handler = () => ({ status: 400, body: { code: 'VALIDATION_FAILED', message: 'bad', details: { violations: [] } } });
    await expect(client().get('x')).rejects.toMatchObject({ status: 400 });
    expect(seen).toHaveLength(1);
  });

  it('retries a keyed submit after an ambiguous failure and returns the task the first attempt created', async () => {
    handler = (r, n) => {
      if (n === 1) return { status: 504, body: { code: 'TIMEOUT', message: 'slow', details: {} } };
      if (r.method === 'POST') {
        return {
          status: 409,
          body: { code: 'DUPLICATE_IDEMPOTENCY_KEY', message: 'dup', details: { idempotencyKey: 'k', existingTaskId: 'orig' } },
        };
      }
      return { status: 200, body: task('orig') };
    };
    const t = await client().submit({ capability: 'a', idempotencyKey: 'k' });
    expect(t.id).toBe('orig');
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /api/v1/tasks', 'POST /api/v1/tasks', 'GET /api/v1/tasks/orig']);
    expect((seen[1]!.body as { idempotencyKey: string }).idempotencyKey).toBe('k');

    // a first-time duplicate is the caller's problem
    seen = [];
    handler = () => ({ status: 409, body: { code: 'DUPLICATE_IDEMPOTENCY_KEY', message: 'dup', details: { existingTaskId: 'orig' } } });
    await expect(client().submit({ capability: 'a', idempotencyKey: 'k' })).rejects.toMatchObject({ status: 409 });
    expect(seen).toHaveLength(1);
  });

  it('times out slow answers and reports unreachable gateways', async () => {
    handler = () => ({ status: 200, body: task('x'), delayMs: 300 });
    await expect(client({ timeoutMs: 50, retries: 0 }).get('x')).rejects.toMatchObject({ status: 0, code: 'TIMEOUT' });
    const dead = new SwarmClient({ url: 'http://127.0.0.1:1', retries: 1, retryDelayMs: 1 });
    await expect(dead.queues()).rejects.toMatchObject({ status: 0, code: 'CONNECTION_FAILED' });
  });

  it('honours an abort signal', async () => {
    handler = () => ({ status: 200, body: task('x'), delayMs: 300 });
    const ac = new AbortController();
    const p = client().get('x', { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(p).rejects.toThrow('stop');
  });

  it('waitFor polls until a terminal state and reports each change', async () => {
    const states: TaskState[] = ['queued', 'queued', 'running', 'running', 'succeeded'];
    handler = (_r, n) => {
      const state = states[Math.min(n - 1, states.length - 1)]!;
      return {
        status: 200,
        body: task('w', state, {
          attempt: state === 'queued' ? 0 : 1,
          progress: n === 4 ? { percent: 0.5, at: '2025-01-01T00:00:01.000Z' } : null,
          ...(state === 'succeeded' ? { result: { ok: true } } : {}),
        }),
      };
    };
    const updates: string[] = [];
    const done = await client().waitFor('w', {
      pollMs: 10,
      onUpdate: (t) => void updates.push(`${t.state}:${t.progress?.percent ?? '-'}`),
    });
    expect(done.state).toBe('succeeded');
    expect(done.result).toEqual({ ok: true });
    expect(updates).toEqual(['queued:-', 'running:-', 'running:0.5', 'succeeded:-']);
    expect(seen).toHaveLength(5);
  });

  it('waitFor gives up with WAIT_TIMEOUT', async () => {
    handler = () => ({ status: 200, body: task('w', 'running') });
    const err = (await client()
      .waitFor('w', { pollMs: 10, timeoutMs: 60 })
      .catch((e: unknown) => e)) as SwarmApiError;
    expect(err).toMatchObject({ code: 'WAIT_TIMEOUT', status: 0, details: { taskId: 'w', state: 'running' } });
  });
});
