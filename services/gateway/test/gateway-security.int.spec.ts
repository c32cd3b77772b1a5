import {
  API_KEY_FORMAT_RE,
  ERROR_CODES,
  EVENTS_WILDCARD,
  EventMessages,
  FlagValue,
  GATEWAY_KV_BUCKETS,
  KV_BUCKETS,
  type MeshEventDto,
  STREAMS,
  validatePlain,
} from '@swarm-mesh/contracts';
import { ensureStream, FlagStore, type MeshBus } from '@swarm-mesh/messaging';
import { type RunningService, runService } from '@swarm-mesh/service-kit';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  eventually,
  randomNamespace,
  type SmtpReceiver,
  startSmtpReceiver,
  startWebhookReceiver,
  type TestDatabase,
  testNatsUrl,
  type WebhookReceiver,
} from '@swarm-mesh/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { main as cli } from '../../../cli/src/main';
import { gatewayDefinition } from '../src/gateway.definition';
import { call, type ApiResponse, type CallOptions } from './helpers';
import { registeredRoutes, validateOpenApi } from './openapi-check';
import { StubCoordinator } from './stub-coordinator';

// @fastify/static (behind the Swagger UI) requires an ESM-only module Jest cannot load (see gateway-api.int.spec.ts)
jest.mock('content-disposition', () => ({ create: (name: string) => `attachment; filename="${name}"` }));

const ADMIN = `admin-${randomBytes(12).toString('hex')}`;
const TASK_ID = '3f1c2b7a-9d4e-4f60-8a1b-2c3d4e5f6a7b';

let ns: string;
let db: TestDatabase;
let bus: MeshBus;
let stub: StubCoordinator;
let gw: RunningService;
let webhook: WebhookReceiver;
let smtp: SmtpReceiver;
const sockets: WebSocket[] = [];

/** Every authenticated mutating call this file makes (the audit check at the end looks each up). */
const mutations: Array<{ method: string; path: string; status: number; traceId: string | null; key: string }> = [];

async function api(method: string, path: string, opts: CallOptions = {}, base = gw.url): Promise<ApiResponse> {
  const r = await call(base, method, path, opts);
  // refused before anyone is known (401), before routing (413; a body that does not parse: malformed JSON, a forbidden key,
  // nesting too deep) or by the rate limiter (429): not audited
  const violations = (r.body?.details?.violations ?? []) as Array<{ constraint?: string }>;
  const unparsed =
    r.body?.code === 'MALFORMED_JSON' || violations.some((v) => v.constraint === 'forbiddenKey' || v.constraint === 'maxDepth');
  const unaudited = r.status === 401 || r.status === 413 || r.status === 429 || unparsed;
  if (method !== 'GET' && opts.key && !unaudited) {
    mutations.push({ method, path, status: r.status, traceId: r.headers.get('x-trace-id'), key: opts.key });
  }
  return r;
}
const admin = (method: string, path: string, opts: Omit<CallOptions, 'key'> = {}): Promise<ApiResponse> =>
  api(method, path, { ...opts, key: ADMIN });

async function createKey(body: Record<string, unknown>, key = ADMIN): Promise<{ key: string; id: string }> {
  const r = await api('POST', '/api/v1/api-keys', { key, body });
  if (r.status !== 201) throw new Error(`create key: ${r.status} ${r.text}`);
  return { key: r.body.key as string, id: r.body.apiKey.id as string };
}

function gatewayEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: testNatsUrl(),
    SWARM_NAMESPACE: ns,
    DATABASE_URL: db.url,
    DB_POOL_MAX: '4',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    LOG_LEVEL: 'error',
    SWARM_ADMIN_API_KEY: ADMIN,
    // long: revocation must apply at once, not when a cached verification expires
    GATEWAY_API_KEY_CACHE_TTL_MS: '600000',
    GATEWAY_RATE_WINDOW_MS: '60000',
    GATEWAY_RATE_SYNC_MS: '20',
    GATEWAY_ALERT_TICK_MS: '50',
    GATEWAY_ALERT_RETRY_MS: '50,100',
    GATEWAY_ALERT_LEASE_MS: '3000',
    SMTP_URL: smtp.url,
    SMTP_FROM: 'alerts@swarm.test',
    ...extra,
  };
}

async function publishEvents(events: MeshEventDto[]): Promise<void> {
  await bus.publishDurable(EventMessages.tasks, { source: 'coordinator', events }, { msgId: randomUUID() });
}

function event(type: string, tenantId: string, data: Record<string, unknown>): MeshEventDto {
  return { type, ts: new Date().toISOString(), tenantId, data };
}

/** A WebSocket message as text. */
function text(d: Buffer | ArrayBuffer | Buffer[]): string {
  return Array.isArray(d) ? Buffer.concat(d).toString('utf8') : Buffer.isBuffer(d) ? d.toString('utf8') : Buffer.from(d).toString('utf8');
}

/** A WebSocket client that collects every message. */
async function openStream(
  query: string,
): Promise<{ ws: WebSocket; messages: Array<{ type: string; ts: string; data: Record<string, unknown> }>; closed: Promise<number> }> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/api/v1/stream${query}`);
  sockets.push(ws);
  const messages: Array<{ type: string; ts: string; data: Record<string, unknown> }> = [];
  const closed = new Promise<number>((r) => ws.on('close', (code: number) => r(code)));
  ws.on('message', (d) => messages.push(JSON.parse(text(d)) as (typeof messages)[number]));
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
  });
  await eventually(() => messages.some((m) => m.type === 'stream.ready'), { description: 'stream.ready' });
  return { ws, messages, closed };
}

/** The HTTP status a refused WebSocket upgrade answers. */
function refusedUpgrade(query: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | undefined }> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/api/v1/stream${query}`, { headers });
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => {
      const retryAfter = res.headers['retry-after'];
      resolve({ status: res.statusCode ?? 0, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined });
      res.resume();
    });
    ws.on('open', () => reject(new Error('upgrade accepted')));
    ws.on('error', () => undefined);
  });
}

beforeAll(async () => {
  ns = randomNamespace('gs');
  db = await createTestDatabase();
  bus = await connectTestBus({ namespace: ns, identity: 'coordinator' });
  await ensureStream(bus, { name: STREAMS.EVENTS, subjects: [EVENTS_WILDCARD], retention: 'limits', maxAgeMs: 600_000 });
  stub = new StubCoordinator(bus);
  stub.start();
  [webhook, smtp] = await Promise.all([startWebhookReceiver(), startSmtpReceiver()]);
  gw = await runService(gatewayDefinition, gatewayEnv());
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await gw?.stop();
  await webhook?.close();
  await smtp?.close();
  if (bus) {
    await cleanupNamespace(bus).catch(() => {});
    await bus.close();
  }
  await db?.drop();
});

describe('API keys', () => {
  it('creates a key shown once (256-bit random, stored hashed), lists without secrets, per tenant', async () => {
    const r = await admin('POST', '/api/v1/api-keys', { body: { name: 'ci', role: 'operator' } });
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body.key).toMatch(API_KEY_FORMAT_RE);
    expect(r.body.apiKey).toMatchObject({
      tenantId: 'default',
      name: 'ci',
      role: 'operator',
      revokedAt: null,
      createdBy: 'api-key:bootstrap',
    });
    expect(r.body.key.startsWith(`sm_${r.body.apiKey.prefix}_`)).toBe(true);
    const secret = (r.body.key as string).split('_').slice(2).join('_');
    expect(Buffer.from(secret, 'base64url').length).toBe(32);
    const row = await gw.runtime.dataSource.query('SELECT key_hash FROM gateway.api_keys WHERE id = $1', [r.body.apiKey.id]);
    expect(row[0].key_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(row[0].key_hash).not.toContain(secret);
    const list = await admin('GET', '/api/v1/api-keys');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(secret);
    expect(list.body.items.map((k: { id: string }) => k.id)).toContain(r.body.apiKey.id);
    const works = await api('GET', '/api/v1/tasks', { key: r.body.key });
    expect(works.status).toBe(200);
  });

  it('lets only the bootstrap key act for another tenant', async () => {
    const acmeAdmin = await createKey({ name: 'acme admin', role: 'admin', tenantId: 'acme' });
    const who = await api('GET', '/api/v1/auth/whoami', { key: acmeAdmin.key });
    expect(who.body).toEqual({ tenantId: 'acme', role: 'admin', keyId: acmeAdmin.id, name: 'acme admin' });
    const other = await api('POST', '/api/v1/api-keys', { key: acmeAdmin.key, body: { name: 'x', role: 'viewer', tenantId: 'globex' } });
    expect(other.status).toBe(403);
    const own = await api('POST', '/api/v1/api-keys', { key: acmeAdmin.key, body: { name: 'acme viewer', role: 'viewer' } });
    expect(own.status).toBe(201);
    expect(own.body.apiKey.tenantId).toBe('acme');
    const defaults = await admin('GET', '/api/v1/api-keys?tenantId=default');
    const defaultKey = defaults.body.items[0].id as string;
    const hidden = await api('GET', `/api/v1/api-keys/${defaultKey}`, { key: acmeAdmin.key });
    expect(hidden.status).toBe(404);
    const acmeList = await api('GET', '/api/v1/api-keys', { key: acmeAdmin.key });
    expect(acmeList.body.items.every((k: { tenantId: string }) => k.tenantId === 'acme')).toBe(true);
  });

  it('validates bodies strictly: unknown fields, bad roles, __proto__', async () => {
    for (const body of [{ name: 'x', role: 'root' }, { name: 'x', role: 'viewer', extra: 1 }, { role: 'viewer' }]) {
      const r = await admin('POST', '/api/v1/api-keys', { body });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { violations: expect.any(Array) } });
    }
    const proto = await admin('POST', '/api/v1/api-keys', { raw: '{"name":"x","role":"viewer","__proto__":{"role":"admin"}}' });
    expect(proto.status).toBe(400);
    expect(proto.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { violations: [{ path: '__proto__', constraint: 'forbiddenKey' }] },
    });
    const ctor = await admin('POST', '/api/v1/api-keys', {
      raw: '{"name":"x","role":"viewer","constructor":{"prototype":{"role":"admin"}}}',
    });
    expect(ctor.status).toBe(400);
    expect(ctor.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { violations: [{ path: 'constructor', constraint: 'forbiddenKey' }] },
    });
  });
});

describe('auth matrix', () => {
  let viewer: { key: string; id: string };
  let operator: { key: string; id: string };
  let acmeOperator: { key: string; id: string };

  beforeAll(async () => {
    viewer = await createKey({ name: 'viewer', role: 'viewer' });
    operator = await createKey({ name: 'operator', role: 'operator' });
    acmeOperator = await createKey({ name: 'acme op', role: 'operator', tenantId: 'acme' });
  });

  it('no key → 401 UNAUTHENTICATED with the error body', async () => {
    for (const [m, p] of [
      ['GET', '/api/v1/tasks'],
      ['POST', '/api/v1/tasks'],
      ['GET', '/api/v1/flags'],
      ['GET', '/api/v1/audit'],
      ['POST', '/api/v1/api-keys'],
      ['GET', '/api/v1/alerts'],
    ] as const) {
      const r = await call(gw.url, m, p, m === 'POST' ? { body: {} } : {});
      expect({ m, p, status: r.status, body: r.body }).toEqual({
        m,
        p,
        status: 401,
        body: { code: 'UNAUTHENTICATED', message: expect.any(String), details: {} },
      });
    }
  });

  it('viewer mutating → 403 FORBIDDEN (and the refusal is audited)', async () => {
    for (const [m, p, body] of [
      ['POST', '/api/v1/tasks', { capability: 'data.fetch' }],
      ['POST', `/api/v1/tasks/${TASK_ID}/cancel`, undefined],
      ['PUT', '/api/v1/flags/scaling.predictive', { enabled: true }],
      ['POST', '/api/v1/api-keys', { name: 'x', role: 'viewer' }],
      ['POST', '/api/v1/alerts/rules', { name: 'x', kind: 'agent_died', channels: [] }],
    ] as const) {
      const r = await api(m, p, { key: viewer.key, ...(body ? { body } : {}) });
      expect({ m, p, status: r.status, code: r.body.code }).toEqual({ m, p, status: 403, code: 'FORBIDDEN' });
    }
    expect((await api('GET', '/api/v1/tasks', { key: viewer.key })).status).toBe(200);
    const ops = await api('POST', '/api/v1/api-keys', { key: operator.key, body: { name: 'x', role: 'viewer' } });
    expect(ops.status).toBe(403);
    const audit = await admin('GET', '/api/v1/audit?outcome=denied&limit=50');
    expect(
      audit.body.items.some((e: { actor: string; action: string }) => e.actor.includes(viewer.id) && e.action === 'POST /api/v1/tasks'),
    ).toBe(true);
  });

  it("another tenant's resource → 404", async () => {
    const t = await api('GET', `/api/v1/tasks/${TASK_ID}`, { key: acmeOperator.key });
    expect(t.status).toBe(404);
    expect(t.body.code).toBe('TASK_NOT_FOUND');
    const c = await api('POST', `/api/v1/tasks/${TASK_ID}/cancel`, { key: acmeOperator.key });
    expect(c.status).toBe(404);
    const rule = await admin('POST', '/api/v1/alerts/rules', { body: { name: 'default only', kind: 'agent_died', channels: [] } });
    const acmeAdmin = await createKey({ name: 'acme admin 2', role: 'admin', tenantId: 'acme' });
    expect((await api('GET', `/api/v1/alerts/rules/${rule.body.id}`, { key: acmeAdmin.key })).status).toBe(404);
    expect((await api('DELETE', `/api/v1/alerts/rules/${rule.body.id}`, { key: acmeAdmin.key })).status).toBe(404);
    expect((await api('DELETE', `/api/v1/api-keys/${operator.id}`, { key: acmeAdmin.key })).status).toBe(404);
  });

  it('revoked key → 401 at once (no cache delay), rotated key: old 401, new works', async () => {
    const k = await createKey({ name: 'short-lived', role: 'operator' });
    expect((await api('GET', '/api/v1/queues', { key: k.key })).status).toBe(200);
    const revoked = await admin('DELETE', `/api/v1/api-keys/${k.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const after = await api('GET', '/api/v1/queues', { key: k.key });
    expect(after.status).toBe(401);
    const again = await admin('DELETE', `/api/v1/api-keys/${k.id}`);
    expect(again.status).toBe(200);

    const r = await createKey({ name: 'rotating', role: 'viewer' });
    expect((await api('GET', '/api/v1/queues', { key: r.key })).status).toBe(200);
    const rotated = await admin('POST', `/api/v1/api-keys/${r.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.apiKey).toMatchObject({ name: 'rotating', role: 'viewer', rotatedFrom: r.id });
    expect((await api('GET', '/api/v1/queues', { key: r.key })).status).toBe(401);
    expect((await api('GET', '/api/v1/queues', { key: rotated.body.key })).status).toBe(200);
    expect((await admin('POST', `/api/v1/api-keys/${r.id}/rotate`)).status).toBe(409);
  });

  it('rotating a revoked key → 409 INVALID_STATE_TRANSITION; revoking it again is idempotent (200, first revokedAt)', async () => {
    const k = await createKey({ name: 'revoked then rotated', role: 'viewer' });
    const revoked = await admin('DELETE', `/api/v1/api-keys/${k.id}`);
    expect(revoked.status).toBe(200);
    const read = await admin('GET', `/api/v1/api-keys/${k.id}`);
    expect(read.status).toBe(200);
    expect(read.body.revokedAt).toBe(revoked.body.revokedAt);
    const rotate = await admin('POST', `/api/v1/api-keys/${k.id}/rotate`);
    expect(rotate.status).toBe(409);
    expect(rotate.body).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
      message: `api key ${k.id} is revoked; revoked keys cannot be rotated`,
      details: { keyId: k.id, revokedAt: revoked.body.revokedAt },
    });
    expect(rotate.headers.get('cache-control')).toBe('no-store');
    // nothing was created in its place
    const keys = await admin('GET', '/api/v1/api-keys?includeRevoked=true&limit=500');
    expect(keys.body.items.filter((x: { rotatedFrom: string | null }) => x.rotatedFrom === k.id)).toEqual([]);
    const again = await admin('DELETE', `/api/v1/api-keys/${k.id}`);
    expect(again.status).toBe(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    // another tenant's revoked key stays invisible (404, not 409)
    const acmeAdmin = await createKey({ name: 'acme rotator', role: 'admin', tenantId: 'acme' });
    const foreign = await api('POST', `/api/v1/api-keys/${k.id}/rotate`, { key: acmeAdmin.key });
    expect(foreign.status).toBe(404);
    const doc = await call(gw.url, 'GET', '/api/docs-json');
    expect(doc.body.paths['/api/v1/api-keys/{id}/rotate'].post.responses['409'].description).toContain('INVALID_STATE_TRANSITION');
  });

  it('rate limit → 429 RATE_LIMITED with Retry-After', async () => {
    const k = await createKey({ name: 'limited', role: 'viewer', rateLimit: 5 });
    const statuses: number[] = [];
    let limited: ApiResponse | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await api('GET', '/api/v1/queues', { key: k.key });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
      else expect(r.headers.get('x-ratelimit-limit')).toBe('5');
    }
    expect(limited).toBeDefined();
    // 5 per window; a window boundary in between may allow at most one more window's worth
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(limited!.body).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const ws = await refusedUpgrade(`?token=${encodeURIComponent(k.key)}`);
    expect(ws.status).toBe(429);
    expect(Number(ws.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('security headers on every answer; oversized bodies → 413', async () => {
    const r = await api('GET', '/api/v1/queues', { key: viewer.key });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const big = await admin('POST', '/api/v1/alerts/rules', {
      raw: JSON.stringify({ name: 'x'.repeat(5 * 1024 * 1024), kind: 'agent_died', channels: [] }),
    });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('PAYLOAD_TOO_LARGE');
    const page = await fetch(`${gw.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/dashboard/app.js');
  });
});

describe('rate limits shared across gateway replicas', () => {
  let gw2: RunningService;
  afterAll(async () => gw2?.stop());

  it('a second replica knows what the first admitted (NATS KV counters)', async () => {
    gw2 = await runService(gatewayDefinition, gatewayEnv({ GATEWAY_ALERTS_ENABLED: 'false' }));
    const k = await createKey({ name: 'shared', role: 'viewer', rateLimit: 10 });
    for (let i = 0; i < 8; i++) expect((await api('GET', '/api/v1/queues', { key: k.key })).status).toBe(200);
    const kv = await bus.js().views.kv(bus.name(GATEWAY_KV_BUCKETS.RATE_LIMITS));
    await eventually(
      async () => {
        for await (const name of await kv.keys(`${k.id}.*`)) {
          const e = await kv.get(name);
          if (e && Number(new TextDecoder().decode(e.value)) >= 8) return true;
        }
        return false;
      },
      { description: 'first replica merged its count into KV' },
    );
    let admitted = 0;
    for (let i = 0; i < 12; i++) {
      const r = await api('GET', '/api/v1/queues', { key: k.key }, gw2.url);
      if (r.status === 429) break;
      admitted++;
    }
    // alone it would admit 10; sharing leaves it ~2 (plus what it admits before its first merge)
    expect(admitted).toBeLessThanOrEqual(5);
  });
});

describe('feature flags', () => {
  it('lists flags, lets operators of the platform tenant change them (viewer 403), every service sees the change', async () => {
    const viewer = await createKey({ name: 'flag viewer', role: 'viewer' });
    const operator = await createKey({ name: 'flag operator', role: 'operator' });
    const list = await api('GET', '/api/v1/flags', { key: viewer.key });
    expect(list.status).toBe(200);
    expect(list.body.items.map((f: { name: string }) => f.name)).toEqual(
      expect.arrayContaining(['optimizer.auto_apply', 'resources.preemption', 'scaling.predictive']),
    );
    expect((await api('PUT', '/api/v1/flags/scaling.predictive', { key: viewer.key, body: { enabled: true } })).status).toBe(403);

    const watcher = await FlagStore.open(bus);
    try {
      const before = watcher.isEnabled('scaling.predictive');
      const stream = await openStream(`?token=${encodeURIComponent(operator.key)}&kind=flag`);
      const r = await api('PUT', '/api/v1/flags/scaling.predictive', { key: operator.key, body: { enabled: !before } });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ name: 'scaling.predictive', enabled: !before, set: true, updatedBy: `api-key:${operator.id}` });
      await eventually(() => watcher.isEnabled('scaling.predictive') === !before, { description: 'another service sees the flag' });
      const kv = await bus.js().views.kv(bus.name(KV_BUCKETS.FLAGS));
      const stored = await kv.get('scaling.predictive');
      expect(validatePlain(FlagValue, JSON.parse(new TextDecoder().decode(stored!.value)))).toMatchObject({ enabled: !before });
      await eventually(() => stream.messages.some((m) => m.type === 'flag.changed' && m.data.name === 'scaling.predictive'), {
        description: 'flag.changed on the stream',
      });
    } finally {
      watcher.stop();
    }
    expect((await api('PUT', '/api/v1/flags/no.such_flag', { key: operator.key, body: { enabled: true } })).status).toBe(404);
    expect((await api('PUT', '/api/v1/flags/scaling.predictive', { key: operator.key, body: { enabled: 'yes' } })).status).toBe(400);
    expect((await api('PUT', '/api/v1/flags/BAD%20NAME', { key: operator.key, body: { enabled: true } })).status).toBe(400);
  });

  it("refuses mesh-wide flag changes from other tenants' keys, admins included (403 FORBIDDEN, audited as denied); they may still read flags", async () => {
    const acmeAdmin = await createKey({ name: 'acme flag admin', role: 'admin', tenantId: 'acme' });
    const acmeOperator = await createKey({ name: 'acme flag operator', role: 'operator', tenantId: 'acme' });
    const kv = await bus.js().views.kv(bus.name(KV_BUCKETS.FLAGS));
    const stored = async (name: string): Promise<number> => (await kv.get(name))?.revision ?? 0;
    for (const key of [acmeAdmin, acmeOperator]) {
      expect((await api('GET', '/api/v1/flags', { key: key.key })).status).toBe(200);
      for (const name of ['resources.preemption', 'optimizer.auto_apply', 'scaling.predictive']) {
        const flag = await api('GET', `/api/v1/flags/${name}`, { key: key.key });
        expect(flag.status).toBe(200);
        const revision = await stored(name);
        const r = await api('PUT', `/api/v1/flags/${name}`, { key: key.key, body: { enabled: !flag.body.enabled } });
        expect({ name, status: r.status, code: r.body.code }).toEqual({ name, status: 403, code: 'FORBIDDEN' });
        expect(r.body.message).toContain('only keys of the platform tenant (default)');
        expect(await stored(name)).toBe(revision);
        expect((await api('GET', `/api/v1/flags/${name}`, { key: key.key })).body.enabled).toBe(flag.body.enabled);
      }
    }
    // unknown flags are refused the same way (no hint which names exist)
    expect((await api('PUT', '/api/v1/flags/no.such_flag', { key: acmeAdmin.key, body: { enabled: true } })).status).toBe(403);
    const denied = await eventually(
      async () => {
        const a = await admin('GET', `/api/v1/audit?outcome=denied&action=${encodeURIComponent('PUT /api/v1/flags/:name')}&limit=50`);
        const mine = (a.body.items as Array<{ actor: string; tenantId: string; targetId: string; details: { needed?: string } }>).filter(
          (e) => e.actor.includes(acmeAdmin.id),
        );
        return mine.length >= 4 ? mine : undefined;
      },
      { description: 'the refused flag changes in the audit log' },
    );
    expect(denied[0]).toMatchObject({
      tenantId: 'acme',
      targetId: expect.any(String),
      details: { code: 'FORBIDDEN', needed: 'platform tenant' },
    });
    const doc = await call(gw.url, 'GET', '/api/docs-json');
    expect(doc.body.paths['/api/v1/flags/{name}'].put.responses['403'].description).toContain('platform tenant');
  });
});

describe('live stream', () => {
  it('refuses upgrades without a valid key (401), with a foreign tenant filter (400), on other paths (404)', async () => {
    expect((await refusedUpgrade('')).status).toBe(401);
    expect((await refusedUpgrade('?token=nope')).status).toBe(401);
    const v = await createKey({ name: 'stream viewer', role: 'viewer' });
    expect((await refusedUpgrade(`?token=${v.key}&tenant=acme`)).status).toBe(400);
    expect((await refusedUpgrade(`?token=${v.key}&colour=red`)).status).toBe(400);
    const other = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/api/v1/elsewhere?token=${v.key}`);
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(other).toBe(404);
    const plain = await call(gw.url, 'GET', '/api/v1/stream');
    expect(plain.status).toBe(426);
    expect(plain.headers.get('upgrade')).toBe('websocket');
    expect(plain.body).toEqual({ code: 'VALIDATION_FAILED', message: expect.any(String), details: { upgrade: 'websocket' } });
  });

  it('documents the 426 of a plain GET with the code it really answers (a known error code)', async () => {
    const plain = await call(gw.url, 'GET', '/api/v1/stream');
    const doc = await call(gw.url, 'GET', '/api/docs-json');
    const documented = doc.body.paths['/api/v1/stream'].get.responses['426'];
    expect(documented.description).toMatch(new RegExp(`^${plain.body.code as string} `));
    expect(documented.description).not.toContain('UPGRADE_REQUIRED');
    expect(documented.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    expect(ERROR_CODES).toHaveProperty(plain.body.code as string);
  });

  it("streams {type, ts, data} of the key's tenant only, filtered by kind, task and agent; header auth works too", async () => {
    const v = await createKey({ name: 'stream viewer 2', role: 'viewer' });
    const all = await openStream(`?token=${encodeURIComponent(v.key)}`);
    const tasksOnly = await openStream(`?token=${encodeURIComponent(v.key)}&kind=task.succeeded&task=${TASK_ID}`);
    const byHeader = new WebSocket(`${gw.url.replace('http', 'ws')}/api/v1/stream?agent=fetcher-1`, {
      headers: { authorization: `Bearer ${v.key}` },
    });
    sockets.push(byHeader);
    const agentMsgs: Array<{ type: string; data: Record<string, unknown> }> = [];
    byHeader.on('message', (d) => agentMsgs.push(JSON.parse(text(d)) as (typeof agentMsgs)[number]));
    await eventually(() => agentMsgs.some((m) => m.type === 'stream.ready'), { description: 'header-authenticated stream ready' });
    expect(all.messages[0]).toMatchObject({ type: 'stream.ready', data: { tenantId: 'default' } });

    await eventually(
      async () => {
        await publishEvents([
          event('task.succeeded', 'acme', { taskId: TASK_ID, capability: 'x' }),
          event('task.running', 'default', { taskId: TASK_ID, capability: 'x' }),
          event('task.succeeded', 'default', { taskId: randomUUID(), capability: 'x' }),
          event('task.succeeded', 'default', { taskId: TASK_ID, capability: 'x' }),
          event('agent.registered', 'default', { agentId: 'fetcher-1' }),
        ]);
        return tasksOnly.messages.some((m) => m.type === 'task.succeeded');
      },
      { description: 'events reach the stream (the gateway consumer may start after the first publish)', intervalMs: 300 },
    );
    await eventually(
      () => all.messages.some((m) => m.type === 'agent.registered') && agentMsgs.some((m) => m.type === 'agent.registered'),
      {
        description: 'agent event',
      },
    );
    const events = all.messages.filter((m) => m.type !== 'stream.ready');
    for (const m of events) {
      expect(Object.keys(m).sort()).toEqual(['data', 'ts', 'type']);
      expect(m.data.tenantId).toBe('default');
    }
    for (const m of tasksOnly.messages.filter((x) => x.type !== 'stream.ready')) {
      expect(m).toMatchObject({ type: 'task.succeeded', data: { taskId: TASK_ID } });
    }
    expect(agentMsgs.filter((m) => m.type !== 'stream.ready').every((m) => m.data.agentId === 'fetcher-1')).toBe(true);

    // filters can change on a live connection
    all.ws.send(JSON.stringify({ type: 'subscribe', filters: { kind: 'agent' } }));
    await eventually(() => all.messages.filter((m) => m.type === 'stream.ready').length === 2, { description: 're-subscribed' });
    all.ws.send('not json');
    await eventually(() => all.messages.some((m) => m.type === 'stream.error'), { description: 'error frame' });
  });

  it('closes the streams of a revoked key (4401)', async () => {
    const k = await createKey({ name: 'stream revoke', role: 'viewer' });
    const s = await openStream(`?token=${encodeURIComponent(k.key)}`);
    expect((await admin('DELETE', `/api/v1/api-keys/${k.id}`)).status).toBe(200);
    expect(await s.closed).toBe(4401);
  });
});

describe('alerts', () => {
  it('refuses a threshold outside the range of its kind (400 VALIDATION_FAILED on threshold), on create and on change', async () => {
    const create = (kind: string, threshold: number): Promise<ApiResponse> =>
      admin('POST', '/api/v1/alerts/rules', {
        body: { name: `range ${kind} ${threshold}`, kind, threshold, enabled: false, channels: [] },
      });
    for (const [kind, threshold, range] of [
      ['error_rate', 5, /ratio.*from 0 to 1/],
      ['error_rate', 1.01, /ratio.*from 0 to 1/],
      ['budget_near_limit', 90, /ratio.*from 0 to 1/],
      ['dead_letter_growth', 0, /count.*integer from 1/],
      ['dead_letter_growth', 2.5, /count.*integer from 1/],
    ] as const) {
      const r = await create(kind, threshold);
      expect({ kind, threshold, status: r.status, code: r.body.code }).toEqual({ kind, threshold, status: 400, code: 'VALIDATION_FAILED' });
      expect(r.body.details.violations).toEqual([
        { path: 'threshold', message: expect.stringMatching(range), constraint: 'thresholdRange' },
      ]);
      expect(r.body.message).toContain(kind);
    }
    const made: string[] = [];
    for (const [kind, threshold] of [
      ['error_rate', 0.25],
      ['error_rate', 1],
      ['budget_near_limit', 0.8],
      ['dead_letter_growth', 3],
      ['sla_missed', 30_000],
    ] as const) {
      const r = await create(kind, threshold);
      expect({ kind, threshold, status: r.status }).toEqual({ kind, threshold, status: 201 });
      expect(r.body.threshold).toBe(threshold);
      made.push(r.body.id as string);
    }
    const agentDied = await admin('POST', '/api/v1/alerts/rules', {
      body: { name: 'no threshold', kind: 'agent_died', enabled: false, channels: [] },
    });
    expect(agentDied.status).toBe(201);
    made.push(agentDied.body.id as string);
    // a change is checked against the stored rule's kind
    const patched = await admin('PATCH', `/api/v1/alerts/rules/${made[0]!}`, { body: { threshold: 5 } });
    expect(patched.status).toBe(400);
    expect(patched.body.details.violations).toEqual([expect.objectContaining({ path: 'threshold' })]);
    expect((await admin('GET', `/api/v1/alerts/rules/${made[0]!}`)).body.threshold).toBe(0.25);
    expect((await admin('PATCH', `/api/v1/alerts/rules/${made[0]!}`, { body: { threshold: 0.75 } })).body.threshold).toBe(0.75);
    // kinds that use no threshold keep a value and ignore it
    expect((await admin('PATCH', `/api/v1/alerts/rules/${agentDied.body.id as string}`, { body: { threshold: 2 } })).status).toBe(200);
    for (const id of made) expect((await admin('DELETE', `/api/v1/alerts/rules/${id}`)).status).toBe(200);
  });

  it('a dead-letter rule fires to a webhook (retried once), a Slack-compatible hook and SMTP; shown on the stream and in the API', async () => {
    const stream = await openStream(`?token=${encodeURIComponent(ADMIN)}&kind=alert`);
    const rule = await admin('POST', '/api/v1/alerts/rules', {
      body: {
        name: 'dead letters piling up',
        kind: 'dead_letter_growth',
        threshold: 2,
        windowMs: 60_000,
        cooldownMs: 0,
        severity: 'critical',
        channels: [
          { type: 'webhook', url: `${webhook.url}/generic` },
          { type: 'slack', url: `${webhook.url}/slack` },
          { type: 'email', to: ['oncall@swarm.test'] },
        ],
      },
    });
    expect(rule.status).toBe(201);
    expect(rule.body).toMatchObject({ kind: 'dead_letter_growth', threshold: 2, severity: 'critical', enabled: true });
    webhook.failNext(1);
    // the evaluator holds the lease and knows the rule before events count
    await eventually(
      async () => {
        await publishEvents([event('task.dead_lettered', 'default', { taskId: randomUUID(), capability: 'data.fetch' })]);
        await publishEvents([event('task.dead_lettered', 'default', { taskId: randomUUID(), capability: 'data.fetch' })]);
        const alerts = await admin('GET', `/api/v1/alerts?ruleId=${rule.body.id}`);
        return alerts.body.items.length > 0;
      },
      { description: 'alert fired', intervalMs: 300, timeoutMs: 15_000 },
    );

    const generic = await eventually(() => webhook.received.filter((r) => r.path === '/generic' && r.body), {
      description: 'generic webhook',
    });
    await eventually(() => webhook.received.filter((r) => r.path === '/generic').length >= 2, {
      description: 'webhook retried after a 500',
    });
    expect(generic[0]!.body).toMatchObject({
      type: 'alert.fired',
      alert: { kind: 'dead_letter_growth', severity: 'critical', tenantId: 'default', ruleId: rule.body.id },
    });
    const slack = await eventually(() => webhook.received.find((r) => r.path === '/slack'), { description: 'slack webhook' });
    expect(Object.keys(slack.body as object)).toEqual(['text']);
    expect((slack.body as { text: string }).text).toContain('[CRITICAL]');
    const mail = await eventually(() => smtp.messages[0], { description: 'e-mail' });
    expect(mail).toMatchObject({ from: 'alerts@swarm.test', to: ['oncall@swarm.test'] });
    expect(mail.subject).toContain('[critical]');
    expect(mail.data).toContain('dead-lettered');

    const done = await eventually(
      async () => {
        const a = await admin('GET', `/api/v1/alerts?ruleId=${rule.body.id}`);
        const first = a.body.items[a.body.items.length - 1];
        return first.deliveries.every((d: { state: string }) => d.state === 'delivered') ? first : undefined;
      },
      { description: 'every delivery delivered' },
    );
    const webhookDelivery = done.deliveries.find((d: { channel: string }) => d.channel === 'webhook');
    expect(webhookDelivery).toMatchObject({ attempts: 2, lastError: null });
    await eventually(() => stream.messages.some((m) => m.type === 'alert.fired' && m.data.ruleId === rule.body.id), {
      description: 'alert.fired on the stream',
    });
  });

  it('agent_died fires per agent; a failing channel is retried then marked failed; rules can be tested, changed and deleted', async () => {
    const rule = await admin('POST', '/api/v1/alerts/rules', {
      body: {
        name: 'agent died',
        kind: 'agent_died',
        cooldownMs: 0,
        channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/unreachable' }],
      },
    });
    expect(rule.status).toBe(201);
    await eventually(
      async () => {
        await publishEvents([event('agent.state_changed', 'default', { agentId: 'worker-7', from: 'unresponsive', to: 'dead' })]);
        const a = await admin('GET', `/api/v1/alerts?ruleId=${rule.body.id}`);
        return a.body.items.length > 0;
      },
      { description: 'agent_died alert', intervalMs: 300 },
    );
    const failed = await eventually(
      async () => {
        const a = await admin('GET', `/api/v1/alerts?ruleId=${rule.body.id}&kind=agent_died`);
        const d = a.body.items[0].deliveries[0];
        return d.state === 'failed' ? d : undefined;
      },
      { description: 'delivery failed after its retries' },
    );
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toEqual(expect.any(String));
    const one = await admin('GET', `/api/v1/alerts?ruleId=${rule.body.id}`);
    expect(one.body.items[0].title).toContain('worker-7');

    const patched = await admin('PATCH', `/api/v1/alerts/rules/${rule.body.id}`, {
      body: { enabled: false, channels: [{ type: 'webhook', url: `${webhook.url}/test` }] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.enabled).toBe(false);
    const tested = await admin('POST', `/api/v1/alerts/rules/${rule.body.id}/test`);
    expect(tested.status).toBe(201);
    await eventually(() => webhook.received.some((r) => r.path === '/test'), { description: 'test alert delivered' });
    expect((await admin('PATCH', `/api/v1/alerts/rules/${rule.body.id}`, { body: { channels: [{ type: 'email' }] } })).status).toBe(400);
    expect((await admin('DELETE', `/api/v1/alerts/rules/${rule.body.id}`)).status).toBe(200);
    expect((await admin('GET', `/api/v1/alerts/rules/${rule.body.id}`)).status).toBe(404);
  });
});

describe('CLI: swarm keys | flags | alerts | audit | whoami', () => {
  async function swarm(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await cli([...argv, '--url', gw.url, '--api-key', ADMIN], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env: {},
      cwd: process.cwd(),
      readStdin: async () => '',
      readFile: async () => '',
    });
    return { code, out, err };
  }

  it('manages keys: create (shown once), list, rotate, revoke', async () => {
    const created = await swarm('keys', 'create', '--name', 'from cli', '--role', 'viewer', '--rate-limit', '100', '--json');
    expect(created.code).toBe(0);
    const s = JSON.parse(created.out) as { key: string; apiKey: { id: string } };
    expect(s.key).toMatch(API_KEY_FORMAT_RE);
    const human = await swarm('keys', 'create', '--name', 'human', '--role', 'operator');
    expect(human.out).toContain('only time the key is shown');
    const list = await swarm('keys');
    expect(list.out).toContain('from cli');
    expect(list.out).not.toContain(s.key);
    const rotated = await swarm('keys', 'rotate', s.apiKey.id, '--json');
    const r = JSON.parse(rotated.out) as { key: string };
    expect((await call(gw.url, 'GET', '/api/v1/queues', { key: s.key })).status).toBe(401);
    expect((await call(gw.url, 'GET', '/api/v1/queues', { key: r.key })).status).toBe(200);
    const rotatedId = (JSON.parse(rotated.out) as { apiKey: { id: string } }).apiKey.id;
    expect((await swarm('keys', 'revoke', rotatedId)).code).toBe(0);
    expect((await call(gw.url, 'GET', '/api/v1/queues', { key: r.key })).status).toBe(401);
    const bad = await swarm('keys', 'create', '--name', 'x', '--role', 'root');
    expect(bad.code).toBe(2);
    const missing = await swarm('keys', 'revoke', randomUUID());
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('NOT_FOUND');
  });

  it('shows and sets flags, manages alert rules, reads the audit log, whoami', async () => {
    expect((await swarm('flags')).out).toContain('optimizer.auto_apply');
    const set = await swarm('flags', 'set', 'optimizer.auto_apply', 'on');
    expect(set.out).toBe('optimizer.auto_apply is on\n');
    expect((await swarm('flags', 'set', 'optimizer.auto_apply', 'maybe')).code).toBe(2);
    const off = await swarm('flags', 'set', 'optimizer.auto_apply', 'off', '--json');
    expect(JSON.parse(off.out)).toMatchObject({ name: 'optimizer.auto_apply', enabled: false });

    const created = await swarm(
      'alerts',
      'create',
      '--name',
      'cli rule',
      '--kind',
      'error_rate',
      '--threshold',
      '0.25',
      '--webhook',
      `${webhook.url}/cli`,
      '--email',
      'a@swarm.test',
      '--json',
    );
    expect(created.code).toBe(0);
    const rule = JSON.parse(created.out) as { id: string; channels: unknown[] };
    expect(rule.channels).toHaveLength(2);
    expect((await swarm('alerts', 'rules')).out).toContain('cli rule');
    expect((await swarm('alerts', 'test', rule.id)).code).toBe(0);
    await eventually(() => webhook.received.some((x) => x.path === '/cli'), { description: 'CLI test alert delivered' });
    expect((await swarm('alerts')).out).toContain('Test alert: cli rule');
    expect((await swarm('alerts', 'delete', rule.id)).code).toBe(0);

    const audit = await swarm('audit', '--action', 'POST /api/v1/alerts/rules', '--json');
    expect((JSON.parse(audit.out) as { items: unknown[] }).items.length).toBeGreaterThan(0);
    const who = await swarm('whoami', '--json');
    expect(JSON.parse(who.out)).toEqual({ tenantId: 'default', role: 'admin', keyId: 'bootstrap', name: 'bootstrap admin key' });
  });
});

describe('OpenAPI document', () => {
  it('validates and lists every route of the gateway', async () => {
    const r = await call(gw.url, 'GET', '/api/docs-json');
    expect(r.status).toBe(200);
    expect(validateOpenApi(r.body)).toEqual([]);
    const routes = registeredRoutes(gw.app);
    expect(routes.length).toBeGreaterThan(30);
    const missing = routes.filter((x) => !r.body.paths[x.path]?.[x.method]).map((x) => `${x.method.toUpperCase()} ${x.path}`);
    expect(missing).toEqual([]);
    for (const p of [
      '/api/v1/api-keys',
      '/api/v1/audit',
      '/api/v1/flags',
      '/api/v1/alerts',
      '/api/v1/alerts/rules',
      '/api/v1/stream',
      '/api/v1/auth/whoami',
    ]) {
      expect(r.body.paths[p]).toBeDefined();
    }
    expect(r.body.paths['/api/v1/api-keys'].post.responses['201'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ApiKeySecretDto',
    });
    const ui = await fetch(`${gw.url}/api/docs`);
    expect(ui.status).toBe(200);
  });
});

describe('audit log', () => {
  it('is admin-only and tenant-scoped', async () => {
    const op = await createKey({ name: 'audit op', role: 'operator' });
    expect((await api('GET', '/api/v1/audit', { key: op.key })).status).toBe(403);
    const acme = await createKey({ name: 'acme audit', role: 'admin', tenantId: 'acme' });
    const page = await api('GET', '/api/v1/audit?limit=500', { key: acme.key });
    expect(page.status).toBe(200);
    expect(page.body.items.every((e: { tenantId: string }) => e.tenantId === 'acme')).toBe(true);
  });

  it('completes entries with HOT updates (no index entries written per completion)', async () => {
    // the completion UPDATE touches no indexed column and new pages keep room for it (issue 9)
    const stats = async (): Promise<{ upd: number; hot: number }> => {
      const [row] = await gw.runtime.dataSource.query<Array<{ upd: number; hot: number }>>(
        `SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE schemaname = 'gateway' AND relname = 'audit_log'`,
      );
      return row ?? { upd: 0, hot: 0 };
    };
    const before = await stats();
    // audited by the interceptor: a pending entry first, completed (failed, 404) after
    for (let i = 0; i < 20; i++)
      expect((await admin('PUT', `/api/v1/flags/no.such.flag${i}`, { body: { enabled: true } })).status).toBe(404);
    // backends report their table statistics within about a second
    await eventually(async () => (await stats()).upd - before.upd >= 20, { description: '20 completions counted', timeoutMs: 15_000 });
    const after = await stats();
    expect(after.hot - before.hot).toBeGreaterThanOrEqual(0.9 * (after.upd - before.upd));
  });

  it('has a completed entry for every mutating call this file made (who, tenant, action, target, outcome, time, trace id)', async () => {
    const entries: Array<Record<string, unknown>> = [];
    await eventually(
      async () => {
        entries.length = 0;
        let cursor: string | null = null;
        do {
          const r = await admin('GET', `/api/v1/audit?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
          entries.push(...(r.body.items as Array<Record<string, unknown>>));
          cursor = r.body.nextCursor as string | null;
        } while (cursor);
        return entries.every((e) => e.outcome !== 'pending');
      },
      { description: 'no audit entry left pending' },
    );
    const byTrace = new Map(entries.map((e) => [e.traceId, e]));
    const missing = mutations.filter((m) => !byTrace.has(m.traceId));
    expect(missing).toEqual([]);
    for (const m of mutations) {
      const e = byTrace.get(m.traceId)!;
      expect(e.action).toMatch(new RegExp(`^${m.method} /api/v1/`));
      expect(e.httpStatus).toBe(m.status);
      expect(e.outcome).toBe(m.status < 400 ? 'succeeded' : m.status === 403 ? 'denied' : 'failed');
      expect(e.actor).toMatch(/^api-key:/);
      expect(e.at).toEqual(expect.any(String));
    }
    const created = entries.find((e) => e.action === 'POST /api/v1/api-keys' && e.outcome === 'succeeded');
    expect(created).toMatchObject({ targetType: 'api-keys', targetId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
});
