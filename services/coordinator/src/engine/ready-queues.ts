import type { TaskRecord } from './task-record';

interface Entry {
  id: string;
  token: number;
  /** When the task became ready (aging starts here). */
  since: number;
}

/** A FIFO with O(1) push/shift that compacts itself. */
class Fifo {
  private items: Entry[] = [];
  private head = 0;

  push(e: Entry): void {
    this.items.push(e);
  }

  peek(): Entry | undefined {
    return this.items[this.head];
  }

  shift(): Entry | undefined {
    const e = this.items[this.head];
    if (e === undefined) return undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** First entry (within the first `limit`) matching `pred`. */
  find(pred: (e: Entry) => boolean, limit: number): Entry | undefined {
    for (let i = this.head; i < this.items.length && i < this.head + limit; i++) {
      const e = this.items[i]!;
      if (pred(e)) return e;
    }
    return undefined;
  }
}

/** Ready tasks of one tenant × capability: one FIFO per priority. */
export class CapabilityQueue {
  readonly fifos: [Fifo, Fifo, Fifo, Fifo] = [new Fifo(), new Fifo(), new Fifo(), new Fifo()];
  /** Live (not stale) entries per priority. */
  readonly counts = [0, 0, 0, 0];

  constructor(
    readonly tenantId: string,
    readonly capability: string,
  ) {}

  get size(): number {
    return this.counts[0]! + this.counts[1]! + this.counts[2]! + this.counts[3]!;
  }
}

/** The best ready task of a queue at a moment, by priority with aging. */
export interface Head {
  queue: CapabilityQueue;
  task: TaskRecord;
  effective: number;
  since: number;
}

/**
 * Per-capability priority queues with aging: a task's effective priority is its priority plus
 * one level per `agingStepMs` waited (capped at CRITICAL + 1 so an old LOW task eventually
 * overtakes new CRITICAL ones). Ties go to the older task. Removal is lazy (queue tokens).
 */
export class ReadyQueues {
  private readonly queues = new Map<string, CapabilityQueue>();

  constructor(
    private readonly agingStepMs: number,
    private readonly lookup: (id: string) => TaskRecord | undefined,
  ) {}

  static key(tenantId: string, capability: string): string {
    return `${tenantId}\u0000${capability}`;
  }

  queue(tenantId: string, capability: string): CapabilityQueue {
    const k = ReadyQueues.key(tenantId, capability);
    let q = this.queues.get(k);
    if (!q) {
      q = new CapabilityQueue(tenantId, capability);
      this.queues.set(k, q);
    }
    return q;
  }

  all(): IterableIterator<CapabilityQueue> {
    return this.queues.values();
  }

  /** Adds a task in state `queued` (its queuedAt is the aging origin). */
  enqueue(task: TaskRecord): void {
    const q = this.queue(task.tenantId, task.capability);
    task.rt.queueToken++;
    q.fifos[task.priority]!.push({ id: task.id, token: task.rt.queueToken, since: task.queuedAt ?? task.createdAt });
    q.counts[task.priority]!++;
  }

  /** Takes a queued task out (cancel, priority change, timeout). */
  remove(task: TaskRecord): void {
    const q = this.queues.get(ReadyQueues.key(task.tenantId, task.capability));
    if (!q) return;
    task.rt.queueToken++;
    q.counts[task.priority] = Math.max(0, q.counts[task.priority]! - 1);
  }

  private live(e: Entry): TaskRecord | undefined {
    const t = this.lookup(e.id);
    return t && t.state === 'queued' && t.rt.queueToken === e.token ? t : undefined;
  }

  /** The best task of a queue now, or undefined when empty. Drops stale entries on the way. */
  head(q: CapabilityQueue, now: number, skip?: ReadonlySet<string>): Head | undefined {
    let best: Head | undefined;
    for (let p = 3; p >= 0; p--) {
      const fifo = q.fifos[p]!;
      let e = fifo.peek();
      while (e && !this.live(e)) {
        fifo.shift();
        e = fifo.peek();
      }
      if (!e) continue;
      let task = this.live(e)!;
      if (skip?.has(task.id)) {
        // a task that cannot be placed now (pinned agent busy): look at the next one of this fifo
        const found = this.firstNotSkipped(fifo, skip);
        if (!found) continue;
        task = found.task;
        e = found.entry;
      }
      const effective = p + Math.min(4, Math.floor((now - e.since) / this.agingStepMs));
      if (!best || effective > best.effective || (effective === best.effective && e.since < best.since)) {
        best = { queue: q, task, effective, since: e.since };
      }
    }
    return best;
  }

  private firstNotSkipped(fifo: Fifo, skip: ReadonlySet<string>): { task: TaskRecord; entry: Entry } | undefined {
    // rare path (a pinned agent is busy): scan a bounded prefix of the fifo
    const entry = fifo.find((e) => {
      const t = this.live(e);
      return t !== undefined && !skip.has(t.id);
    }, 256);
    return entry ? { task: this.live(entry)!, entry } : undefined;
  }

  /** Marks a task as taken from its queue (dispatch). */
  take(task: TaskRecord): void {
    this.remove(task);
  }

  /** Priority counts and the oldest wait of a queue. */
  stats(q: CapabilityQueue, now: number): { counts: number[]; oldestAgeMs: number | null } {
    let oldest: number | null = null;
    for (const fifo of q.fifos) {
      let e = fifo.peek();
      while (e && !this.live(e)) {
        fifo.shift();
        e = fifo.peek();
      }
      if (e && (oldest === null || e.since < oldest)) oldest = e.since;
    }
    return { counts: [...q.counts], oldestAgeMs: oldest === null ? null : Math.max(0, now - oldest) };
  }
}
