import type { MessageDefinition } from '@swarm-mesh/contracts';
import { SwarmError } from '@swarm-mesh/contracts';
import { context, recordError, meshTracer, SpanKind, trace } from '@swarm-mesh/telemetry';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JsMsg,
  nanos,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
  type ConsumerMessages,
} from 'nats';
import type { MeshBus, MessageContext } from './mesh-bus';
import { contextFromHeaders } from './nats-headers';

/** A stream to provision; names and subjects are logical (namespace applied here). */
export interface StreamSpec {
  /** Logical name from `STREAMS`. */
  name: string;
  /** Logical subjects (may contain wildcards). */
  subjects: string[];
  /** Default `workqueue` for work, `limits` for facts. */
  retention?: 'limits' | 'workqueue' | 'interest';
  /** Default `file`. */
  storage?: 'file' | 'memory';
  /** Maximum age of a message. Default 7 days. */
  maxAgeMs?: number;
  /** De-duplication window for `Nats-Msg-Id`. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Stream replicas (3 in a production cluster). Default 1. */
  replicas?: number;
  /** Max bytes kept; default unlimited. */
  maxBytes?: number;
}

function toStreamConfig(bus: MeshBus, spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  const retention =
    spec.retention === 'workqueue'
      ? RetentionPolicy.Workqueue
      : spec.retention === 'interest'
        ? RetentionPolicy.Interest
        : RetentionPolicy.Limits;
  return {
    name: bus.name(spec.name),
    subjects: spec.subjects.map((s) => bus.subject(s)),
    retention,
    storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
    max_age: nanos(spec.maxAgeMs ?? 7 * 24 * 3600 * 1000),
    duplicate_window: nanos(spec.duplicateWindowMs ?? 120_000),
    num_replicas: spec.replicas ?? 1,
    discard: DiscardPolicy.Old,
    ...(spec.maxBytes !== undefined ? { max_bytes: spec.maxBytes } : {}),
  };
}

/**
 * Creates the stream, or updates its mutable settings when it exists with other ones.
 * Safe to call from every replica at every start.
 */
export async function ensureStream(bus: MeshBus, spec: StreamSpec): Promise<void> {
  const jsm = await bus.jsm();
  const cfg = toStreamConfig(bus, spec);
  try {
    const info = await jsm.streams.info(cfg.name);
    const same =
      JSON.stringify([...(info.config.subjects ?? [])].sort()) === JSON.stringify([...(cfg.subjects ?? [])].sort()) &&
      info.config.max_age === cfg.max_age &&
      info.config.duplicate_window === cfg.duplicate_window &&
      info.config.num_replicas === cfg.num_replicas;
    if (!same) {
      const { retention: _r, storage: _s, name: _n, ...mutable } = cfg;
      await jsm.streams.update(cfg.name, { ...info.config, ...mutable });
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(cfg);
    } catch (addErr) {
      // another replica created it in between
      if (!/already in use|already exists/i.test(String((addErr as Error).message))) throw addErr;
    }
  }
}

/** Deletes a stream if it exists (test clean-up). */
export async function deleteStream(bus: MeshBus, logicalName: string): Promise<void> {
  const jsm = await bus.jsm();
  try {
    await jsm.streams.delete(bus.name(logicalName));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return e?.code === '404' || e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || /not found/i.test(e?.message ?? '');
}

/** A durable pull consumer to provision. */
export interface ConsumerSpec {
  /** Logical stream name. */
  stream: string;
  /** Logical durable name (namespace applied). */
  durable: string;
  /** Logical filter subject. Default: the whole stream. */
  filterSubject?: string;
  /** Redeliver when not acked within this. Default 30 s. */
  ackWaitMs?: number;
  /** Max unacknowledged messages in flight. Default 10 000. */
  maxAckPending?: number;
  /** Give up after this many deliveries (-1 = never). Default -1. */
  maxDeliver?: number;
  /** Delete the consumer after this much inactivity (ephemeral-like durables, per-agent). Default never. */
  inactiveThresholdMs?: number;
  /** Where a new consumer starts. Default `all`. */
  deliverPolicy?: 'all' | 'new';
}

/** Creates or updates a durable pull consumer. */
export async function ensureConsumer(bus: MeshBus, spec: ConsumerSpec): Promise<string> {
  const jsm = await bus.jsm();
  const stream = bus.name(spec.stream);
  const durable = bus.name(spec.durable);
  const cfg: Partial<ConsumerConfig> = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(spec.ackWaitMs ?? 30_000),
    max_ack_pending: spec.maxAckPending ?? 10_000,
    max_deliver: spec.maxDeliver ?? -1,
    deliver_policy: spec.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ...(spec.filterSubject ? { filter_subject: bus.subject(spec.filterSubject) } : {}),
    ...(spec.inactiveThresholdMs ? { inactive_threshold: nanos(spec.inactiveThresholdMs) } : {}),
  };
  try {
    await jsm.consumers.info(stream, durable);
    const { deliver_policy: _d, ...mutable } = cfg;
    await jsm.consumers.update(stream, durable, mutable);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.consumers.add(stream, cfg);
    } catch (addErr) {
      if (!/already (in use|exists)/i.test(String((addErr as Error).message))) throw addErr;
    }
  }
  return durable;
}

/** One received JetStream message, validated. */
export interface BatchItem<T> {
  body: T;
  ctx: MessageContext;
  msg: JsMsg;
}

/** Options of `startBatchConsumer`. */
export interface BatchConsumerOptions<T extends object, P extends unknown[]> {
  bus: MeshBus;
  /** Logical stream and durable names (the consumer must exist: `ensureConsumer`). */
  stream: string;
  durable: string;
  /** Definition every message is validated against. */
  def: MessageDefinition<T, P>;
  /** Largest batch handed to the handler. Default 500. */
  maxBatch?: number;
  /** Messages pulled ahead of processing. Default 2 × maxBatch. */
  prefetch?: number;
  /**
   * Processes a batch. Resolve → every message is acked. Throw → every message is nak'ed
   * and redelivered after `retryDelayMs`. Invalid messages never reach it (they are term'ed).
   */
  handler: (items: BatchItem<T>[]) => Promise<void>;
  /** Delay before a failed batch is redelivered. Default 500 ms. */
  retryDelayMs?: number;
  /**
   * How long a batch waits for company after its first message (unless maxBatch is reached
   * sooner). 0 = start at once (the hot path). Consumers off the critical path set it so a
   * trickle of messages does not cost one transaction each. Default 0.
   */
  gatherMs?: number;
  /**
   * A message that fails to decode or validate: called before it is terminated, to answer what
   * it reported (e.g. fail the attempts a malformed result names) instead of dropping it
   * silently. If it throws, the message is nak'ed and comes back after `retryDelayMs`.
   */
  onInvalid?: (msg: JsMsg, err: Error) => Promise<void>;
}

export interface BatchConsumerHandle {
  stop(): Promise<void>;
}

/**
 * Consumes a durable pull consumer in batches: whatever arrived since the last batch started
 * (up to maxBatch) is handled together, one batch at a time; acks follow success. This is the
 * group-commit loop of the hot path.
 */
export async function startBatchConsumer<T extends object, P extends unknown[]>(
  opts: BatchConsumerOptions<T, P>,
): Promise<BatchConsumerHandle> {
  const { bus } = opts;
  const maxBatch = opts.maxBatch ?? 500;
  const gatherMs = Math.max(0, opts.gatherMs ?? 0);
  const consumer = await bus.js().consumers.get(bus.name(opts.stream), bus.name(opts.durable));
  const buffer: JsMsg[] = [];
  let running = false;
  let scheduled = false;
  let stopped = false;
  let idle: (() => void) | null = null;
  let gatherTimer: NodeJS.Timeout | null = null;

  /** Starts the next batch: at once, or once it has gathered for gatherMs or filled up. */
  const kick = (): void => {
    if (running || stopped || buffer.length === 0) return;
    if (gatherTimer && buffer.length >= maxBatch) {
      clearTimeout(gatherTimer);
      gatherTimer = null;
      scheduled = false;
    }
    if (scheduled) return;
    scheduled = true;
    if (gatherMs > 0 && buffer.length < maxBatch) gatherTimer = setTimeout(() => void runBatches(), gatherMs);
    else setImmediate(() => void runBatches());
  };

  const runBatches = async (): Promise<void> => {
    scheduled = false;
    gatherTimer = null;
    if (running) return;
    running = true;
    try {
      let firstBatch = true;
      while (buffer.length > 0 && !stopped) {
        // off the hot path a short remainder waits for company (kick() below) instead of going alone
        if (!firstBatch && gatherMs > 0 && buffer.length < maxBatch) break;
        firstBatch = false;
        const raw = buffer.splice(0, maxBatch);
        const items: BatchItem<T>[] = [];
        for (const m of raw) {
          try {
            const { body, ctx } = bus.decodeMessage(opts.def, m);
            items.push({ body, ctx, msg: m });
          } catch (err) {
            bus.logger.warn('invalid message terminated', {
              stream: opts.stream,
              subject: m.subject,
              code: (err as SwarmError).code,
              error: (err as Error).message,
            });
            if (!opts.onInvalid) m.term();
            else {
              try {
                await opts.onInvalid(m, err as Error);
                m.term();
              } catch (hookErr) {
                bus.logger.error('invalid message not answered; will be redelivered', { stream: opts.stream, err: hookErr });
                m.nak(opts.retryDelayMs ?? 500);
              }
            }
          }
        }
        if (items.length === 0) continue;
        const first = items[0]!;
        const span = opts.def.traced
          ? meshTracer().startSpan(
              `consume ${opts.def.name}`,
              { kind: SpanKind.CONSUMER, attributes: { 'messaging.batch.message_count': items.length } },
              contextFromHeaders(first.msg.headers),
            )
          : undefined;
        try {
          await context.with(span ? trace.setSpan(context.active(), span) : context.active(), () => opts.handler(items));
          for (const it of items) it.msg.ack();
        } catch (err) {
          if (span) recordError(span, err);
          bus.logger.error('batch failed; will be redelivered', { stream: opts.stream, size: items.length, err });
          for (const it of items) it.msg.nak(opts.retryDelayMs ?? 500);
        } finally {
          span?.end();
        }
      }
    } finally {
      running = false;
      if (idle) idle();
      else kick();
    }
  };

  const messages: ConsumerMessages = await consumer.consume({
    max_messages: opts.prefetch ?? maxBatch * 2,
    callback: (m: JsMsg) => {
      buffer.push(m);
      kick();
    },
  });

  return {
    async stop() {
      stopped = true;
      if (gatherTimer) clearTimeout(gatherTimer);
      messages.stop();
      if (running) await new Promise<void>((r) => (idle = r));
      // unprocessed messages are redelivered after ack_wait; nak them to speed that up
      for (const m of buffer.splice(0)) m.nak();
    },
  };
}
