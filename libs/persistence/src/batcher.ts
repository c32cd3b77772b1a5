/** Options of `Batcher`. */
export interface BatcherOptions<I, R> {
  /** Flush as soon as this many items wait. Default 500. */
  maxBatch?: number;
  /**
   * Longest an item waits for companions. Default 2 ms. 0 = no timer: a batch takes what arrived
   * in the same event-loop turn (it leaves on `setImmediate`), plus whatever queued up while the
   * batches in flight were busy (natural batching: no added latency when idle).
   */
  maxDelayMs?: number;
  /**
   * Weight of an item (e.g. its approximate size in bytes) for `maxWeight`. Default: none (only
   * `maxBatch` limits a batch).
   */
  weigh?: (item: I) => number;
  /** A batch stops growing before its total weight would exceed this (it always takes one item). Default: unlimited. */
  maxWeight?: number;
  /**
   * Adaptive linger: an item that finds the batcher idle — no batch left within the last
   * `busyWindowMs` — leaves on the next event-loop turn instead of waiting `maxDelayMs`, so sparse
   * traffic pays no timer while steady traffic still shares commits. Default: none (always wait
   * `maxDelayMs`).
   */
  busyWindowMs?: number;
  /** Batches in flight at once. Default 1 (strict group commit). */
  concurrency?: number;
  /**
   * Writes a batch (one transaction) and returns one result per item, in order. Throwing
   * rejects every waiter of the batch with that error.
   */
  flush: (items: I[]) => Promise<R[]>;
}

interface Pending<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: concurrent callers of `add()` are gathered for a millisecond or two (or until
 * maxBatch) and written together; each caller gets its own result when the batch commits.
 */
export class Batcher<I, R> {
  private queue: Pending<I, R>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private inflight = 0;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private closed = false;
  private drainWaiters: Array<() => void> = [];
  /** performance.now() when the last batch left (for busyWindowMs). */
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: BatcherOptions<I, R>) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 2;
    this.concurrency = options.concurrency ?? 1;
  }

  add(item: I): Promise<R> {
    if (this.closed) return Promise.reject(new Error('batcher closed'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  addMany(items: I[]): Promise<R[]> {
    return Promise.all(items.map((i) => this.add(i)));
  }

  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.inflight >= this.concurrency) return; // the running flush picks the queue up
    if (this.queue.length >= this.maxBatch) {
      this.flushNow();
      return;
    }
    if (this.timer) return;
    if (this.maxDelayMs <= 0 || this.idle()) this.immediate ??= setImmediate(() => this.flushNow());
    else this.timer = setTimeout(() => this.flushNow(), this.maxDelayMs);
  }

  /** No batch left within busyWindowMs (only with busyWindowMs set). */
  private idle(): boolean {
    const w = this.options.busyWindowMs;
    return w !== undefined && performance.now() - this.lastFlushAt > w;
  }

  private flushNow(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    if (this.queue.length > 0 && this.inflight < this.concurrency) this.lastFlushAt = performance.now();
    while (this.queue.length > 0 && this.inflight < this.concurrency) {
      const batch = this.queue.splice(0, this.takeCount());
      this.inflight++;
      void this.run(batch);
    }
  }

  /** How many queued items the next batch takes: up to maxBatch, and within maxWeight (at least one). */
  private takeCount(): number {
    const { weigh, maxWeight } = this.options;
    const limit = Math.min(this.maxBatch, this.queue.length);
    if (!weigh || maxWeight === undefined) return limit;
    let total = 0;
    for (let i = 0; i < limit; i++) {
      total += weigh(this.queue[i]!.item);
      if (total > maxWeight) return Math.max(1, i);
    }
    return limit;
  }

  private async run(batch: Pending<I, R>[]): Promise<void> {
    try {
      const results = await this.options.flush(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batcher flush returned ${results.length} results for ${batch.length} items`);
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inflight--;
      if (this.queue.length > 0) {
        // items that arrived during the flush go out at once: they already waited a flush
        this.flushNow();
      } else if (this.inflight === 0) {
        const w = this.drainWaiters;
        this.drainWaiters = [];
        for (const f of w) f();
      }
    }
  }

  /** Flushes what is queued and waits for in-flight batches; refuses new items. */
  async close(): Promise<void> {
    this.closed = true;
    this.flushNow();
    if (this.inflight === 0 && this.queue.length === 0) return;
    await new Promise<void>((r) => this.drainWaiters.push(r));
  }
}
