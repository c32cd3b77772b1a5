import { SwarmError } from '@swarm-mesh/contracts';

/**
 * Keeps one bug from stopping the engine.
 *
 * A tick applies requests and runs its phases (sweep, workflow settling, dispatch…) in memory
 * before one commit. An unexpected exception (not a `SwarmError`, i.e. not a request refused
 * for a reason) used to escape the tick: the whole write set was dropped, the callers of every
 * request in it were never answered, and the same exception came back on every later tick, so
 * the engine stalled. Now the failing request is refused with `INTERNAL` (a SwarmError it
 * throws is a refusal and goes to its caller as before), a failing phase is abandoned for this
 * tick, and the rest of the tick commits. What the failing code changed in
 * memory before it threw may not match Postgres, so the working set is then rebuilt from
 * Postgres — at most once per `minReloadIntervalMs`, so that a bug hit on every tick costs one
 * rebuild per interval instead of a rebuild loop.
 */
export class InternalErrorGuard {
  private suspect = false;
  private lastReloadAt = Number.NEGATIVE_INFINITY;

  /**
   * @param minReloadIntervalMs shortest time between two rebuilds after internal errors.
   * @param report called for every internal error (log it, count it).
   */
  constructor(
    private readonly minReloadIntervalMs: number,
    private readonly report: (phase: string, err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an error is a bug rather than a reasoned refusal. */
  static isInternal(err: unknown): boolean {
    return !(err instanceof SwarmError);
  }

  /** Records an internal error of `phase`; the working set is suspect from now on. */
  fault(phase: string, err: unknown): void {
    this.suspect = true;
    this.report(phase, err);
  }

  /**
   * Runs one phase of a tick. Any exception is recorded and swallowed: a phase has no caller to
   * refuse, so even a SwarmError escaping it is a bug.
   */
  run(phase: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fault(phase, err);
    }
  }

  /**
   * After a tick: true when the working set should be rebuilt now (an internal error happened and
   * no rebuild was done within the interval). Otherwise a pending rebuild waits for a later tick.
   */
  takeReload(): boolean {
    if (!this.suspect) return false;
    const now = this.now();
    if (now - this.lastReloadAt < this.minReloadIntervalMs) return false;
    this.suspect = false;
    this.lastReloadAt = now;
    return true;
  }

  /** A rebuild happened for another reason (a failed commit): nothing older is suspect. */
  reloaded(): void {
    this.suspect = false;
    this.lastReloadAt = this.now();
  }
}
