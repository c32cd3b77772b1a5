import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EVENTS_WILDCARD, type MeshEventDto, STREAMS, TENANT_ID_RE } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { LOGGER, MESH_BUS } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import { type ConsumerMessages, DeliverPolicy, type JsMsg } from 'nats';

export type EventListener = (events: MeshEventDto[]) => void;

/** A listener and whether it wants events right now (a stream with no clients does not). */
interface Registration {
  listener: EventListener;
  wants: () => boolean;
}

const TYPE_RE = /^[a-z_]+\.[a-z_]+$/;

/** The events of one EVENTS-stream message; malformed entries are skipped (the services are trusted, the shape is not). */
export function parseEventBatch(data: Uint8Array): MeshEventDto[] {
  const env = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as {
    body?: { events?: unknown };
  } | null;
  const events = env?.body?.events;
  if (!Array.isArray(events)) return [];
  const out: MeshEventDto[] = [];
  for (const e of events as Array<Partial<MeshEventDto> | null>) {
    if (
      e &&
      typeof e.type === 'string' &&
      TYPE_RE.test(e.type) &&
      typeof e.ts === 'string' &&
      typeof e.tenantId === 'string' &&
      TENANT_ID_RE.test(e.tenantId) &&
      typeof e.data === 'object' &&
      e.data !== null &&
      !Array.isArray(e.data)
    ) {
      out.push({ type: e.type, ts: e.ts, tenantId: e.tenantId, data: e.data });
    }
  }
  return out;
}

/**
 * The gateway's view of the EVENTS stream (`swarm.evt.>`): one ordered, ephemeral consumer per
 * gateway process, starting at new messages, fanned out in-process to the WebSocket stream and
 * the alert evaluator. Batches are decoded only while a listener wants them (the stream while it
 * has clients, the evaluator while it leads and has rules): parsing every event of a busy mesh
 * cost the gateway a fifth of its CPU for nothing. The stream belongs to
 * the coordinator; until it exists the hub retries every second.
 */
@Injectable()
export class EventHub implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly listeners = new Set<Registration>();
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private connected = false;
  private waitingLogged = false;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    void this.start();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.messages?.stop();
  }

  /** Whether the consumer runs (for tests and health). */
  get live(): boolean {
    return this.connected;
  }

  /** Delivers events to `listener` while `wants()` (default: always). Returns the unsubscribe. */
  on(listener: EventListener, wants: () => boolean = () => true): () => void {
    const r: Registration = { listener, wants };
    this.listeners.add(r);
    return () => this.listeners.delete(r);
  }

  /** Delivers events produced inside this process (flag changes) to the listeners. */
  emitLocal(events: MeshEventDto[]): void {
    this.dispatch(events);
  }

  private dispatch(events: MeshEventDto[]): void {
    if (events.length === 0) return;
    for (const l of this.listeners) {
      if (!l.wants()) continue;
      try {
        l.listener(events);
      } catch (err) {
        this.logger.error('event listener failed', { err });
      }
    }
  }

  private async start(): Promise<void> {
    if (this.stopped) return;
    try {
      const stream = this.bus.name(STREAMS.EVENTS);
      const consumer = await this.bus.js().consumers.get(stream, {
        // one subject as a string: nats-server < 2.10 does not know filter_subjects
        filterSubjects: this.bus.subject(EVENTS_WILDCARD),
        deliver_policy: DeliverPolicy.New,
      });
      if (this.stopped) return;
      this.messages = await consumer.consume({ max_messages: 256, callback: (m: JsMsg) => this.onMessage(m) });
      this.connected = true;
      this.logger.info('event stream consumer started', { stream });
      void this.messages.closed().then(() => {
        this.connected = false;
        if (!this.stopped) this.later();
      });
    } catch (err) {
      if (!this.waitingLogged) {
        this.waitingLogged = true;
        this.logger.info('waiting for the EVENTS stream (created by the coordinator)', { error: (err as Error).message });
      }
      this.later();
    }
  }

  private later(): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => void this.start(), 1_000);
    this.retry.unref();
  }

  private onMessage(m: JsMsg): void {
    let wanted = false;
    for (const l of this.listeners) if (l.wants()) wanted = true;
    if (!wanted) return;
    let events: MeshEventDto[];
    try {
      events = parseEventBatch(m.data);
    } catch {
      return;
    }
    this.dispatch(events);
  }
}
