/**
 * Gathers items for up to `delayMs` after the first one arrives (or until `maxItems`), then
 * hands them to `flush` in one batch. `delayMs` 0 flushes on the next turn of the event loop,
 * so items produced in the same tick still travel together. `onDue` (default: this batcher's
 * `flushNow`) is what runs when the delay is over: batchers that flush each other from it leave
 * together, in one write to the connection.
 */
export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** performance.now() of the last flush that sent something. */
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  /**
   * `busyWindowMs`: an item that finds the batcher idle (nothing flushed within that long) leaves
   * on the next event-loop turn instead of waiting `delayMs`. Default: always wait `delayMs`.
   */
  constructor(
    private readonly delayMs: number,
    private readonly maxItems: number,
    private readonly flush: (items: T[]) => void,
    private readonly onDue: () => void = () => this.flushNow(),
    private readonly busyWindowMs?: number,
  ) {}

  /** Items waiting for the next flush. */
  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.maxItems) {
      this.flushNow();
      return;
    }
    if (this.timer || this.immediate) return;
    const idle = this.busyWindowMs !== undefined && performance.now() - this.lastFlushAt > this.busyWindowMs;
    if (this.delayMs <= 0 || idle) this.immediate = setImmediate(this.onDue);
    else this.timer = setTimeout(this.onDue, this.delayMs);
  }

  /** What waits leaves on the next event-loop turn instead of when its delay is over. */
  expedite(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.immediate = setImmediate(this.onDue);
  }

  /** Flushes whatever is waiting now (in batches of at most maxItems). */
  flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.items.length > 0) this.lastFlushAt = performance.now();
    while (this.items.length > 0) {
      const batch = this.items.length <= this.maxItems ? this.items : this.items.slice(0, this.maxItems);
      this.items = this.items.length <= this.maxItems ? [] : this.items.slice(this.maxItems);
      this.flush(batch);
    }
  }

  /** Drops pending items and timers. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.items = [];
  }
}

/** Exponential backoff with jitter: `initial × multiplier^(attempt-1)`, capped, spread ±jitter. */
export function backoffDelay(
  attempt: number,
  o: { initialDelayMs: number; maxDelayMs: number; multiplier: number; jitter: number },
  random: () => number = Math.random,
): number {
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * Math.pow(o.multiplier, Math.max(0, attempt - 1)));
  const spread = base * o.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}

/** Measures process CPU use between two calls, as a percentage of one core. */
export class CpuMeter {
  private last = process.cpuUsage();
  private lastAt = performance.now();

  /** CPU % since the previous call (or since construction). */
  sample(): number {
    const now = performance.now();
    const current = process.cpuUsage();
    const cpuMs = (current.user - this.last.user + current.system - this.last.system) / 1000;
    const wallMs = now - this.lastAt;
    this.last = current;
    this.lastAt = now;
    if (wallMs <= 0) return 0;
    return Math.max(0, Math.round((cpuMs / wallMs) * 1000) / 10);
  }
}
