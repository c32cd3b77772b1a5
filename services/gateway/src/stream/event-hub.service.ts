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

/** How far before the moment a listener first wanted events its consumer starts (message time vs. wall clock). */
const START_MARGIN_MS = 250;
/** How long the consumer keeps running after the last listener stopped wanting events. */
const IDLE_STOP_MS = 30_000;
/** How often wants() is re-checked (listeners whose wish changes without telling the hub). */
const RECONCILE_MS = 1_000;

/**
 * The gateway's view of the EVENTS stream (`swarm.evt.>`): one ordered, ephemeral consumer per
 * gateway process, fanned out in-process to the WebSocket stream and the alert evaluator. The
 * consumer runs only while a listener wants events (the stream while it has clients, the
 * evaluator while it leads and has rules) and for IDLE_STOP_MS after: receiving every event of a
 * busy mesh for nobody cost the gateway a third of its CPU in the throughput bench and woke it for
 * every coordinator tick. A consumer starts at the moment it was first wanted (less
 * START_MARGIN_MS), so `ensureLive()` followed by a listener sees every event published after the
 * call. The stream belongs to the coordinator; until it exists the hub retries every second.
 */
@Injectable()
export class EventHub implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly listeners = new Set<Registration>();
  private messages: ConsumerMessages | undefined;
  /** The start in progress, if any. */
  private starting: Promise<boolean> | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private reconciler: NodeJS.Timeout | undefined;
  private connected = false;
  private waitingLogged = false;
  /** When a listener last wanted events (or ensureLive was called); 0 = never. */
  private lastWantedAt = 0;
  /** When the first wish of the current wanted period arrived: where a (re)started consumer begins. */
  private wantedFrom = 0;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.reconciler = setInterval(() => this.reconcile(), RECONCILE_MS);
    this.reconciler.unref();
    this.reconcile();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.reconciler) clearInterval(this.reconciler);
    this.stopConsumer();
  }

  /** Whether the consumer runs (for tests and health). */
  get live(): boolean {
    return this.connected;
  }

  /** Delivers events to `listener` while `wants()` (default: always). Returns the unsubscribe. */
  on(listener: EventListener, wants: () => boolean = () => true): () => void {
    const r: Registration = { listener, wants };
    this.listeners.add(r);
    this.reconcile();
    return () => this.listeners.delete(r);
  }

  /** A listener's wish may have turned true (a stream client connected, the evaluator took the lead): start now. */
  wake(): void {
    this.reconcile();
  }

  /**
   * Starts the consumer (if it is not running) as if a listener wanted events now, and resolves
   * once it runs: true, or false when the EVENTS stream cannot be consumed yet (no coordinator).
   */
  ensureLive(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.markWanted(Date.now());
    if (this.connected) return Promise.resolve(true);
    return this.starting ?? this.start();
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

  private anyWants(): boolean {
    for (const l of this.listeners) if (l.wants()) return true;
    return false;
  }

  private markWanted(now: number): void {
    if (this.lastWantedAt === 0 || now - this.lastWantedAt > IDLE_STOP_MS) this.wantedFrom = now;
    this.lastWantedAt = now;
  }

  /** Starts the consumer when someone wants events, stops it after IDLE_STOP_MS without. */
  private reconcile(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.anyWants()) {
      this.markWanted(now);
      if (!this.messages && !this.starting && !this.retry) void this.start();
    } else if (this.messages && now - this.lastWantedAt > IDLE_STOP_MS) {
      this.logger.debug('no listener wants events: event stream consumer stopped');
      this.stopConsumer();
    }
  }

  private stopConsumer(): void {
    const m = this.messages;
    this.messages = undefined;
    this.connected = false;
    m?.stop();
  }

  private start(): Promise<boolean> {
    const run = (async (): Promise<boolean> => {
      try {
        const stream = this.bus.name(STREAMS.EVENTS);
        const from = new Date(Math.max(0, this.wantedFrom - START_MARGIN_MS));
        const consumer = await this.bus.js().consumers.get(stream, {
          // one subject as a string: nats-server < 2.10 does not know filter_subjects
          filterSubjects: this.bus.subject(EVENTS_WILDCARD),
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: from.toISOString(),
        });
        if (this.stopped) return false;
        const messages = await consumer.consume({ max_messages: 256, callback: (m: JsMsg) => this.onMessage(m) });
        if (this.stopped) {
          messages.stop();
          return false;
        }
        this.messages = messages;
        this.connected = true;
        this.waitingLogged = false;
        this.logger.info('event stream consumer started', { stream, from: from.toISOString() });
        void messages.closed().then(() => {
          if (this.messages !== messages) return; // stopped on purpose
          // lost (stream deleted, connection trouble): resume from where it was wanted again
          this.messages = undefined;
          this.connected = false;
          this.wantedFrom = Date.now();
          this.later();
        });
        return true;
      } catch (err) {
        if (!this.waitingLogged) {
          this.waitingLogged = true;
          this.logger.info('waiting for the EVENTS stream (created by the coordinator)', { error: (err as Error).message });
        }
        this.later();
        return false;
      }
    })();
    this.starting = run;
    void run.finally(() => {
      if (this.starting === run) this.starting = undefined;
    });
    return run;
  }

  private later(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.reconcile();
    }, 1_000);
    this.retry.unref();
  }

  private onMessage(m: JsMsg): void {
    if (!this.anyWants()) return;
    let events: MeshEventDto[];
    try {
      events = parseEventBatch(m.data);
    } catch {
      return;
    }
    this.dispatch(events);
  }
}
