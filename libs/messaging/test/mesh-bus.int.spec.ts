/**
 * MeshBus against the real NATS server: typed request/reply, queue groups, coded errors,
 * trace context on the wire, pub/sub validation, and the JetStream helpers. Everything lives in
 * this file's own namespace; streams are deleted in afterAll.
 */
import { randomUUID } from 'node:crypto';
import { IsIn, IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  createEnvelope,
  decodeEnvelope,
  defineCommand,
  defineMessage,
  encodeEnvelope,
  eventSubject,
  type FieldViolation,
  type ReplyBody,
  SwarmError,
} from '@swarm-mesh/contracts';
import {
  type BatchConsumerHandle,
  type BatchItem,
  ensureConsumer,
  ensureStream,
  HEADERS,
  type MeshBus,
  startBatchConsumer,
  type StreamSpec,
} from '@swarm-mesh/messaging';
import { SpanKind, startTelemetry, type TelemetryHandle, withSpan } from '@swarm-mesh/telemetry';
import { cleanupNamespace, connectTestBus, deferred, type Deferred, eventually, randomNamespace } from '@swarm-mesh/testing';
import { headers as natsHeaders, type Msg } from 'nats';

jest.setTimeout(60_000);

// ── test-only contracts ───────────────────────────────────────────────────

const MODES = ['ok', 'swarm', 'retryable-conflict', 'plain', 'hang'] as const;

class EchoRequest {
  @IsString()
  @Length(1, 5000)
  text!: string;

  @IsOptional()
  @IsIn(MODES)
  mode?: (typeof MODES)[number];
}

class EchoReply {
  @IsString()
  text!: string;

  @IsString()
  handledBy!: string;

  @IsOptional()
  @IsString()
  traceId?: string;

  @IsOptional()
  @IsString()
  from?: string;

  @IsOptional()
  @IsString()
  subject?: string;
}

const Echo = defineCommand({
  service: 'coordinator',
  command: 'test.echo',
  request: EchoRequest,
  reply: EchoReply,
  timeoutMs: 3_000,
  maxPayloadBytes: 4096,
  description: 'test-only echo',
});

/** Its handler answers a reply that breaks EchoReply (a bug on the answering side). */
const BadReply = defineCommand({
  service: 'coordinator',
  command: 'test.bad_reply',
  request: EchoRequest,
  reply: EchoReply,
  timeoutMs: 3_000,
  description: 'test-only, answers an invalid reply',
});

/** Nobody handles this one. */
const Nobody = defineCommand({
  service: 'coordinator',
  command: 'test.nobody',
  request: EchoRequest,
  reply: EchoReply,
  timeoutMs: 1_000,
  description: 'test-only, never handled',
});

class Note {
  @IsString()
  @Length(1, 200)
  text!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  n?: number;
}

const NoteMsg = defineMessage({ name: 'test.note', subject: eventSubject('test', 'note'), payload: Note, description: 'test-only note' });
const BatchMsg = defineMessage({
  name: 'test.batch',
  subject: eventSubject('test', 'batch'),
  payload: Note,
  description: 'test-only batch',
});
const RetryMsg = defineMessage({
  name: 'test.retry',
  subject: eventSubject('test', 'retry'),
  payload: Note,
  description: 'test-only retry',
});
const GatherMsg = defineMessage({
  name: 'test.gather',
  subject: eventSubject('test', 'gather'),
  payload: Note,
  description: 'test-only gather',
});
const DedupMsg = defineMessage({
  name: 'test.dedup',
  subject: eventSubject('test', 'dedup'),
  payload: Note,
  description: 'test-only dedup',
});

const STREAM: StreamSpec = { name: 'TEST_NOTES', subjects: ['swarm.evt.test.>'], retention: 'limits', storage: 'memory' };

// ── fixtures ──────────────────────────────────────────────────────────────

const ns = randomNamespace();
const exporter = new InMemorySpanExporter();
let telemetry: TelemetryHandle;
let client: MeshBus;
let serverA: MeshBus;
let serverB: MeshBus;
let stranger: MeshBus; // same definitions, another namespace: must never see our traffic
const handled = { a: 0, b: 0, stranger: 0, late: 0 };
const hangs: Array<Deferred<void>> = [];
const consumers: BatchConsumerHandle[] = [];

function echoHandler(who: 'a' | 'b' | 'stranger' | 'late') {
  return async (
    req: EchoRequest,
    ctx: { traceId: string | undefined; envelope: { from: string }; subject: string },
  ): Promise<EchoReply> => {
    handled[who]++;
    switch (req.mode) {
      case 'swarm':
        throw new SwarmError('OVERLOADED', 'shedding load', { queueDepth: 7 });
      case 'retryable-conflict':
        throw new SwarmError('CONFLICT', 'try again later', undefined, true);
      case 'plain':
        throw new Error('db password is hunter2');
      case 'hang': {
        const gate = deferred();
        hangs.push(gate);
        await gate.promise;
        break;
      }
      default:
        break;
    }
    return { text: req.text.toUpperCase(), handledBy: who, traceId: ctx.traceId, from: ctx.envelope.from, subject: ctx.subject };
  };
}

async function swarmErrorOf(p: Promise<unknown>): Promise<SwarmError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SwarmError) return err;
    throw err;
  }
  throw new Error('expected a SwarmError');
}

/** Sends raw bytes as a request and decodes the reply envelope. */
async function rawRequest(
  subject: string,
  data: Uint8Array | string,
  hdrs?: ReturnType<typeof natsHeaders>,
): Promise<{ msg: Msg; body: ReplyBody<unknown> }> {
  const msg = await client.nc.request(client.subject(subject), typeof data === 'string' ? Buffer.from(data) : data, {
    timeout: 3_000,
    ...(hdrs ? { headers: hdrs } : {}),
  });
  const env = decodeEnvelope(msg.data, {}, Number.POSITIVE_INFINITY);
  return { msg, body: env.body as unknown as ReplyBody<unknown> };
}

beforeAll(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  telemetry = startTelemetry({ serviceName: 'mesh-bus-test', exporter, instrumentHttp: false });
  client = await connectTestBus({ namespace: ns, identity: 'client:test' });
  serverA = await connectTestBus({ namespace: ns, identity: 'coordinator' });
  serverB = await connectTestBus({ namespace: ns, identity: 'coordinator' });
  stranger = await connectTestBus({ namespace: randomNamespace(), identity: 'coordinator' });
  serverA.handle(Echo, echoHandler('a'));
  serverA.handle(BadReply, () => Promise.resolve({ text: 5 } as unknown as EchoReply));
  serverB.handle(Echo, echoHandler('b'));
  stranger.handle(Echo, echoHandler('stranger'));
  // the subscriptions must have reached the server before the first request
  await Promise.all([serverA.nc.flush(), serverB.nc.flush(), stranger.nc.flush()]);
});

afterAll(async () => {
  for (const g of hangs) g.resolve();
  for (const c of consumers) await c.stop();
  if (client) {
    await cleanupNamespace(client);
    const jsm = await client.jsm();
    const left: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${ns.toUpperCase()}_`)) left.push(name);
    expect(left).toEqual([]);
  }
  await Promise.all([client, serverA, serverB, stranger].map((b) => b?.close()));
  await telemetry?.shutdown();
});

// ── request/reply ─────────────────────────────────────────────────────────

describe('commands', () => {
  it('round-trips a typed request and reply', async () => {
    const reply = await client.request(Echo, { text: 'hello' });
    expect(reply).toBeInstanceOf(EchoReply);
    expect(reply.text).toBe('HELLO');
    expect(['a', 'b']).toContain(reply.handledBy);
    expect(reply.from).toBe('client:test');
    expect(reply.subject).toBe('swarm.cmd.coordinator.test.echo'); // namespace stripped
  });

  it('splits requests between the handlers of the queue group, and nothing crosses namespaces', async () => {
    const before = { ...handled };
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => client.request(Echo, { text: `r${i}` })));
    const by = { a: handled.a - before.a, b: handled.b - before.b };
    expect(by.a + by.b).toBe(40);
    expect(by.a).toBeGreaterThan(0);
    expect(by.b).toBeGreaterThan(0);
    expect(replies.filter((r) => r.handledBy === 'a')).toHaveLength(by.a);
    expect(handled.stranger).toBe(0);
  });

  it('rejects invalid requests with VALIDATION_FAILED naming the field; the handler never runs', async () => {
    const before = handled.a + handled.b;
    const wrongType = await swarmErrorOf(client.request(Echo, { text: 5 } as unknown as EchoRequest));
    expect(wrongType.code).toBe('VALIDATION_FAILED');
    expect((wrongType.details?.violations as FieldViolation[]).map((v) => v.path)).toContain('text');
    const unknown = await swarmErrorOf(client.request(Echo, { text: 'x', bogus: 1 } as unknown as EchoRequest));
    expect(unknown.code).toBe('VALIDATION_FAILED');
    expect(unknown.details?.violations).toEqual([{ path: 'bogus', constraint: 'whitelistValidation', message: 'unknown field "bogus"' }]);
    expect(unknown.retryable).toBe(false);
    const tooBig = await swarmErrorOf(client.request(Echo, { text: 'x'.repeat(4500) }));
    expect(tooBig.code).toBe('PAYLOAD_TOO_LARGE');
    expect(handled.a + handled.b).toBe(before);
  });

  it('error replies keep their code, message, details and retryable flag', async () => {
    const e = await swarmErrorOf(client.request(Echo, { text: 'x', mode: 'swarm' }));
    expect(e.code).toBe('OVERLOADED');
    expect(e.message).toBe('shedding load');
    expect(e.details).toEqual({ queueDepth: 7 });
    expect(e.retryable).toBe(true);
    const c = await swarmErrorOf(client.request(Echo, { text: 'x', mode: 'retryable-conflict' }));
    expect(c.code).toBe('CONFLICT');
    expect(c.retryable).toBe(true); // overridden by the handler, not the code's default
  });

  it('a handler throwing a plain Error becomes INTERNAL without leaking its message', async () => {
    const e = await swarmErrorOf(client.request(Echo, { text: 'x', mode: 'plain' }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toBe('internal error');
    expect(e.retryable).toBe(false);
    expect(JSON.stringify(e.toWire())).not.toContain('hunter2');
    expect(e.details?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('error replies carry the Swarm-Error-Code header', async () => {
    const env = createEnvelope({ from: 'client:raw', to: 'coordinator', type: Echo.name, body: { text: 'x', mode: 'swarm' } });
    const { msg, body } = await rawRequest(Echo.subject, encodeEnvelope(env));
    expect(body).toMatchObject({ ok: false, error: { code: 'OVERLOADED', retryable: true } });
    expect(msg.headers?.get(HEADERS.errorCode)).toBe('OVERLOADED');
  });

  it("a reply that breaks its DTO is the answering service's fault: INTERNAL naming the field, not VALIDATION_FAILED", async () => {
    const e = await swarmErrorOf(client.request(BadReply, { text: 'x' }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toMatch(/^the reply to coordinator\.test\.bad_reply breaks its contract: /);
    expect(e.details).toMatchObject({
      replyError: 'VALIDATION_FAILED',
      violations: expect.arrayContaining([expect.objectContaining({ path: 'text' })]),
    });
  });

  it('maps "no responders" to SERVICE_UNAVAILABLE', async () => {
    const e = await swarmErrorOf(client.request(Nobody, { text: 'x' }));
    expect(e.code).toBe('SERVICE_UNAVAILABLE');
    expect(e.retryable).toBe(true);
  });

  it('with awaitResponderMs, a request to a singleton nobody answers yet is sent again until one does (its standby taking over)', async () => {
    const Later = defineCommand({
      service: 'coordinator',
      command: 'test.later',
      request: EchoRequest,
      reply: EchoReply,
      timeoutMs: 20_000,
      description: 'test-only, handled once the request has found no responder',
    });
    const late = await connectTestBus({ namespace: ns, identity: 'coordinator' });
    const sends = jest.spyOn(client.nc, 'request');
    try {
      const pending = client.request(Later, { text: 'wait for me' }, { awaitResponderMs: 15_000 });
      // the request has found nobody at least twice: now the service appears
      await eventually(() => sends.mock.calls.length >= 2, { description: 'the request sent again after "no responders"' });
      late.handle(Later, echoHandler('late'));
      const reply = await pending;
      expect(reply).toMatchObject({ text: 'WAIT FOR ME', handledBy: 'late' });
      // without it (the default), "no responders" fails at once: one send
      const before = sends.mock.calls.length;
      expect((await swarmErrorOf(client.request(Nobody, { text: 'x' }))).code).toBe('SERVICE_UNAVAILABLE');
      expect(sends.mock.calls.length - before).toBe(1);
      // and within the wait, a service that never comes is SERVICE_UNAVAILABLE after it
      const again = sends.mock.calls.length;
      const gone = await swarmErrorOf(client.request(Nobody, { text: 'x' }, { awaitResponderMs: 300 }));
      expect(gone.code).toBe('SERVICE_UNAVAILABLE');
      expect(sends.mock.calls.length - again).toBeGreaterThan(1);
      // a service that scales out has no standby gap: nobody there means not running, at once
      const Scaled = defineCommand({
        service: 'performance-optimizer',
        command: 'test.nobody',
        request: EchoRequest,
        reply: EchoReply,
        timeoutMs: 20_000,
        description: 'test-only, never handled',
      });
      const scaledBefore = sends.mock.calls.length;
      const absent = await swarmErrorOf(client.request(Scaled, { text: 'x' }, { awaitResponderMs: 15_000 }));
      expect(absent.code).toBe('SERVICE_UNAVAILABLE');
      expect(sends.mock.calls.length - scaledBefore).toBe(1);
    } finally {
      sends.mockRestore();
      await late.close();
    }
  });

  it('maps a missed deadline to TIMEOUT', async () => {
    const hangsBefore = hangs.length;
    const started = Date.now();
    const e = await swarmErrorOf(client.request(Echo, { text: 'x', mode: 'hang' }, { timeoutMs: 300 }));
    expect(e.code).toBe('TIMEOUT');
    expect(e.retryable).toBe(true);
    expect(e.details).toMatchObject({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2_500);
    await eventually(() => hangs.length > hangsBefore, { description: 'the hanging handler was called' });
    for (const g of hangs) g.resolve();
  });

  it('W3C trace context crosses the wire: the server span is a child of the client span', async () => {
    exporter.reset();
    let rootTrace = '';
    const reply = await withSpan('test root', {}, async (span) => {
      rootTrace = span.spanContext().traceId;
      return client.request(Echo, { text: 'trace' });
    });
    const spans = await eventually(
      () => {
        const all = exporter.getFinishedSpans();
        const c = all.find((s) => s.name === 'request coordinator.test.echo');
        const s = all.find((x) => x.name === 'handle coordinator.test.echo');
        return c && s ? { c, s } : undefined;
      },
      { description: 'client and server spans exported' },
    );
    const { c, s } = spans;
    expect(c.kind).toBe(SpanKind.CLIENT);
    expect(s.kind).toBe(SpanKind.SERVER);
    expect(c.spanContext().traceId).toBe(rootTrace);
    expect(s.spanContext().traceId).toBe(rootTrace);
    expect(s.parentSpanContext?.spanId).toBe(c.spanContext().spanId);
    expect(s.parentSpanContext?.isRemote).toBe(true);
    expect(s.attributes['swarm.message.type']).toBe('coordinator.test.echo');
    expect(reply.traceId).toBe(rootTrace);
  });

  it('the server continues a traceparent it received in raw headers', async () => {
    exporter.reset();
    const traceId = randomUUID().replace(/-/g, '');
    const parentId = randomUUID().replace(/-/g, '').slice(0, 16);
    const h = natsHeaders();
    h.set('traceparent', `00-${traceId}-${parentId}-01`);
    const env = createEnvelope({ from: 'client:raw', to: 'coordinator', type: Echo.name, body: { text: 'raw' } });
    const { msg, body } = await rawRequest(Echo.subject, encodeEnvelope(env), h);
    expect(body).toMatchObject({ ok: true, data: { text: 'RAW', traceId } });
    // the reply carries the server span's context back
    expect(msg.headers?.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const server = await eventually(() => exporter.getFinishedSpans().find((s) => s.name === 'handle coordinator.test.echo'));
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe(parentId);
  });
});

// ── one-way messages ──────────────────────────────────────────────────────

describe('publish / subscribe', () => {
  it('delivers valid messages and drops invalid ones without calling the handler', async () => {
    const received: Array<{ text: string; from: string }> = [];
    serverA.subscribe(NoteMsg, (body, ctx) => {
      received.push({ text: body.text, from: ctx.envelope.from });
    });
    await serverA.nc.flush();
    const subject = client.subject(NoteMsg.subject);
    const raw = (body: unknown): Uint8Array =>
      encodeEnvelope(createEnvelope({ from: 'client:raw', to: '*', type: NoteMsg.name, body: body as object }));
    client.nc.publish(subject, Buffer.from('{not json'));
    client.nc.publish(subject, raw({ text: 42 }));
    client.nc.publish(subject, raw({ text: 'ok', bogus: true }));
    client.nc.publish(subject, Buffer.from(JSON.stringify({ body: { text: 'no envelope' } })));
    client.publish(NoteMsg, { text: 'valid', n: 1 });
    client.nc.publish(subject, raw({ text: '' }));
    // same connection, same subscriber: once the sentinel is in, everything before it was handled
    client.publish(NoteMsg, { text: 'sentinel' });
    await eventually(() => received.some((r) => r.text === 'sentinel'), { description: 'sentinel received' });
    expect(received).toEqual([
      { text: 'valid', from: 'client:test' },
      { text: 'sentinel', from: 'client:test' },
    ]);
  });

  it('answers an invalid message with a coded error when the sender asked for a reply', async () => {
    const malformed = await rawRequest(NoteMsg.subject, '{oops');
    expect(malformed.body).toMatchObject({ ok: false, error: { code: 'MALFORMED_JSON' } });
    const env = createEnvelope({ from: 'client:raw', to: '*', type: NoteMsg.name, body: { text: 1 } });
    const invalid = await rawRequest(NoteMsg.subject, encodeEnvelope(env));
    expect(invalid.body).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
  });
});

// ── JetStream ─────────────────────────────────────────────────────────────

describe('JetStream', () => {
  const streamName = (): string => client.name(STREAM.name);

  it('ensureStream is idempotent, sequentially and concurrently, and updates changed settings', async () => {
    await ensureStream(client, STREAM);
    await ensureStream(client, STREAM);
    await Promise.all([ensureStream(client, STREAM), ensureStream(serverA, STREAM), ensureStream(serverB, STREAM)]);
    const jsm = await client.jsm();
    const info = await jsm.streams.info(streamName());
    expect(info.config.name).toBe(`${ns.toUpperCase()}_TEST_NOTES`);
    expect(info.config.subjects).toEqual([`${ns}.swarm.evt.test.>`]);
    const names: string[] = [];
    for await (const n of jsm.streams.names()) if (n.startsWith(`${ns.toUpperCase()}_`)) names.push(n);
    expect(names).toEqual([streamName()]);
    await ensureStream(client, { ...STREAM, maxAgeMs: 3_600_000 });
    expect((await jsm.streams.info(streamName())).config.max_age).toBe(3_600_000 * 1_000_000);
    await ensureStream(client, STREAM);
  });

  it('ensureConsumer is idempotent, sequentially and concurrently', async () => {
    const spec = { stream: STREAM.name, durable: 'idem_worker', filterSubject: NoteMsg.subject, ackWaitMs: 5_000 };
    const name = await ensureConsumer(client, spec);
    expect(name).toBe(`${ns.toUpperCase()}_idem_worker`);
    await ensureConsumer(client, spec);
    await Promise.all([ensureConsumer(client, spec), ensureConsumer(serverA, spec), ensureConsumer(serverB, spec)]);
    const jsm = await client.jsm();
    const info = await jsm.consumers.info(streamName(), name);
    expect(info.config.filter_subject).toBe(`${ns}.${NoteMsg.subject}`);
    expect(info.config.ack_wait).toBe(5_000 * 1_000_000);
    await ensureConsumer(client, { ...spec, ackWaitMs: 7_000 });
    expect((await jsm.consumers.info(streamName(), name)).config.ack_wait).toBe(7_000 * 1_000_000);
    const consumers: string[] = [];
    for await (const ci of jsm.consumers.list(streamName())) consumers.push(ci.name);
    expect(consumers.filter((c) => c === name)).toHaveLength(1);
  });

  it('publishDurable stores a message once per msg id', async () => {
    const jsm = await client.jsm();
    const count = async (): Promise<number> =>
      (await jsm.streams.info(streamName(), { subjects_filter: client.subject(DedupMsg.subject) })).state.subjects?.[
        client.subject(DedupMsg.subject)
      ] ?? 0;
    const msgId = `dedup-${randomUUID()}`;
    const first = await client.publishDurable(DedupMsg, { text: 'once' }, { msgId });
    const second = await client.publishDurable(DedupMsg, { text: 'once again' }, { msgId });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const third = await client.publishDurable(DedupMsg, { text: 'other id' });
    expect(third.duplicate).toBe(false);
    expect(await count()).toBe(2);
  });

  it('publishDurableJson sends a pre-serialised body that decodes like any other', async () => {
    const jsm = await client.jsm();
    const msgId = `json-${randomUUID()}`;
    const ack = await client.publishDurableJson(DedupMsg, JSON.stringify({ text: 'pre-encoded "quoted" \\ body' }), { msgId });
    const again = await client.publishDurableJson(DedupMsg, JSON.stringify({ text: 'ignored' }), { msgId });
    expect(again.duplicate).toBe(true);
    const stored = await jsm.streams.getMessage(streamName(), { seq: ack.seq });
    const decoded = client.decodeMessage(DedupMsg, stored);
    expect(decoded.body).toEqual({ text: 'pre-encoded "quoted" \\ body' });
    expect(decoded.ctx.envelope).toMatchObject({ from: client.identity, type: DedupMsg.name, deliveryStatus: 'sent' });
  });

  it('startBatchConsumer delivers batches, acks them, and terminates invalid messages', async () => {
    const durable = await ensureConsumer(client, { stream: STREAM.name, durable: 'batch_worker', filterSubject: BatchMsg.subject });
    const texts = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const text of texts.slice(0, 15)) await client.publishDurable(BatchMsg, { text });
    await client.js().publish(client.subject(BatchMsg.subject), Buffer.from('{not json'));
    await client
      .js()
      .publish(
        client.subject(BatchMsg.subject),
        encodeEnvelope(createEnvelope({ from: 'x', to: '*', type: BatchMsg.name, body: { text: 'x', bogus: 1 } })),
      );
    for (const text of texts.slice(15)) await client.publishDurable(BatchMsg, { text });

    const batches: Array<BatchItem<Note>[]> = [];
    consumers.push(
      await startBatchConsumer({
        bus: serverA,
        stream: STREAM.name,
        durable: 'batch_worker',
        def: BatchMsg,
        maxBatch: 8,
        handler: async (items) => {
          batches.push(items);
        },
      }),
    );
    await eventually(() => batches.flat().length >= 30, { description: '30 messages handled' });
    const got = batches.flat().map((i) => i.body.text);
    expect(got.sort()).toEqual([...texts].sort());
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(8);
    expect(batches.some((b) => b.length > 1)).toBe(true);
    for (const b of batches) for (const it of b) expect(it.body).toBeInstanceOf(Note);
    const jsm = await client.jsm();
    await eventually(
      async () => {
        const ci = await jsm.consumers.info(streamName(), durable);
        return ci.num_ack_pending === 0 && ci.num_pending === 0;
      },
      { description: 'everything acked or terminated' },
    );
    expect(batches.flat()).toHaveLength(30);
  });

  it('gatherMs: a trickle waits for company and goes as one batch; a full batch goes at once', async () => {
    const durable = await ensureConsumer(client, { stream: STREAM.name, durable: 'gather_worker', filterSubject: GatherMsg.subject });
    const batches: string[][] = [];
    consumers.push(
      await startBatchConsumer({
        bus: serverA,
        stream: STREAM.name,
        durable: 'gather_worker',
        def: GatherMsg,
        maxBatch: 10,
        gatherMs: 60_000,
        handler: async (items) => {
          batches.push(items.map((i) => i.body.text));
        },
      }),
    );
    // 25 messages one by one: two full batches go without waiting for the gather timer…
    for (let i = 0; i < 25; i++) await client.publishDurable(GatherMsg, { text: `g${i}` });
    await eventually(() => batches.length >= 2, { description: 'two full batches handled' });
    expect(batches.slice(0, 2).map((b) => b.length)).toEqual([10, 10]);
    // …while the remaining five wait for company (the gather time is a minute)
    const jsm = await client.jsm();
    await eventually(async () => (await jsm.consumers.info(streamName(), durable)).num_ack_pending === 5, {
      description: 'the first 20 acked, 5 held',
    });
    expect(batches).toHaveLength(2);
    for (let i = 25; i < 30; i++) await client.publishDurable(GatherMsg, { text: `g${i}` });
    await eventually(() => batches.length >= 3, { description: 'the third batch filled up and went' });
    expect(batches[2]).toEqual(['g20', 'g21', 'g22', 'g23', 'g24', 'g25', 'g26', 'g27', 'g28', 'g29']);
  });

  it('redelivers a batch after the handler throws', async () => {
    const durable = await ensureConsumer(client, { stream: STREAM.name, durable: 'retry_worker', filterSubject: RetryMsg.subject });
    let failures = 0;
    const deliveries: Array<{ text: string; deliveryCount: number }> = [];
    consumers.push(
      await startBatchConsumer({
        bus: serverB,
        stream: STREAM.name,
        durable: 'retry_worker',
        def: RetryMsg,
        retryDelayMs: 50,
        handler: async (items) => {
          for (const it of items) deliveries.push({ text: it.body.text, deliveryCount: it.msg.info.deliveryCount });
          if (items.some((it) => it.body.text === 'boom') && failures < 2) {
            failures++;
            throw new Error('transient failure');
          }
        },
      }),
    );
    await client.publishDurable(RetryMsg, { text: 'boom' });
    await eventually(() => deliveries.filter((d) => d.text === 'boom').length >= 3, { description: 'boom delivered three times' });
    const boom = deliveries.filter((d) => d.text === 'boom');
    expect(boom.map((d) => d.deliveryCount)).toEqual([1, 2, 3]);
    const jsm = await client.jsm();
    await eventually(async () => (await jsm.consumers.info(streamName(), durable)).num_ack_pending === 0, {
      description: 'acked after the retry succeeded',
    });
    expect(failures).toBe(2);
  });
});
