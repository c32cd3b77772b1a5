/**
 * The five services as real processes (built `dist/`), one temporary database, one namespace,
 * traces exported to an in-process OTLP receiver. Build first: `npx tsc -b tsconfig.build.json`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from 'nats';
import type { MigrationInterface } from 'typeorm';
import {
  createEnvelope,
  decodeEnvelope,
  encodeEnvelope,
  type FieldViolation,
  HealthCommands,
  namespacedSubject,
  type ReplyBody,
  SERVICE_NAMES,
  SERVICE_SCHEMAS,
  type ServiceName,
} from '@swarm-mesh/contracts';
import { HEADERS, type MeshBus } from '@swarm-mesh/messaging';
import { openServiceDataSource } from '@swarm-mesh/persistence';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  eventually,
  type OtlpReceiver,
  randomNamespace,
  REPO_ROOT,
  type ReceivedSpan,
  type RunningMesh,
  ServiceStartError,
  startMesh,
  startOtlpReceiver,
  startServiceProcess,
  type TestDatabase,
  testNatsUrl,
} from '@swarm-mesh/testing';

jest.setTimeout(180_000);

const OTLP_SERVER = 2;
const OTLP_CLIENT = 3;

const ns = randomNamespace('e');
let db: TestDatabase;
let receiver: OtlpReceiver;
let mesh: RunningMesh;
let bus: MeshBus;
let admin: Client;
let raw: NatsConnection;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startOtlpReceiver();
  admin = new Client({ connectionString: db.url });
  await admin.connect();
  bus = await connectTestBus({ namespace: ns, identity: 'client:e2e' });
  raw = await connect({ servers: testNatsUrl(), name: `e2e-raw:${ns}` });
  mesh = await startMesh({ namespace: ns, databaseUrl: db.url, otlpEndpoint: receiver.url });
});

afterAll(async () => {
  await mesh?.stopAll();
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
  await raw?.close();
  await receiver?.close();
  await admin?.end();
  await db?.drop();
});

function service(name: ServiceName) {
  const p = mesh.services[name];
  if (!p) throw new Error(`${name} was not started`);
  return p;
}

// ── a. health ─────────────────────────────────────────────────────────────

describe('GET /api/v1/health', () => {
  it('answers 200 with every service, NATS and Postgres ok', async () => {
    const res = await fetch(`${mesh.gatewayUrl}/api/v1/health`);
    const body = (await res.json()) as {
      status: string;
      services: Record<string, { status: string; instanceId?: string }>;
      nats: { status: string };
      postgres: { status: string };
    };
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(body.status).toBe('ok');
    expect(Object.keys(body.services).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const s of SERVICE_NAMES) expect(body.services[s]).toMatchObject({ status: 'ok', instanceId: expect.any(String) });
    expect(body.nats.status).toBe('ok');
    expect(body.postgres.status).toBe('ok');
  });

  it("each service's own /health answers too", async () => {
    for (const s of SERVICE_NAMES.filter((x) => x !== 'gateway')) {
      const res = await fetch(`${service(s).url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ service: s, status: 'ok' });
    }
  });
});

// ── b. schema ownership ───────────────────────────────────────────────────

type MigrationClass = new () => MigrationInterface;

/** The migration classes in services/<name>/src/migrations, oldest first. */
function migrationsOf(name: ServiceName): MigrationClass[] {
  const dir = join(REPO_ROOT, 'services', name, 'src', 'migrations');
  const out: MigrationClass[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(dir, file)) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      if (typeof v === 'function' && typeof (v.prototype as { up?: unknown })?.up === 'function') out.push(v as MigrationClass);
    }
  }
  return out;
}

async function tablesBySchema(client: Client): Promise<Map<string, string[]>> {
  const r = await client.query<{ schema: string; table: string }>(
    `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  const out = new Map<string, string[]>();
  for (const row of r.rows) out.set(row.schema, [...(out.get(row.schema) ?? []), row.table]);
  return out;
}

describe('schema ownership', () => {
  it("each service's tables live only in its own schema, with its own migrations table; public is empty", async () => {
    const bySchema = await tablesBySchema(admin);
    const expectedSchemas = SERVICE_NAMES.map((s) => SERVICE_SCHEMAS[s]).sort();
    expect([...bySchema.keys()].sort()).toEqual(expectedSchemas);
    expect(bySchema.get('public')).toBeUndefined();
    const seen = new Map<string, string>();
    for (const s of SERVICE_NAMES) {
      const schema = SERVICE_SCHEMAS[s];
      const tables = bySchema.get(schema) ?? [];
      expect(tables).toContain('migrations');
      expect(tables.length).toBeGreaterThan(1);
      for (const t of tables.filter((x) => x !== 'migrations')) {
        // table names are disjoint across services, so a table says which service owns it
        expect(seen.get(t)).toBeUndefined();
        seen.set(t, s);
      }
      const applied = await admin.query<{ name: string }>(`SELECT name FROM "${schema}".migrations ORDER BY id`);
      expect(applied.rows.map((r) => r.name)).toEqual(migrationsOf(s).map((m) => new m().name ?? m.name));
    }
  });

  it("each service's migrations, run alone into an empty database, create exactly its tables and touch no other schema", async () => {
    const live = await tablesBySchema(admin);
    for (const s of SERVICE_NAMES) {
      const scratch = await createTestDatabase({ prefix: 'swarm_scratch' });
      const c = new Client({ connectionString: scratch.url });
      try {
        const ds = await openServiceDataSource({
          url: scratch.url,
          schema: SERVICE_SCHEMAS[s],
          entities: [],
          migrations: migrationsOf(s),
          poolMax: 2,
        });
        await ds.destroy();
        await c.connect();
        const alone = await tablesBySchema(c);
        expect([...alone.keys()]).toEqual([SERVICE_SCHEMAS[s]]);
        expect(alone.get(SERVICE_SCHEMAS[s])).toEqual(live.get(SERVICE_SCHEMAS[s]));
        const schemas = await c.query<{ n: string }>(
          `SELECT nspname AS n FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public') ORDER BY 1`,
        );
        expect(schemas.rows.map((r) => r.n)).toEqual([SERVICE_SCHEMAS[s]]);
      } finally {
        await c.end().catch(() => {});
        await scratch.drop();
      }
    }
  });

  it('every service holds Postgres sessions named after it', async () => {
    const r = await admin.query<{ app: string }>(
      `SELECT DISTINCT split_part(application_name, ':', 1) AS app FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    const apps = new Set(r.rows.map((x) => x.app));
    for (const s of SERVICE_NAMES) expect(apps.has(s)).toBe(true);
  });
});

// ── c. one trace across five services ─────────────────────────────────────

describe('tracing', () => {
  it('one health request yields one trace with spans from all five services, rooted at the gateway', async () => {
    const res = await fetch(`${mesh.gatewayUrl}/api/v1/health`);
    expect(res.status).toBe(200);
    // the gateway names the request's trace in x-trace-id
    const traceId = res.headers.get('x-trace-id') ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const remote = SERVICE_NAMES.filter((s) => s !== 'gateway');
    const trace = await eventually(
      () => {
        const spans = receiver.byTrace(traceId);
        const root = spans.find((s) => s.serviceName === 'gateway' && s.kind === OTLP_SERVER && s.parentSpanId === '');
        const complete = remote.every((svc) => spans.some((s) => s.serviceName === svc && s.name === `handle ${svc}.health`));
        return root && complete ? { root, spans } : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, description: `trace ${traceId} with spans from all five services` },
    );
    const { root, spans } = trace;
    expect(receiver.rejected()).toBe(0);
    expect(root.parentSpanId).toBe('');
    expect(root.traceId).toBe(traceId);
    expect(Object.values(root.attributes)).toContain('/api/v1/health');
    expect(root.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(SERVICE_NAMES));

    // a connected tree: every span but the root has its parent in the trace
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    expect(spans.filter((s) => s.parentSpanId === '')).toEqual([root]);
    for (const s of spans) if (s !== root) expect(byId.has(s.parentSpanId)).toBe(true);
    const ancestors = (s: ReceivedSpan): ReceivedSpan[] => {
      const out: ReceivedSpan[] = [];
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) out.push(p);
      return out;
    };

    for (const svc of remote) {
      const server = spans.find((s) => s.serviceName === svc && s.name === `handle ${svc}.health`)!;
      expect(server.kind).toBe(OTLP_SERVER);
      expect(server.attributes['messaging.system']).toBe('nats');
      const parent = byId.get(server.parentSpanId)!;
      expect(parent).toMatchObject({ serviceName: 'gateway', kind: OTLP_CLIENT, name: `request ${svc}.health` });
      expect(ancestors(server)).toContain(root);
    }
  });
});

// ── d. malformed input on service subjects ────────────────────────────────

describe('malformed NATS input', () => {
  const rawRequest = async (
    subject: string,
    data: Uint8Array,
    hdrs?: ReturnType<typeof natsHeaders>,
  ): Promise<{ msg: Msg; body: ReplyBody<unknown> }> => {
    const msg = await raw.request(subject, data, { timeout: 5_000, ...(hdrs ? { headers: hdrs } : {}) });
    return { msg, body: decodeEnvelope(msg.data, {}, Number.POSITIVE_INFINITY).body as unknown as ReplyBody<unknown> };
  };
  const envelopeBytes = (svc: ServiceName, body: Record<string, unknown>): Uint8Array =>
    encodeEnvelope(createEnvelope({ from: 'client:e2e-raw', to: svc, type: `${svc}.health`, body }));

  it.each(['coordinator', 'conflict-resolver'] as const)(
    '%s answers every bad request with a coded error and keeps serving',
    async (svc) => {
      const subject = namespacedSubject(ns, HealthCommands[svc].subject);
      expect(subject).toBe(`${ns}.swarm.cmd.${svc}.health`);
      const cases: Array<{ what: string; data: Uint8Array; code: string; path?: string }> = [
        { what: 'malformed JSON', data: Buffer.from('{"id": "abc", "body": {'), code: 'MALFORMED_JSON' },
        { what: 'wrong types in the body', data: envelopeBytes(svc, { deep: 'yes' }), code: 'VALIDATION_FAILED', path: 'deep' },
        { what: 'unknown field', data: envelopeBytes(svc, { bogus: 1 }), code: 'VALIDATION_FAILED', path: 'bogus' },
        { what: 'envelope missing fields', data: Buffer.from(JSON.stringify({ body: {} })), code: 'INVALID_ENVELOPE' },
        {
          what: 'oversized payload (> 16 KiB, < 1 MB)',
          data: envelopeBytes(svc, { deep: true, pad: 'x'.repeat(20 * 1024) }),
          code: 'PAYLOAD_TOO_LARGE',
        },
        {
          what: 'prototype key',
          data: Buffer.from(
            encodeEnvelope(createEnvelope({ from: 'x', to: svc, type: 't', body: { p: 1 } }))
              .toString()
              .replace('"p"', '"__proto__"'),
          ),
          code: 'VALIDATION_FAILED',
        },
      ];
      for (const c of cases) {
        const { msg, body } = await rawRequest(subject, c.data);
        try {
          expect(body.ok).toBe(false);
          const error = (
            body as { ok: false; error: { code: string; message: string; retryable: boolean; details?: { violations?: FieldViolation[] } } }
          ).error;
          expect(error.code).toBe(c.code);
          expect(typeof error.message).toBe('string');
          expect(error.retryable).toBe(false);
          if (c.path) expect(error.details?.violations?.map((v) => v.path)).toContain(c.path);
          expect(msg.headers?.get(HEADERS.errorCode)).toBe(c.code);
        } catch (err) {
          throw new Error(`${svc}, ${c.what}: ${(err as Error).message}`);
        }
      }
      const ok = await bus.request(HealthCommands[svc], {});
      expect(ok).toMatchObject({ service: svc, status: 'ok' });
      expect(service(svc).exited()).toBe(false);
      expect((await fetch(`${service(svc).url}/health`)).status).toBe(200);
    },
  );

  it('a request without a reply subject, or with a garbage traceparent, does no harm', async () => {
    raw.publish(namespacedSubject(ns, HealthCommands.coordinator.subject), Buffer.from('garbage'));
    await raw.flush();
    const h = natsHeaders();
    h.set('traceparent', 'not-a-traceparent');
    const { body } = await rawRequest(namespacedSubject(ns, HealthCommands.coordinator.subject), envelopeBytes('coordinator', {}), h);
    expect(body).toMatchObject({ ok: true, data: { service: 'coordinator' } });
    expect(service('coordinator').exited()).toBe(false);
  });
});

// ── e. bad configuration ──────────────────────────────────────────────────

describe('bad configuration', () => {
  it('a service with bad settings exits non-zero at once, naming every bad variable', async () => {
    const started = Date.now();
    const err = await startServiceProcess('coordinator', {
      namespace: ns,
      databaseUrl: db.url,
      env: { DB_POOL_MAX: 'abc', NATS_URL: 'http://x', LOG_LEVEL: 'info' },
      readyTimeoutMs: 30_000,
    }).then(
      async (p) => {
        await p.kill();
        throw new Error('the service started despite a bad configuration');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServiceStartError);
    const e = err as ServiceStartError;
    expect(e.exit?.code).not.toBe(0);
    expect(e.exit?.code).not.toBeNull();
    expect(e.output).toMatch(/DB_POOL_MAX: must be an integer, got "abc"/);
    expect(e.output).toMatch(/NATS_URL: "http:\/\/x" must use nats:\/\//);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a bad namespace stops the gateway too', async () => {
    const err = await startServiceProcess('gateway', {
      namespace: ns,
      databaseUrl: db.url,
      env: { SWARM_NAMESPACE: 'Bad.NS', GATEWAY_BODY_LIMIT_BYTES: '12' },
    }).then(
      async (p) => {
        await p.kill();
        throw new Error('the gateway started despite a bad configuration');
      },
      (e: unknown) => e as ServiceStartError,
    );
    expect(err.exit?.code).toBe(1);
    expect(err.output).toMatch(/SWARM_NAMESPACE: must match/);
    expect(err.output).toMatch(/GATEWAY_BODY_LIMIT_BYTES: must be ≥ 1024/);
  });
});

// ── f. REST errors and OpenAPI ────────────────────────────────────────────

describe('REST error shape and OpenAPI', () => {
  it('an unknown route is 404 ROUTE_NOT_FOUND with {code, message, details}', async () => {
    const res = await fetch(`${mesh.gatewayUrl}/api/v1/no-such-thing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['code', 'details', 'message']);
    expect(body).toMatchObject({ code: 'ROUTE_NOT_FOUND', message: expect.any(String), details: {} });
  });

  it('a malformed JSON body is 400 MALFORMED_JSON', async () => {
    const res = await fetch(`${mesh.gatewayUrl}/api/v1/health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"capability": "x",',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'MALFORMED_JSON', message: expect.any(String), details: {} });
  });

  it('GET /api/docs-json is an OpenAPI 3 document listing /api/v1/health', async () => {
    const res = await fetch(`${mesh.gatewayUrl}/api/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; operationId?: string }>>;
    };
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    expect(doc.paths['/api/v1/health']?.get).toBeDefined();
    const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path.startsWith('/')).toBe(true);
      for (const [method, op] of Object.entries(item)) {
        if (!methods.has(method)) continue;
        expect(op.responses && Object.keys(op.responses).length).toBeGreaterThan(0);
      }
    }
    // ops endpoints stay out of the public document
    expect(doc.paths['/health']).toBeUndefined();
    expect(doc.paths['/metrics']).toBeUndefined();
  });
});
