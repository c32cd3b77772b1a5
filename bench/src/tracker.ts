/**
 * Watches the EVENTS stream from the bench process (an ordered, ephemeral JetStream consumer on
 * `<ns>.swarm.evt.task.batch`, starting after the stream's current last message) and records,
 * per task id, when the bench first saw its `task.succeeded` and how many it saw.
 *
 * Decoding: by default the bench only JSON-parses the envelope and checks the batch's shape by
 * hand; `validate: true` (--validate-events) runs `bus.decodeMessage(EventMessages.tasks, msg)`,
 * the services' full path. Measured on 2 cores, the full path made the bench spend ~0.4 CPU s per
 * 1,000 tasks (five events per task; even `decodeEnvelope` alone deep-copies the whole body with
 * class-transformer), CPU taken from the mesh it measures.
 */
import { EventMessages, type MeshEventDto, STREAMS } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { type ConsumerMessages, DeliverPolicy } from 'nats';

export class CompletionTracker {
  /** performance.now() of the first task.succeeded seen per task. */
  readonly completedAt = new Map<string, number>();
  /** task.succeeded events per task (more than 1 = a duplicate). */
  readonly succeededCount = new Map<string, number>();
  /** Other terminal or retry events per type, by task id. */
  readonly otherEvents = new Map<string, string[]>();
  /** Ids the current phase still waits for. */
  private readonly outstanding = new Set<string>();
  private emptyWaiters: Array<() => void> = [];
  private messages: ConsumerMessages | undefined;
  /**
   * When set (rate runs up to 100,000 tasks), the coordinator's tick time (`ts`, epoch ms) of each task's
   * `task.queued`, `task.dispatched`, `task.running` and `task.succeeded`, by task id: where a
   * task's latency goes. Off by default (memory on long runs).
   */
  stages: Map<string, StageTimes> | undefined;
  batches = 0;
  events = 0;
  decodeErrors = 0;
  lastEventAt = 0;

  constructor(
    private readonly bus: MeshBus,
    private readonly validate = false,
  ) {}

  private decode(msg: { data: Uint8Array; subject: string }): MeshEventDto[] {
    if (this.validate) return this.bus.decodeMessage(EventMessages.tasks, msg).body.events;
    const env = JSON.parse(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).toString('utf8')) as {
      body?: { events?: unknown };
    } | null;
    const body = env?.body;
    if (!body || !Array.isArray(body.events)) throw new Error('event batch without events');
    for (const e of body.events as Array<Partial<MeshEventDto> | null>) {
      if (typeof e?.type !== 'string' || typeof e.data !== 'object' || e.data === null) throw new Error('malformed event');
    }
    return body.events as MeshEventDto[];
  }

  async start(): Promise<void> {
    const stream = this.bus.name(STREAMS.EVENTS);
    const jsm = await this.bus.jsm();
    const info = await jsm.streams.info(stream);
    const consumer = await this.bus.js().consumers.get(stream, {
      // one subject as a string: an array makes nats.js ask for filter_subjects, which
      // nats-server < 2.10 does not know (consume() then never starts)
      filterSubjects: this.bus.subject(EventMessages.tasks.subject),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    this.messages = await consumer.consume({
      max_messages: 256,
      callback: (msg) => {
        const at = performance.now();
        this.batches++;
        let events;
        try {
          events = this.decode(msg);
        } catch {
          this.decodeErrors++;
          return;
        }
        for (const e of events) {
          this.events++;
          const id = (e.data as { taskId?: unknown }).taskId;
          if (typeof id !== 'string') continue;
          if (this.stages) this.recordStage(id, e);
          if (e.type === 'task.succeeded') {
            this.succeededCount.set(id, (this.succeededCount.get(id) ?? 0) + 1);
            if (!this.completedAt.has(id)) this.completedAt.set(id, at);
            this.outstanding.delete(id);
          } else if (TRACKED_OTHER.has(e.type)) {
            let list = this.otherEvents.get(e.type);
            if (!list) this.otherEvents.set(e.type, (list = []));
            list.push(id);
          }
        }
        this.lastEventAt = at;
        if (this.outstanding.size === 0) this.wakeEmpty();
      },
    });
  }

  private recordStage(id: string, e: MeshEventDto): void {
    const slot = STAGE_OF_EVENT[e.type];
    if (slot === undefined) return;
    let st = this.stages!.get(id);
    if (!st) this.stages!.set(id, (st = {}));
    const at = Date.parse(e.ts);
    if (Number.isFinite(at)) st[slot] ??= at - performance.timeOrigin;
  }

  /** Adds task ids the current phase waits for (those already completed are skipped). */
  expect(ids: Iterable<string>): void {
    for (const id of ids) if (!this.completedAt.has(id)) this.outstanding.add(id);
  }

  get pending(): number {
    return this.outstanding.size;
  }

  /** Ids still outstanding (for the failure report). */
  pendingIds(): string[] {
    return [...this.outstanding];
  }

  /** Forgets outstanding ids (after a failed phase). */
  clearPending(): void {
    this.outstanding.clear();
  }

  /** Resolves true once nothing is outstanding, false at the deadline. */
  waitUntilDone(timeoutMs: number): Promise<boolean> {
    if (this.outstanding.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.emptyWaiters = this.emptyWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.emptyWaiters.push(wake);
    });
  }

  private wakeEmpty(): void {
    const ws = this.emptyWaiters;
    this.emptyWaiters = [];
    for (const w of ws) w();
  }

  /** Terminal/retry events other than success seen for these ids, by type. */
  otherFor(ids: ReadonlySet<string>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [type, list] of this.otherEvents) {
      const n = list.filter((id) => ids.has(id)).length;
      if (n > 0) out[type] = n;
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
  }
}

/** Coordinator tick times of one task's events, on the bench's performance.now() clock (ms). */
export interface StageTimes {
  queued?: number;
  dispatched?: number;
  running?: number;
  succeeded?: number;
}

const STAGE_OF_EVENT: Record<string, keyof StageTimes | undefined> = {
  'task.queued': 'queued',
  'task.dispatched': 'dispatched',
  'task.running': 'running',
  'task.succeeded': 'succeeded',
};

const TRACKED_OTHER = new Set([
  'task.failed',
  'task.dead_lettered',
  'task.cancelled',
  'task.timed_out',
  'task.retry_scheduled',
  'task.requeued',
  'task.needs_review',
]);
