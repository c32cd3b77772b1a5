/** Options of `eventually`. */
export interface EventuallyOptions {
  /** Give up after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Wait between attempts. Default 50 ms. */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  description?: string;
}

/** `T` without its falsy members: what `eventually` resolves with. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined | void>;

/**
 * Polls `fn` until it returns a truthy value without throwing, and resolves with that value;
 * at the deadline it throws an error naming `description` and carrying the last error (or the
 * last falsy value). A throw or a falsy result means "not yet", so both `() => list.find(…)`
 * and assertion-style callbacks work (end the latter with `return true`). Use it instead of
 * fixed sleeps. An attempt that hangs past the deadline counts as a failure.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        Promise.resolve().then(fn),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`attempt ${attempt} did not settle in time`)), Math.max(remaining, 1));
        }),
      ]);
      if (value) return value as Truthy<T>;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (Date.now() + intervalMs > deadline) {
      const what = options.description ?? 'condition';
      const last =
        lastError !== undefined
          ? `last error: ${lastError instanceof Error ? lastError.message : safeString(lastError)}`
          : `last value: ${safeString(lastValue)}`;
      throw new Error(`eventually: ${what} not met within ${timeoutMs} ms after ${attempt} attempts; ${last}`, {
        cause: lastError,
      });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A promise with its resolve/reject exposed (to release a handler a test holds back). */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
