/**
 * The harness tests itself: polling, namespaces, temporary databases, the OTLP receiver (fed by
 * the real OTLP/HTTP exporter), and the private nats-server (config file, restart, kill).
 */
import { gzipSync } from 'node:zlib';
import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { connect } from 'nats';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  createTestDatabase,
  eventually,
  normaliseId,
  randomNamespace,
  REPO_ROOT,
  serviceScript,
  startOtlpReceiver,
  startPrivateNats,
  startServiceProcess,
  ServiceStartError,
} from '@swarm-mesh/testing';
import { validateNamespace } from '@swarm-mesh/contracts';

jest.setTimeout(60_000);

describe('eventually', () => {
  it('resolves with the first truthy value', async () => {
    let n = 0;
    await expect(eventually(() => (++n >= 3 ? `done after ${n}` : undefined), { intervalMs: 1 })).resolves.toBe('done after 3');
  });

  it('treats throws as "not yet"', async () => {
    let n = 0;
    const v = await eventually(
      async () => {
        if (++n < 3) throw new Error('not yet');
        return n;
      },
      { intervalMs: 1 },
    );
    expect(v).toBe(3);
  });

  it('fails at the deadline with the description and the last error', async () => {
    await expect(
      eventually(
        () => {
          throw new Error('still broken');
        },
        { timeoutMs: 100, intervalMs: 10, description: 'the widget' },
      ),
    ).rejects.toThrow(/eventually: the widget not met within 100 ms .*last error: still broken/);
    await expect(eventually(() => 0, { timeoutMs: 50, intervalMs: 10 })).rejects.toThrow(/last value: 0/);
  });

  it('does not wait for an attempt that hangs past the deadline', async () => {
    const started = Date.now();
    await expect(eventually(() => new Promise<boolean>(() => {}), { timeoutMs: 100 })).rejects.toThrow(/did not settle in time/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('randomNamespace', () => {
  it('is a valid, short, unique namespace', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const ns = randomNamespace();
      expect(ns).toMatch(/^t[0-9a-f]{8}$/);
      expect(validateNamespace(ns)).toBe(ns);
      seen.add(ns);
    }
    expect(seen.size).toBe(200);
    expect(randomNamespace('e2e_')).toMatch(/^e2e_[0-9a-f]{8}$/);
    expect(() => randomNamespace('Bad')).toThrow(/invalid namespace prefix/);
  });
});

describe('createTestDatabase', () => {
  it('creates an empty database and drop() removes it even with open connections', async () => {
    const db = await createTestDatabase();
    expect(db.name).toMatch(/^swarm_test_t[0-9a-f]{8}$/);
    const c = new Client({ connectionString: db.url });
    await c.connect();
    c.on('error', () => {}); // the connection is terminated by drop()
    const r = await c.query<{ d: string }>('SELECT current_database() AS d');
    expect(r.rows[0]!.d).toBe(db.name);
    await db.drop();
    await db.drop(); // idempotent
    await c.end().catch(() => {});
    const admin = new Client({ connectionString: db.url.replace(`/${db.name}`, '/postgres') });
    await admin.connect();
    const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
    await admin.end();
    expect(left.rowCount).toBe(0);
  });
});

describe('startOtlpReceiver', () => {
  /** Runs the real exporter in a child process (see fixtures/export-spans.js). */
  const exportWith = async (url: string, compression?: 'gzip'): Promise<{ traceId: string; parentId: string; childId: string }> => {
    const args = [require.resolve('./fixtures/export-spans.js'), url, ...(compression ? [compression] : [])];
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: REPO_ROOT, timeout: 30_000 });
    return JSON.parse(stdout) as { traceId: string; parentId: string; childId: string };
  };

  it.each([undefined, 'gzip'] as const)(
    'receives spans from the real OTLP/HTTP exporter (compression %s) with hex ids',
    async (compression) => {
      const receiver = await startOtlpReceiver();
      try {
        const ids = await exportWith(receiver.url, compression);
        const spans = await eventually(() => (receiver.byTrace(ids.traceId).length === 2 ? receiver.byTrace(ids.traceId) : undefined));
        const parent = spans.find((s) => s.name === 'parent')!;
        const child = spans.find((s) => s.name === 'child')!;
        expect(parent).toMatchObject({
          traceId: ids.traceId,
          spanId: ids.parentId,
          parentSpanId: '',
          kind: 2,
          serviceName: `harness-${compression ?? 'plain'}`,
          attributes: { 'http.route': '/x', n: 3, ok: true, list: ['a', 'b'] },
        });
        expect(child).toMatchObject({ traceId: ids.traceId, spanId: ids.childId, parentSpanId: ids.parentId, kind: 3 });
        expect(BigInt(child.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(child.startTimeUnixNano));
        expect(receiver.rejected()).toBe(0);
        receiver.clear();
        expect(receiver.spans()).toEqual([]);
      } finally {
        await receiver.close();
      }
    },
  );

  it('accepts gzip bodies, normalises base64 ids, and refuses protobuf', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const traceHex = '0af7651916cd43dd8448eb211c80319c';
      const spanHex = 'b7ad6b7169203331';
      const body = {
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'b64' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: Buffer.from(traceHex, 'hex').toString('base64'),
                    spanId: Buffer.from(spanHex, 'hex').toString('base64'),
                    name: 'legacy',
                    kind: 1,
                    attributes: [{ key: 'i', value: { intValue: '42' } }],
                  },
                ],
              },
            ],
          },
        ],
      };
      const res = await fetch(`${receiver.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(body)),
      });
      expect(res.status).toBe(200);
      expect(receiver.spans()).toEqual([
        expect.objectContaining({
          traceId: traceHex,
          spanId: spanHex,
          parentSpanId: '',
          name: 'legacy',
          serviceName: 'b64',
          attributes: { i: 42 },
        }),
      ]);
      const proto = await fetch(`${receiver.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: 'x',
      });
      expect(proto.status).toBe(415);
      const garbage = await fetch(`${receiver.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      expect(garbage.status).toBe(400);
      expect(receiver.rejected()).toBe(2);
      expect((await fetch(`${receiver.url}/other`)).status).toBe(404);
    } finally {
      await receiver.close();
    }
  });

  it('normaliseId accepts hex (any case) and base64', () => {
    expect(normaliseId('0AF7651916CD43DD8448EB211C80319C')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(normaliseId(Buffer.from('b7ad6b7169203331', 'hex').toString('base64'))).toBe('b7ad6b7169203331');
    expect(normaliseId('')).toBe('');
    expect(normaliseId(undefined)).toBe('');
  });
});

describe('startPrivateNats', () => {
  it('runs a private server with its own config, survives restart with its JetStream store, and can be killed', async () => {
    const nats = await startPrivateNats({ config: 'authorization { token: "s3cret" }\nmax_payload: 4096\n' });
    try {
      expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(nats.port).not.toBe(4222);
      // the config applies: no token, no connection
      await expect(connect({ servers: nats.url, reconnect: false, timeout: 2_000 })).rejects.toThrow(/Authorization/i);
      const nc = await connect({ servers: nats.url, token: 's3cret', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      expect(nc.info?.max_payload).toBe(4096);
      // short API timeout: a call made while the client is still reconnecting fails fast and is retried
      const jsm = await nc.jetstreamManager({ timeout: 500 });
      await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
      await nc.jetstream().publish('keep.a', Buffer.from('1'));

      await nats.restart();
      expect(nats.running()).toBe(true);
      await eventually(async () => (await jsm.streams.info('KEEP')).state.messages === 1, { description: 'stream back after restart' });

      await nats.kill();
      expect(nats.running()).toBe(false);
      await nats.restart();
      await eventually(async () => (await jsm.streams.info('KEEP')).state.messages === 1, { description: 'stream back after kill -9' });
      expect(nats.logs().some((l) => l.includes('Server is ready'))).toBe(true);
      await nc.close();
    } finally {
      await nats.close();
    }
    expect(existsSync(nats.dir)).toBe(false);
    expect(nats.running()).toBe(false);
  });
});

describe('startServiceProcess', () => {
  it('knows where the entry scripts are', () => {
    expect(serviceScript('coordinator')).toMatch(/services\/coordinator\/dist\/main\.js$/);
    expect(serviceScript('demo-swarm')).toMatch(/agents\/demo-swarm\/dist\/main\.js$/);
    expect(serviceScript('scripts/x.js')).toMatch(/\/scripts\/x\.js$/);
    expect(serviceScript('/abs/y.js')).toBe('/abs/y.js');
  });

  it('rejects with the captured output when the process exits before it is ready', async () => {
    const err = (await startServiceProcess('/no/such/script.js', { namespace: 'tx' }).catch((e: unknown) => e)) as ServiceStartError;
    expect(err).toBeInstanceOf(ServiceStartError);
    expect(err.message).toMatch(/does not exist/);
    const crash = (await startServiceProcess(require.resolve('./fixtures/crash.js'), { namespace: 'tx' }).catch(
      (e: unknown) => e,
    )) as ServiceStartError;
    expect(crash).toBeInstanceOf(ServiceStartError);
    expect(crash.exit).toEqual({ code: 3, signal: null });
    expect(crash.output).toContain('about to crash');
    expect(crash.output).toContain('[stderr] crashed on purpose');
  });

  it('resolves on the ready line, exposes logs, and stops with SIGTERM', async () => {
    const p = await startServiceProcess(require.resolve('./fixtures/ready.js'), { namespace: 'tx', env: { EXTRA: 'yes' } });
    try {
      expect(p.port).toBe(4321);
      expect(p.url).toBe('http://127.0.0.1:4321');
      expect(p.logs().some((l) => l.includes('"EXTRA":"yes"'))).toBe(true);
      expect(p.logs().some((l) => l.includes('"ns":"tx"'))).toBe(true);
      expect(p.exited()).toBe(false);
    } finally {
      const exit = await p.stop();
      expect(exit).toEqual({ code: 0, signal: null });
    }
    expect(p.exited()).toBe(true);
  });
});
