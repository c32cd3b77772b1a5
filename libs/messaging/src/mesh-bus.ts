import {
  type AgentMessage,
  type CommandDefinition,
  createEnvelope,
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeJson,
  type MessageDefinition,
  namespacedName,
  namespacedQueue,
  namespacedSubject,
  type Priority,
  type ReplyBody,
  ServiceUnavailableError,
  SINGLETON_SERVICES,
  stripNamespace,
  SwarmError,
  TimeoutError,
  toSwarmError,
  validatePlain,
  validateNamespace,
  InternalError,
} from '@swarm-mesh/contracts';
import { context, currentTraceId, type Logger, meshTracer, recordError, silentLogger, SpanKind, trace } from '@swarm-mesh/telemetry';
import {
  ErrorCode as NatsErrorCode,
  headers as natsHeaders,
  type JetStreamClient,
  type JetStreamManager,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NatsError,
  type PubAck,
  type Subscription,
} from 'nats';
import { contextFromHeaders, HEADERS, injectTrace } from './nats-headers';

/** What a handler learns about the message besides its validated body. */
export interface MessageContext {
  /** The envelope without its body. */
  readonly envelope: Omit<AgentMessage, 'body'>;
  /** Subject the message arrived on, namespace stripped. */
  readonly subject: string;
  readonly headers: MsgHdrs | undefined;
  /** Trace id of the handling span, if tracing is on. */
  readonly traceId: string | undefined;
}

export type CommandHandler<Req extends object, Res extends object> = (req: Req, ctx: MessageContext) => Promise<Res> | Res;
export type MessageHandler<T extends object> = (body: T, ctx: MessageContext) => Promise<void> | void;

/** Hooks for metrics; every field optional. */
export interface MeshBusObserver {
  /** A command or message was handled; `outcome` is `ok` or an error code. */
  onHandled?(name: string, outcome: string, durationMs: number): void;
  /** A request this bus sent completed. */
  onRequested?(name: string, outcome: string, durationMs: number): void;
  onPublished?(name: string): void;
}

/** Options of MeshBus. */
export interface MeshBusOptions {
  /** A connection from `connectMesh`. Required. */
  nc: NatsConnection;
  /** Envelope `from` and span attribute: a service name or `agent:<id>`. Required. */
  identity: string;
  /** Prefix isolating subjects, streams and queue groups (tests). Default `''`. */
  namespace?: string;
  /** Default priority of outgoing envelopes. Default `MEDIUM`. */
  defaultPriority?: Priority;
  logger?: Logger;
  observer?: MeshBusObserver;
  /**
   * How long a request to a singleton service (SINGLETON_SERVICES: coordinator, allocator,
   * resolver) keeps retrying while nobody subscribes to its subject ("no responders": the message
   * reached no one, so sending it again cannot do it twice): its standby replica taking over the
   * lease, or its active replica still starting. Bounded by the request's timeout. Services that
   * scale out (and per-agent subjects) have no such gap and fail at once, so a caller is not held
   * for a service that is simply not running. Default 0: fail at once with SERVICE_UNAVAILABLE.
   */
  awaitResponderMs?: number;
}

export interface RequestOptions {
  /** Overrides the definition's timeout. */
  timeoutMs?: number;
  priority?: Priority;
  /** Envelope ttl; default = the timeout (a request nobody could answer in time is dropped). */
  ttlMs?: number;
  /** Envelope `to`; default the definition's service. */
  to?: string;
  /** Parameters of the definition's `subjectFor` (per-agent commands: the agent id). */
  params?: string[];
  /** Overrides the bus's `awaitResponderMs` (e.g. 0 for a health probe, which must fail fast). */
  awaitResponderMs?: number;
}

export interface PublishOptions<P extends unknown[]> {
  /** Parameters of the definition's `subjectFor`. */
  params?: P;
  priority?: Priority;
  ttlMs?: number;
  to?: string;
  headers?: MsgHdrs;
}

export interface DurablePublishOptions<P extends unknown[]> extends PublishOptions<P> {
  /** JetStream de-duplication id (`Nats-Msg-Id`): same id within the window = stored once. */
  msgId?: string;
  /** Retries when the publish ack times out or NATS is reconnecting. Default 20. */
  retries?: number;
  /** Deadline of one publish attempt's ack. Default 2000 ms. */
  ackTimeoutMs?: number;
}

/**
 * The typed NATS bus every service, agent and test uses: envelopes, validation on receipt,
 * coded error replies, queue groups per service, W3C trace context in headers.
 */
export class MeshBus {
  readonly nc: NatsConnection;
  readonly identity: string;
  readonly namespace: string;
  readonly logger: Logger;
  private readonly observer: MeshBusObserver;
  private readonly defaultPriority: Priority;
  private readonly awaitResponderMs: number;
  private jsClient: JetStreamClient | undefined;
  private jsManager: JetStreamManager | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: MeshBusOptions) {
    this.nc = options.nc;
    this.identity = options.identity;
    this.namespace = validateNamespace(options.namespace ?? '');
    this.logger = options.logger ?? silentLogger;
    this.observer = options.observer ?? {};
    this.defaultPriority = options.defaultPriority ?? 'MEDIUM';
    this.awaitResponderMs = Math.max(0, options.awaitResponderMs ?? 0);
  }

  /** The wire subject for a logical subject (namespace applied). */
  subject(logical: string): string {
    return namespacedSubject(this.namespace, logical);
  }

  /** The wire name of a stream, consumer or bucket (namespace applied). */
  name(logical: string): string {
    return namespacedName(this.namespace, logical);
  }

  /** The wire queue group for a service (namespace applied). */
  queue(service: string): string {
    return namespacedQueue(this.namespace, service);
  }

  js(): JetStreamClient {
    this.jsClient ??= this.nc.jetstream();
    return this.jsClient;
  }

  async jsm(): Promise<JetStreamManager> {
    this.jsManager ??= await this.nc.jetstreamManager();
    return this.jsManager;
  }

  // ── commands ────────────────────────────────────────────────────────────

  /** Sends a command and returns its validated reply; error replies throw SwarmError. */
  async request<Req extends object, Res extends object>(
    def: CommandDefinition<Req, Res>,
    body: Req,
    opts: RequestOptions = {},
  ): Promise<Res> {
    const timeoutMs = opts.timeoutMs ?? def.timeoutMs;
    if (def.subjectFor && !opts.params) throw new Error(`${def.name} needs subject params`);
    const subject = this.subject(def.subjectFor ? def.subjectFor(...(opts.params ?? [])) : def.subject);
    const started = performance.now();
    const span = meshTracer().startSpan(`request ${def.name}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'messaging.system': 'nats', 'messaging.destination.name': def.subject, 'swarm.message.type': def.name },
    });
    const ctx = trace.setSpan(context.active(), span);
    let outcome = 'ok';
    try {
      const env = createEnvelope({
        from: this.identity,
        to: opts.to ?? def.service,
        type: def.name,
        priority: opts.priority ?? this.defaultPriority,
        ttl: opts.ttlMs ?? timeoutMs,
        body,
      });
      const h = injectTrace(natsHeaders(), ctx);
      const data = encodeEnvelope(env);
      // a singleton's subject with no subscriber yet (starting, or a standby taking over): try again
      const awaitMs =
        def.subjectFor || !SINGLETON_SERVICES.includes(def.service)
          ? 0
          : Math.min(opts.awaitResponderMs ?? this.awaitResponderMs, timeoutMs);
      let pause = 20;
      let msg: Msg;
      for (;;) {
        try {
          msg = await this.nc.request(subject, data, { timeout: timeoutMs, headers: h });
          break;
        } catch (err) {
          const noResponders = (err as NatsError | undefined)?.code === NatsErrorCode.NoResponders;
          if (!noResponders || performance.now() + pause - started > awaitMs || this.nc.isClosed()) {
            throw this.mapRequestError(err, def.name, timeoutMs);
          }
          await new Promise((r) => setTimeout(r, pause));
          pause = Math.min(pause * 2, 250);
        }
      }
      let rb: ReplyBody<unknown> | undefined;
      try {
        rb = decodeEnvelope(msg.data, { maxBytes: 64 * 1024 * 1024 }, Number.POSITIVE_INFINITY).body as unknown as ReplyBody<unknown>;
      } catch (err) {
        throw this.brokenReply(def.name, err);
      }
      if (rb && rb.ok === false) throw SwarmError.fromWire(rb.error);
      if (!rb || rb.ok !== true) throw new InternalError(`malformed reply to ${def.name}`);
      try {
        return validatePlain(def.reply, rb.data, `${def.name} reply`);
      } catch (err) {
        throw this.brokenReply(def.name, err);
      }
    } catch (err) {
      const se = err instanceof SwarmError ? err : toSwarmError(err);
      outcome = se.code;
      recordError(span, se);
      throw se;
    } finally {
      span.end();
      this.observer.onRequested?.(def.name, outcome, performance.now() - started);
    }
  }

  /**
   * A reply the caller cannot decode or that fails its DTO is the answering service's fault, not
   * the caller's input: INTERNAL (500), never the VALIDATION_FAILED (400) the decoder threw.
   */
  private brokenReply(name: string, err: unknown): SwarmError {
    const se = err instanceof SwarmError ? err : toSwarmError(err);
    return new InternalError(`the reply to ${name} breaks its contract: ${se.message}`, {
      replyError: se.code,
      ...(se.details?.violations ? { violations: se.details.violations } : {}),
    });
  }

  private mapRequestError(err: unknown, target: string, timeoutMs: number): SwarmError {
    const code = (err as NatsError | undefined)?.code;
    if (code === NatsErrorCode.NoResponders) return new ServiceUnavailableError(target, { reason: 'no responders' });
    if (code === NatsErrorCode.Timeout) return new TimeoutError(target, timeoutMs);
    if (err instanceof SwarmError) return err;
    return new ServiceUnavailableError(target, { reason: (err as Error)?.message ?? String(err) });
  }

  /**
   * Answers a command. Handlers of one service share the work (queue group named after the
   * service); every request is validated first and invalid ones get a coded error reply.
   */
  handle<Req extends object, Res extends object>(
    def: CommandDefinition<Req, Res>,
    handler: CommandHandler<Req, Res>,
    opts: { queue?: string | false } = {},
  ): Subscription {
    const queue = opts.queue === false ? undefined : this.queue(opts.queue ?? def.service);
    const sub = this.nc.subscribe(this.subject(def.subject), {
      ...(queue ? { queue } : {}),
      callback: (err, msg) => {
        if (err) {
          this.logger.error('subscription error', { subject: def.subject, err });
          return;
        }
        this.track(this.onCommand(def, handler, msg));
      },
    });
    this.subscriptions.add(sub);
    return sub;
  }

  private async onCommand<Req extends object, Res extends object>(
    def: CommandDefinition<Req, Res>,
    handler: CommandHandler<Req, Res>,
    msg: Msg,
  ): Promise<void> {
    const started = performance.now();
    const parent = contextFromHeaders(msg.headers);
    const span = meshTracer().startSpan(
      `handle ${def.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': def.subject, 'swarm.message.type': def.name },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    let outcome = 'ok';
    let replyTo = 'unknown';
    await context.with(ctx, async () => {
      let body: ReplyBody<Res>;
      try {
        const env = decodeEnvelope(msg.data, { maxBytes: def.maxPayloadBytes });
        replyTo = env.from;
        const req = validatePlain(def.request, env.body, def.name);
        const { body: _b, ...meta } = env;
        const data = await handler(req, {
          envelope: meta,
          subject: stripNamespace(this.namespace, msg.subject),
          headers: msg.headers,
          traceId: currentTraceId(),
        });
        body = { ok: true, data };
      } catch (err) {
        const se = this.toReplyError(err, def.name);
        outcome = se.code;
        recordError(span, se);
        body = { ok: false, error: se.toWire() };
      }
      if (msg.reply) {
        const h = injectTrace(natsHeaders(), ctx);
        if (!body.ok) h.set(HEADERS.errorCode, body.error.code);
        let reply = createEnvelope({ from: this.identity, to: replyTo, type: `${def.name}.reply`, body: body });
        let data = encodeEnvelope(reply);
        const limit = this.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
        if (data.byteLength > limit) {
          // a reply NATS would refuse must still reach the caller, as a coded error
          const err = new SwarmError(
            'PAYLOAD_TOO_LARGE',
            `the reply to ${def.name} is ${data.byteLength} bytes; the NATS limit is ${limit}`,
            {
              sizeBytes: data.byteLength,
              limitBytes: limit,
            },
          );
          outcome = err.code;
          h.set(HEADERS.errorCode, err.code);
          reply = createEnvelope({ from: this.identity, to: replyTo, type: `${def.name}.reply`, body: { ok: false, error: err.toWire() } });
          data = encodeEnvelope(reply);
        }
        try {
          msg.respond(data, { headers: h });
        } catch (err) {
          this.logger.warn('reply failed', { subject: def.subject, err });
        }
      }
    });
    span.end();
    this.observer.onHandled?.(def.name, outcome, performance.now() - started);
  }

  private toReplyError(err: unknown, name: string): SwarmError {
    if (err instanceof SwarmError) return err;
    const traceId = currentTraceId();
    this.logger.error('handler failed', { handler: name, err });
    return new InternalError('internal error', traceId ? { traceId } : undefined);
  }

  // ── one-way messages ────────────────────────────────────────────────────

  /** Publishes a one-way message (core NATS: at-most-once). */
  publish<T extends object, P extends unknown[]>(def: MessageDefinition<T, P>, body: T, opts: PublishOptions<P> = {}): void {
    const logical = def.subjectFor(...((opts.params ?? []) as P));
    const env = createEnvelope({
      from: this.identity,
      to: opts.to ?? '*',
      type: def.name,
      priority: opts.priority ?? this.defaultPriority,
      ttl: opts.ttlMs ?? 0,
      body,
    });
    const h = opts.headers ?? natsHeaders();
    if (def.traced) {
      const span = meshTracer().startSpan(`publish ${def.name}`, {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': logical },
      });
      injectTrace(h, trace.setSpan(context.active(), span));
      span.end();
    }
    this.nc.publish(this.subject(logical), encodeEnvelope(env), { headers: h });
    this.observer.onPublished?.(def.name);
  }

  /**
   * Publishes onto JetStream and waits for the stream's ack. Retries on timeouts and
   * reconnects with the same msg id, so a retried publish is stored once.
   */
  async publishDurable<T extends object, P extends unknown[]>(
    def: MessageDefinition<T, P>,
    body: T,
    opts: DurablePublishOptions<P> = {},
  ): Promise<PubAck> {
    const env = createEnvelope({
      from: this.identity,
      to: opts.to ?? '*',
      type: def.name,
      priority: opts.priority ?? this.defaultPriority,
      ttl: opts.ttlMs ?? 0,
      body,
    });
    return this.publishEncoded(def, encodeEnvelope(env), opts.msgId ?? env.id, opts);
  }

  /**
   * `publishDurable` for a body that is already JSON text (serialised once by the caller, e.g.
   * into an outbox row): it is put into the envelope as it is, not parsed and serialised again.
   * It must be the JSON of a valid `T`: receivers validate it as always.
   */
  async publishDurableJson<T extends object, P extends unknown[]>(
    def: MessageDefinition<T, P>,
    bodyJson: string,
    opts: DurablePublishOptions<P> = {},
  ): Promise<PubAck> {
    const { body: _none, ...env } = createEnvelope({
      from: this.identity,
      to: opts.to ?? '*',
      type: def.name,
      priority: opts.priority ?? this.defaultPriority,
      ttl: opts.ttlMs ?? 0,
      body: {},
    });
    return this.publishEncoded(def, encodeEnvelopeJson(env, bodyJson), opts.msgId ?? env.id, opts);
  }

  private async publishEncoded<T extends object, P extends unknown[]>(
    def: MessageDefinition<T, P>,
    data: Uint8Array,
    msgID: string,
    opts: DurablePublishOptions<P>,
  ): Promise<PubAck> {
    const logical = def.subjectFor(...((opts.params ?? []) as P));
    const h = opts.headers ?? natsHeaders();
    let span;
    if (def.traced) {
      span = meshTracer().startSpan(`publish ${def.name}`, {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': logical },
      });
      injectTrace(h, trace.setSpan(context.active(), span));
    }
    const retries = opts.retries ?? 20;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const ack = await this.js().publish(this.subject(logical), data, { msgID, headers: h, timeout: opts.ackTimeoutMs ?? 2_000 });
          this.observer.onPublished?.(def.name);
          return ack;
        } catch (err) {
          if (attempt >= retries) throw err;
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 2_000)));
        }
      }
    } catch (err) {
      if (span) recordError(span, err);
      throw err;
    } finally {
      span?.end();
    }
  }

  /**
   * Subscribes to one-way messages (core NATS). Invalid messages are dropped with a warning
   * (and an error reply when the sender asked for one); the handler never sees them.
   */
  subscribe<T extends object, P extends unknown[]>(
    def: MessageDefinition<T, P>,
    handler: MessageHandler<T>,
    opts: { queue?: string; subject?: string } = {},
  ): Subscription {
    const queue = opts.queue ? this.queue(opts.queue) : undefined;
    const sub = this.nc.subscribe(this.subject(opts.subject ?? def.subject), {
      ...(queue ? { queue } : {}),
      callback: (err, msg) => {
        if (err) {
          this.logger.error('subscription error', { subject: def.subject, err });
          return;
        }
        this.track(this.onMessage(def, handler, msg));
      },
    });
    this.subscriptions.add(sub);
    return sub;
  }

  private async onMessage<T extends object, P extends unknown[]>(
    def: MessageDefinition<T, P>,
    handler: MessageHandler<T>,
    msg: Msg,
  ): Promise<void> {
    const started = performance.now();
    const parent = contextFromHeaders(msg.headers);
    const span = def.traced
      ? meshTracer().startSpan(
          `handle ${def.name}`,
          { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': def.subject } },
          parent,
        )
      : undefined;
    const ctx = span ? trace.setSpan(parent, span) : parent;
    let outcome = 'ok';
    await context.with(ctx, async () => {
      try {
        const { body, ctx: mctx } = this.decodeMessage(def, msg);
        await handler(body, mctx);
      } catch (err) {
        const se = err instanceof SwarmError ? err : this.toReplyError(err, def.name);
        outcome = se.code;
        if (span) recordError(span, se);
        if (err instanceof SwarmError) this.logger.warn('message rejected', { type: def.name, code: se.code, error: se.message });
        if (msg.reply) {
          const reply = createEnvelope({
            from: this.identity,
            to: '*',
            type: `${def.name}.reply`,
            body: { ok: false, error: se.toWire() },
          });
          try {
            msg.respond(encodeEnvelope(reply));
          } catch {
            /* connection closing */
          }
        }
      }
    });
    span?.end();
    this.observer.onHandled?.(def.name, outcome, performance.now() - started);
  }

  /** Decodes and validates a raw message against a definition (used for JetStream messages too). */
  decodeMessage<T extends object, P extends unknown[]>(
    def: MessageDefinition<T, P>,
    msg: { data: Uint8Array; subject: string; headers?: MsgHdrs | undefined },
  ): { body: T; ctx: MessageContext } {
    const env = decodeEnvelope(msg.data, { maxBytes: def.maxPayloadBytes });
    const body = validatePlain(def.payload, env.body, def.name);
    const { body: _b, ...meta } = env;
    return {
      body,
      ctx: { envelope: meta, subject: stripNamespace(this.namespace, msg.subject), headers: msg.headers, traceId: currentTraceId() },
    };
  }

  private track(p: Promise<void>): void {
    this.inflight++;
    p.catch((err) => this.logger.error('unhandled message failure', { err })).finally(() => {
      this.inflight--;
      if (this.inflight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    });
  }

  /** Stops receiving (unsubscribes every handler) and waits for in-flight handlers to finish. */
  async stopHandling(timeoutMs = 10_000): Promise<void> {
    for (const sub of this.subscriptions) {
      try {
        sub.unsubscribe();
      } catch {
        /* already closed */
      }
    }
    this.subscriptions.clear();
    if (this.inflight === 0) return;
    await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** Stops handling, then drains and closes the connection. */
  async close(): Promise<void> {
    await this.stopHandling();
    if (!this.nc.isClosed()) {
      try {
        await this.nc.drain();
      } catch {
        await this.nc.close().catch(() => {});
      }
    }
  }
}
