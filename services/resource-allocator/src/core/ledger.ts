/**
 * The sliding-window ledger of one pool. Every grant of rate credits is an entry that may be
 * consumed at any moment of [start, end] (end = lease expiry + dispatch slack), so the entry
 * counts in every window that intersects that interval. Admitting a new entry only when
 *   Σ amounts of entries with end > now − W  +  new amount  ≤  limit
 * guarantees that ANY window of length W holds at most `limit`: for a window, take the last entry
 * added that intersects it; every earlier entry intersecting the same window ended after
 * (its start − W), so it was summed when that last entry was checked.
 * Closing a grant shrinks its entry to what was spent (only ever lowers a sum), usage above the
 * estimate is added to the entry (the allocator then grants less).
 */
export interface LedgerAmounts {
  requests: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

export interface LedgerEntry extends LedgerAmounts {
  id: string;
  tenantId: string;
  start: number;
  end: number;
  /** Persisted (inserted) already. */
  saved: boolean;
  /** Changed since last persisted. */
  dirty: boolean;
  kind: 'grant' | 'explicit';
  holder: string;
  granted: LedgerAmounts;
  closed: boolean;
}

export const ZERO: Readonly<LedgerAmounts> = Object.freeze({ requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 });

export function addAmounts(a: LedgerAmounts, b: LedgerAmounts, sign = 1): LedgerAmounts {
  return {
    requests: a.requests + sign * b.requests,
    tokensIn: a.tokensIn + sign * b.tokensIn,
    tokensOut: a.tokensOut + sign * b.tokensOut,
    costUsd: a.costUsd + sign * b.costUsd,
  };
}

export class Ledger {
  private entries: LedgerEntry[] = [];
  readonly byId = new Map<string, LedgerEntry>();
  /** Cost of entries that left the short window, by second (for long cost periods). */
  private costSeconds: Array<{ sec: number; cost: number }> = [];
  private costSecondsTotal = 0;

  constructor(
    public windowMs: number,
    public costPeriodMs: number,
  ) {}

  add(e: LedgerEntry): void {
    this.entries.push(e);
    this.byId.set(e.id, e);
  }

  all(): readonly LedgerEntry[] {
    return this.entries;
  }

  /** Sums over the sliding window as seen by a new entry at `now` (rate dims) and over the cost period (cost). */
  sums(now: number, tenantId?: string): LedgerAmounts {
    const from = now - this.windowMs;
    const costFrom = now - this.costPeriodMs;
    let requests = 0;
    let tokensIn = 0;
    let tokensOut = 0;
    let cost = 0;
    for (const e of this.entries) {
      if (tenantId !== undefined && e.tenantId !== tenantId) continue;
      if (e.end > from) {
        requests += e.requests;
        tokensIn += e.tokensIn;
        tokensOut += e.tokensOut;
      }
      if (e.end > costFrom) cost += e.costUsd;
    }
    if (tenantId === undefined) {
      this.pruneCost(now);
      cost += this.costSecondsTotal;
    }
    return { requests, tokensIn, tokensOut, costUsd: cost };
  }

  /** Moves entries out of the short window (keeping their cost by the second) and forgets them. */
  prune(now: number): LedgerEntry[] {
    const from = now - this.windowMs;
    const gone: LedgerEntry[] = [];
    if (this.entries.length === 0 || this.entries.every((e) => e.end > from || !e.closed)) return gone;
    const keep: LedgerEntry[] = [];
    for (const e of this.entries) {
      if (e.end <= from && e.closed && e.saved && !e.dirty) {
        gone.push(e);
        this.byId.delete(e.id);
        if (e.costUsd > 0 && e.end > now - this.costPeriodMs) this.pushCost(e.end, e.costUsd);
      } else keep.push(e);
    }
    this.entries = keep;
    return gone;
  }

  /** Seeds cost of the period from persisted history (restart). */
  pushCost(at: number, cost: number): void {
    const sec = Math.floor(at / 1000);
    const last = this.costSeconds[this.costSeconds.length - 1];
    if (last && last.sec === sec) last.cost += cost;
    else this.costSeconds.push({ sec, cost });
    this.costSecondsTotal += cost;
  }

  private pruneCost(now: number): void {
    const fromSec = Math.floor((now - this.costPeriodMs) / 1000);
    let i = 0;
    while (i < this.costSeconds.length && this.costSeconds[i]!.sec + 1 <= fromSec) {
      this.costSecondsTotal -= this.costSeconds[i]!.cost;
      i++;
    }
    if (i > 0) this.costSeconds = this.costSeconds.slice(i);
    if (this.costSeconds.length === 0) this.costSecondsTotal = 0;
  }

  /** How long until `need` more fits under `limit` in dimension `pick` (an estimate for Retry-After). */
  waitFor(now: number, limit: number, need: number, pick: (e: LedgerAmounts) => number): number {
    const from = now - this.windowMs;
    const live = this.entries.filter((e) => e.end > from).sort((a, b) => a.end - b.end);
    let used = live.reduce((s, e) => s + pick(e), 0);
    for (const e of live) {
      if (used + need <= limit) break;
      used -= pick(e);
      if (used + need <= limit) return Math.max(1, e.end + this.windowMs - now);
    }
    return used + need <= limit ? 0 : this.windowMs;
  }
}
