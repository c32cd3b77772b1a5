import { randomUUID } from 'node:crypto';
import {
  type AllocationDto,
  type AllocationViewDto,
  type BudgetGrantDto,
  type DemandEntryDto,
  type DemandReport,
  type GrantDto,
  type GrantReply,
  type MonitoringDto,
  type PoolBindingDto,
  type PoolSnapshotDto,
  PRIORITIES,
  PRIORITY_RANK,
  RateLimitedError,
  type ResourceSnapshot,
  type UtilisationDto,
} from '@swarm-mesh/contracts';
import { addAmounts, type LedgerAmounts, type LedgerEntry } from './ledger';
import {
  type Budget,
  budgetState,
  costPer1k,
  DEFAULT_POLICY,
  type Estimate,
  type Explicit,
  type Lease,
  type Policy,
  type Pool,
  poolMayServe,
  poolPaused,
  type Reservation,
  reservationActive,
  rollBudget,
  toReservationDto,
  windowOf,
} from './model';

const EMPTY_ALLOTMENTS: ReadonlyMap<string, number> = new Map();

/** Tunables of the allocator (all in ms; tests shrink them). */
export interface AllocatorOptions {
  /** Life of a grant's rate credits after it is sent. */
  leaseTtlMs: number;
  /** Added to a grant's end in the ledger: dispatch and provider-call latency after admission. */
  slackMs: number;
  /** How often a holder should report. */
  reportIntervalMs: number;
  /** A holder silent this long is gone: its leases are released. */
  holderTtlMs: number;
}

/** What the host must persist after a change (flushed in batches). */
export interface PendingWrites {
  admitted: Lease[];
  ended: Array<{ taskId: string; attempt: number; outcome: string; usage: LedgerAmounts | null; at: number }>;
  pools: Set<string>;
  expiredHolders: string[];
}

interface TenantDemand {
  tenantId: string;
  queued: number[];
  queuedCount: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  oldestWaitMs: number;
  earliestDeadlineInMs: number | undefined;
}

interface HolderState {
  id: string;
  lastSeen: number;
  /** poolId → demand entries of the last report. */
  demand: Map<string, DemandEntryDto[]>;
  openGrants: Set<string>;
}

const EWMA = 0.2;
const URGENT = PRIORITY_RANK.HIGH;

/**
 * The allocator's state and decisions. Pure in-memory logic (no I/O): the host feeds it reports
 * and CRUD changes, persists what `pending` lists, and publishes snapshots it builds.
 */
export class AllocatorCore {
  readonly pools = new Map<string, Pool>();
  readonly reservations = new Map<string, Reservation>();
  readonly budgets = new Map<string, Budget>();
  /** `${taskId}:${attempt}` → lease */
  readonly leases = new Map<string, Lease>();
  readonly estimates = new Map<string, Estimate>();
  readonly explicit = new Map<string, Explicit>();
  /** Until when each pool's slot allotments hold (they ride on grants of leaseTtlMs; a holder that stopped reporting lets them lapse). */
  private readonly allottedUntil = new Map<string, number>();
  readonly holders = new Map<string, HolderState>();
  /** `${tenantId}|${poolId ?? ''}` → policy */
  readonly policies = new Map<string, Policy>();
  readonly pending: PendingWrites = { admitted: [], ended: [], pools: new Set(), expiredHolders: [] };

  constructor(readonly options: AllocatorOptions) {}

  policyOf(p: Pool): Policy {
    return this.policies.get(`${p.tenantId}|${p.id}`) ?? this.policies.get(`${p.tenantId}|`) ?? DEFAULT_POLICY;
  }

  estimateKey(poolId: string, capability: string): string {
    return `${poolId}\u0000${capability}`;
  }

  /**
   * Slots held on a pool per tenant: its live leases, or what its holders report running when that
   * is more (attempts a restarted coordinator reloaded, whose leases belong to its predecessor).
   */
  private leaseCounts(poolId: string): Map<string, number> {
    const m = new Map<string, number>();
    for (const l of this.leases.values()) if (l.poolId === poolId) m.set(l.tenantId, (m.get(l.tenantId) ?? 0) + 1);
    const reported = new Map<string, number>();
    for (const h of this.holders.values())
      for (const e of h.demand.get(poolId) ?? []) reported.set(e.tenantId, (reported.get(e.tenantId) ?? 0) + e.running);
    for (const [t, n] of reported) if (n > (m.get(t) ?? 0)) m.set(t, n);
    return m;
  }

  private explicitSlots(poolId: string, now: number): number {
    let n = 0;
    for (const e of this.explicit.values()) if (e.poolId === poolId && e.releasedAt === null && e.expiresAt > now) n += e.slots;
    return n;
  }

  /** Demand of every holder on a pool, per tenant. */
  private demandOf(poolId: string): Map<string, TenantDemand> {
    const out = new Map<string, TenantDemand>();
    for (const h of this.holders.values()) {
      for (const e of h.demand.get(poolId) ?? []) {
        let d = out.get(e.tenantId);
        if (!d) {
          d = {
            tenantId: e.tenantId,
            queued: [0, 0, 0, 0],
            queuedCount: 0,
            tokensIn: 0,
            tokensOut: 0,
            costUsd: 0,
            oldestWaitMs: 0,
            earliestDeadlineInMs: undefined,
          };
          out.set(e.tenantId, d);
        }
        for (let i = 0; i < 4; i++) d.queued[i]! += e.queued[i] ?? 0;
        d.queuedCount += e.queued.reduce((a, b) => a + b, 0);
        d.tokensIn += e.queuedTokensIn;
        d.tokensOut += e.queuedTokensOut;
        d.costUsd += e.queuedCostUsd;
        d.oldestWaitMs = Math.max(d.oldestWaitMs, e.oldestWaitMs);
        if (e.earliestDeadlineInMs !== undefined)
          d.earliestDeadlineInMs = Math.min(d.earliestDeadlineInMs ?? Number.POSITIVE_INFINITY, e.earliestDeadlineInMs);
      }
    }
    return out;
  }

  private activeReservations(poolId: string, now: number): Reservation[] {
    const out: Reservation[] = [];
    for (const r of this.reservations.values()) if (r.poolId === poolId && reservationActive(r, now)) out.push(r);
    return out;
  }

  // ── the exchange ─────────────────────────────────────────────────────────

  /** Applies a holder's report and sizes its new grants. */
  exchange(report: DemandReport, now: number, traceparent: string | undefined): GrantReply {
    const holder = this.touchHolder(report.holder, now);
    this.applySpent(report, now);
    this.applyLeases(report, holder.id, now);
    for (const rl of report.rateLimited) this.pauseForRateLimit(rl.poolId, rl.retryAfterMs, now);
    holder.demand.clear();
    for (const p of report.pools) holder.demand.set(p.poolId, p.entries);
    // grants the holder did not report as closed stay in the ledger at their full amount (safe)
    holder.openGrants.clear();
    this.expireHolders(now);

    const grants: GrantDto[] = [];
    const bindings: PoolBindingDto[] = [];
    for (const pool of this.pools.values()) {
      bindings.push(this.binding(pool));
      const own = holder.demand.get(pool.id) ?? [];
      const tenants = new Set(own.map((e) => e.tenantId));
      if (tenants.size === 0) continue;
      for (const g of this.sizeGrants(pool, tenants, now, traceparent)) {
        grants.push(g);
        holder.openGrants.add(g.grantId);
        const entry = pool.ledger.byId.get(g.grantId);
        if (entry) entry.holder = holder.id;
      }
    }
    return { pools: bindings, grants, budgets: this.budgetGrants(now), reportIntervalMs: this.options.reportIntervalMs };
  }

  private touchHolder(id: string, now: number): HolderState {
    let h = this.holders.get(id);
    if (!h) {
      h = { id, lastSeen: now, demand: new Map(), openGrants: new Set() };
      this.holders.set(id, h);
    }
    h.lastSeen = now;
    return h;
  }

  /** A holder silent past its ttl is gone: its leases are released (the agent or coordinator died). */
  expireHolders(now: number): void {
    for (const h of [...this.holders.values()]) {
      if (now - h.lastSeen <= this.options.holderTtlMs) continue;
      this.holders.delete(h.id);
      for (const [k, l] of [...this.leases]) {
        if (l.holder !== h.id) continue;
        this.leases.delete(k);
        this.releaseBudget(l, null, now);
        this.pending.ended.push({ taskId: l.taskId, attempt: l.attempt, outcome: 'expired', usage: null, at: now });
      }
      this.pending.expiredHolders.push(h.id);
    }
  }

  private applySpent(report: DemandReport, now: number): void {
    for (const s of report.spent) {
      for (const pool of this.pools.values()) {
        const e = pool.ledger.byId.get(s.grantId);
        if (!e) continue;
        if (s.final && !e.closed) {
          // the unspent rest returns to the pool; fair-share service counts what was used
          const unused = addAmounts(
            e.granted,
            { requests: s.requests, tokensIn: s.tokensIn, tokensOut: s.tokensOut, costUsd: s.costUsd },
            -1,
          );
          const extra = addAmounts(e, e.granted, -1); // reconciliation already charged on top
          e.requests = Math.max(0, s.requests + extra.requests);
          e.tokensIn = Math.max(0, s.tokensIn + extra.tokensIn);
          e.tokensOut = Math.max(0, s.tokensOut + extra.tokensOut);
          e.costUsd = Math.max(0, s.costUsd + extra.costUsd);
          e.closed = true;
          e.dirty = true;
          const served = pool.served.get(e.tenantId);
          if (served !== undefined) pool.served.set(e.tenantId, Math.max(0, served - this.scalar(pool, unused)));
        }
        break;
      }
    }
    void now;
  }

  private applyLeases(report: DemandReport, holder: string, now: number): void {
    for (const a of report.admitted) {
      const key = `${a.taskId}:${a.attempt}`;
      if (this.leases.has(key)) continue;
      const lease: Lease = {
        taskId: a.taskId,
        attempt: a.attempt,
        poolId: a.poolId,
        tenantId: a.tenantId,
        workflowId: a.workflowId ?? null,
        capability: a.capability,
        priority: PRIORITY_RANK[a.priority],
        holder,
        grantId: a.grantId,
        est: { tokensIn: a.tokensIn, tokensOut: a.tokensOut, costUsd: a.costUsd },
        admittedAt: now,
      };
      this.leases.set(key, lease);
      for (const b of this.budgetsFor(a.tenantId, lease.workflowId, now)) {
        b.reservedUsd += a.costUsd;
        b.dirty = true;
      }
      const pool = this.pools.get(a.poolId);
      if (pool) this.observeAdmission(pool, a.tokensIn + a.tokensOut, now);
      this.pending.admitted.push(lease);
    }
    for (const e of report.ended) {
      const key = `${e.taskId}:${e.attempt}`;
      const lease = this.leases.get(key);
      if (!lease) continue;
      this.leases.delete(key);
      const hasUsage = e.tokensIn !== undefined || e.tokensOut !== undefined || e.costUsd !== undefined;
      const pool = this.pools.get(lease.poolId);
      const actual: LedgerAmounts | null = hasUsage
        ? {
            requests: 1,
            tokensIn: e.tokensIn ?? 0,
            tokensOut: e.tokensOut ?? 0,
            costUsd: e.costUsd ?? (pool ? this.priceOf(pool, e.tokensIn ?? 0, e.tokensOut ?? 0) : lease.est.costUsd),
          }
        : null;
      this.releaseBudget(lease, actual, now);
      if (pool && actual) {
        this.reconcile(pool, lease, actual, now);
        this.learn(pool, lease.capability, actual);
      }
      this.pending.ended.push({ taskId: e.taskId, attempt: e.attempt, outcome: e.outcome, usage: actual, at: now });
    }
  }

  private releaseBudget(l: Lease, actual: LedgerAmounts | null, now: number): void {
    for (const b of this.budgetsFor(l.tenantId, l.workflowId, now)) {
      b.reservedUsd = Math.max(0, b.reservedUsd - l.est.costUsd);
      b.spentUsd += actual ? actual.costUsd : l.est.costUsd;
      b.dirty = true;
    }
  }

  /** Usage above (or below) the estimate charged at admission adjusts the grant's ledger entry. */
  private reconcile(pool: Pool, lease: Lease, actual: LedgerAmounts, now: number): void {
    const diff: LedgerAmounts = {
      requests: 0,
      tokensIn: actual.tokensIn - lease.est.tokensIn,
      tokensOut: actual.tokensOut - lease.est.tokensOut,
      costUsd: actual.costUsd - lease.est.costUsd,
    };
    const e = pool.ledger.byId.get(lease.grantId);
    if (e) {
      e.tokensIn = Math.max(0, e.tokensIn + diff.tokensIn);
      e.tokensOut = Math.max(0, e.tokensOut + diff.tokensOut);
      e.costUsd = Math.max(0, e.costUsd + diff.costUsd);
      e.dirty = true;
    } else if (diff.tokensIn > 0 || diff.tokensOut > 0 || diff.costUsd > 0) {
      // the grant already left the window: charge the overrun as a fresh entry
      this.addEntry(pool, lease.tenantId, 'grant', lease.holder, now, now + this.options.slackMs, {
        requests: 0,
        tokensIn: Math.max(0, diff.tokensIn),
        tokensOut: Math.max(0, diff.tokensOut),
        costUsd: Math.max(0, diff.costUsd),
      }).closed = true;
    }
  }

  private learn(pool: Pool, capability: string, actual: LedgerAmounts): void {
    const k = this.estimateKey(pool.id, capability);
    const prev = this.estimates.get(k);
    if (!prev) {
      this.estimates.set(k, { tokensIn: actual.tokensIn, tokensOut: actual.tokensOut, costUsd: actual.costUsd, samples: 1, dirty: true });
      return;
    }
    prev.tokensIn += EWMA * (actual.tokensIn - prev.tokensIn);
    prev.tokensOut += EWMA * (actual.tokensOut - prev.tokensOut);
    prev.costUsd += EWMA * (actual.costUsd - prev.costUsd);
    prev.samples++;
    prev.dirty = true;
  }

  private observeAdmission(pool: Pool, tokens: number, now: number): void {
    const dt = Math.max(1, now - pool.lastRateAt);
    const a = Math.min(1, dt / 5_000);
    pool.admitRate = pool.admitRate * (1 - a) + (1 / dt) * a;
    pool.tokenRate = pool.tokenRate * (1 - a) + (tokens / dt) * a;
    pool.lastRateAt = now;
  }

  pauseForRateLimit(poolId: string, retryAfterMs: number, now: number): void {
    const p = this.pools.get(poolId);
    if (!p) return;
    p.rateLimited++;
    const until = now + Math.max(1, retryAfterMs);
    if (p.pausedUntil === null || p.pausedUntil < until) {
      p.pausedUntil = until;
      p.pauseReason = `provider rate limited (429), retry after ${retryAfterMs} ms`;
      p.updatedAt = now;
      this.pending.pools.add(p.id);
    }
  }

  priceOf(pool: Pool, tokensIn: number, tokensOut: number): number {
    const pr = pool.pricing;
    if (!pr) return 0;
    return (tokensIn / 1000) * (pr.inputUsdPer1k ?? 0) + (tokensOut / 1000) * (pr.outputUsdPer1k ?? 0) + (pr.requestUsd ?? 0);
  }

  /** The scalar fair share is measured in: tokens when tokens are limited, else requests, else cost. */
  private scalar(pool: Pool, a: LedgerAmounts): number {
    const l = pool.limits;
    if (l.tokensPerMinute !== undefined || l.inputTokensPerMinute !== undefined || l.outputTokensPerMinute !== undefined)
      return a.tokensIn + a.tokensOut;
    if (l.requestsPerMinute !== undefined) return a.requests;
    return a.costUsd;
  }

  private rateLimited(pool: Pool): boolean {
    const l = pool.limits;
    return (
      l.requestsPerMinute !== undefined ||
      l.inputTokensPerMinute !== undefined ||
      l.outputTokensPerMinute !== undefined ||
      l.tokensPerMinute !== undefined ||
      l.costUsdPerPeriod !== undefined
    );
  }

  /** Capacity left for a new entry at `now`, per limited dimension (Infinity when not limited). */
  available(pool: Pool, now: number): { requests: number; tokensIn: number; tokensOut: number; tokens: number; costUsd: number } {
    const l = pool.limits;
    const s = pool.ledger.sums(now);
    const left = (limit: number | undefined, used: number): number =>
      limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, limit - used);
    return {
      requests: left(l.requestsPerMinute, s.requests),
      tokensIn: left(l.inputTokensPerMinute, s.tokensIn),
      tokensOut: left(l.outputTokensPerMinute, s.tokensOut),
      tokens: left(l.tokensPerMinute, s.tokensIn + s.tokensOut),
      costUsd: left(l.costUsdPerPeriod, s.costUsd),
    };
  }

  private addEntry(
    pool: Pool,
    tenantId: string,
    kind: 'grant' | 'explicit',
    holder: string,
    start: number,
    end: number,
    a: LedgerAmounts,
    id: string = randomUUID(),
  ): LedgerEntry {
    const e: LedgerEntry = { id, tenantId, start, end, ...a, granted: { ...a }, saved: false, dirty: true, kind, holder, closed: false };
    pool.ledger.add(e);
    return e;
  }

  /** Effective priority of a tenant's waiting work under aging. */
  private effective(d: TenantDemand, policy: Policy): number {
    let top = -1;
    for (let p = 3; p >= 0; p--)
      if ((d.queued[p] ?? 0) > 0) {
        top = p;
        break;
      }
    return top + Math.min(4, Math.floor(d.oldestWaitMs / policy.agingStepMs));
  }

  private topQueued(d: TenantDemand): number {
    for (let p = 3; p >= 0; p--) if ((d.queued[p] ?? 0) > 0) return p;
    return -1;
  }

  private weight(policy: Policy, tenantId: string): number {
    if (policy.kind !== 'fair_share') return 1;
    return policy.weights[tenantId] ?? 1;
  }

  /**
   * Slot allotments and rate credits of a pool for the tenants of the reporting holder.
   * Slots: weighted max-min fair targets over running + queued (reservation owners first, up to
   * their reservation); free slots go to reservation owners below their reservation, then to
   * urgent (HIGH/CRITICAL) waiters, then by policy. Rate credits: weighted fair queuing over the
   * window's free capacity in per-task quanta, in the same order.
   */
  private sizeGrants(pool: Pool, tenants: Set<string>, now: number, traceparent: string | undefined): GrantDto[] {
    const policy = this.policyOf(pool);
    const demand = this.demandOf(pool.id);
    const running = this.leaseCounts(pool.id);
    const all = new Set<string>([...demand.keys(), ...running.keys()]);
    const paused = poolPaused(pool, now);
    const reservations = this.activeReservations(pool.id, now);
    const reservedSlots = new Map<string, number>();
    for (const r of reservations) if (r.slots) reservedSlots.set(r.tenantId, (reservedSlots.get(r.tenantId) ?? 0) + r.slots);

    // ── slots ──
    const C = pool.limits.concurrency;
    const allot = new Map<string, number>();
    if (C !== undefined) {
      const cap = Math.max(0, C - this.explicitSlots(pool.id, now));
      const want = new Map<string, number>();
      for (const t of all) want.set(t, (running.get(t) ?? 0) + (demand.get(t)?.queuedCount ?? 0));
      const target = new Map<string, number>();
      let left = cap;
      for (const [t, s] of reservedSlots) {
        const give = Math.min(s, want.get(t) ?? 0, left);
        target.set(t, give);
        left -= give;
      }
      // weighted water-filling of the rest
      let active = [...all].filter((t) => (want.get(t) ?? 0) > (target.get(t) ?? 0));
      while (left > 0 && active.length > 0) {
        const wsum = active.reduce((s, t) => s + this.weight(policy, t), 0) || 1;
        let given = 0;
        for (const t of active) {
          const share = Math.max(1, Math.floor((left * this.weight(policy, t)) / wsum));
          const room = (want.get(t) ?? 0) - (target.get(t) ?? 0);
          const g = Math.min(share, room, left - given);
          if (g <= 0) continue;
          target.set(t, (target.get(t) ?? 0) + g);
          given += g;
        }
        if (given === 0) break;
        left -= given;
        active = active.filter((t) => (want.get(t) ?? 0) > (target.get(t) ?? 0));
      }
      let free = cap;
      for (const t of all) free -= running.get(t) ?? 0;
      const order = [...all].sort((a, b) => this.compareTenants(a, b, policy, demand, target, running, reservedSlots, pool));
      // a tenant at or over its fair target keeps what runs but may not start more: the slots its
      // attempts free go back to the pool, to whoever is below target
      for (const t of all) allot.set(t, Math.min(running.get(t) ?? 0, target.get(t) ?? 0));
      for (const t of order) {
        if (free <= 0 || paused) break;
        const d = demand.get(t);
        if (!d || d.queuedCount === 0) continue;
        const r = running.get(t) ?? 0;
        let deficit = (target.get(t) ?? 0) - r;
        // urgent waiters get a slot even above their fair target
        if (this.topQueued(d) >= URGENT) deficit = Math.max(deficit, (d.queued[2] ?? 0) + (d.queued[3] ?? 0));
        const give = Math.min(Math.max(0, deficit), d.queuedCount, free);
        if (give > 0) allot.set(t, r + give);
        free -= give;
      }
      // tenants over their target keep what runs and get nothing new
      pool.allotted = allot;
      this.allottedUntil.set(pool.id, now + this.options.leaseTtlMs);
    }

    // ── rate credits ──
    const amounts = new Map<string, LedgerAmounts>();
    if (!paused && this.rateLimited(pool)) {
      const avail = this.available(pool, now);
      const remaining = new Map<string, number>();
      const per = new Map<string, LedgerAmounts>();
      for (const t of tenants) {
        const d = demand.get(t);
        if (!d || d.queuedCount === 0) continue;
        let n = d.queuedCount;
        if (C !== undefined) n = Math.min(n, Math.max(0, (allot.get(t) ?? 0) - (running.get(t) ?? 0)));
        if (n <= 0) continue;
        remaining.set(t, n);
        per.set(t, {
          requests: 1,
          tokensIn: Math.ceil(d.tokensIn / d.queuedCount),
          tokensOut: Math.ceil(d.tokensOut / d.queuedCount),
          costUsd: d.costUsd / d.queuedCount,
        });
        // a tenant coming back from idle starts at the current virtual time (no banked credit)
        if (!pool.served.has(t)) {
          const vals = [...pool.served.values()];
          pool.served.set(t, vals.length > 0 ? Math.min(...vals) : 0);
        }
      }
      const usedByTenant = new Map<string, LedgerAmounts>();
      for (const r of reservations)
        if (r.requestsPerMinute !== undefined || r.tokensPerMinute !== undefined)
          usedByTenant.set(r.tenantId, pool.ledger.sums(now, r.tenantId));
      for (let guard = 0; guard < 100_000 && remaining.size > 0; guard++) {
        let best: string | undefined;
        for (const t of remaining.keys())
          if (best === undefined || this.rateOrder(t, best, policy, demand, pool, reservations, usedByTenant) < 0) best = t;
        const t = best!;
        const q = per.get(t)!;
        const fits =
          avail.requests >= q.requests &&
          avail.tokensIn >= q.tokensIn &&
          avail.tokensOut >= q.tokensOut &&
          avail.tokens >= q.tokensIn + q.tokensOut &&
          avail.costUsd >= q.costUsd;
        if (!fits) break; // the head waits for the window (no starvation of large tasks)
        avail.requests -= q.requests;
        avail.tokensIn -= q.tokensIn;
        avail.tokensOut -= q.tokensOut;
        avail.tokens -= q.tokensIn + q.tokensOut;
        avail.costUsd -= q.costUsd;
        amounts.set(t, addAmounts(amounts.get(t) ?? { requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 }, q));
        pool.served.set(t, (pool.served.get(t) ?? 0) + this.scalar(pool, q) / Math.max(1e-9, this.weight(policy, t)));
        const u = usedByTenant.get(t);
        if (u) usedByTenant.set(t, addAmounts(u, q));
        const n = remaining.get(t)! - 1;
        if (n <= 0) remaining.delete(t);
        else remaining.set(t, n);
      }
    }

    const out: GrantDto[] = [];
    const ttl = this.options.leaseTtlMs;
    for (const t of tenants) {
      if (!poolMayServe(pool, t)) continue;
      const id = randomUUID();
      const g: GrantDto = { grantId: id, poolId: pool.id, tenantId: t, ttlMs: ttl };
      if (traceparent) g.traceparent = traceparent;
      if (C !== undefined) g.slots = paused ? 0 : (allot.get(t) ?? running.get(t) ?? 0);
      if (this.rateLimited(pool) || paused) {
        const a = paused
          ? { requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 }
          : (amounts.get(t) ?? { requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 });
        g.requests = a.requests;
        g.tokensIn = a.tokensIn;
        g.tokensOut = a.tokensOut;
        g.tokens = a.tokensIn + a.tokensOut;
        g.costUsd = a.costUsd;
        if (a.requests > 0) this.addEntry(pool, t, 'grant', '', now, now + ttl + this.options.slackMs, a, id);
      }
      out.push(g);
    }
    return out;
  }

  /** Order of free slots: reservation owners below their reservation, urgent waiters, then the policy. */
  private compareTenants(
    a: string,
    b: string,
    policy: Policy,
    demand: Map<string, TenantDemand>,
    target: Map<string, number>,
    running: Map<string, number>,
    reserved: Map<string, number>,
    pool: Pool,
  ): number {
    const ra = (reserved.get(a) ?? 0) > (running.get(a) ?? 0) ? 1 : 0;
    const rb = (reserved.get(b) ?? 0) > (running.get(b) ?? 0) ? 1 : 0;
    if (ra !== rb) return rb - ra;
    const da = demand.get(a);
    const db = demand.get(b);
    const ua = da && this.topQueued(da) >= URGENT ? this.topQueued(da) : -1;
    const ub = db && this.topQueued(db) >= URGENT ? this.topQueued(db) : -1;
    if (ua !== ub) return ub - ua;
    return this.policyCompare(a, b, policy, demand, pool, () => {
      const defA = (target.get(a) ?? 0) - (running.get(a) ?? 0);
      const defB = (target.get(b) ?? 0) - (running.get(b) ?? 0);
      return defB - defA;
    });
  }

  private rateOrder(
    a: string,
    b: string,
    policy: Policy,
    demand: Map<string, TenantDemand>,
    pool: Pool,
    reservations: Reservation[],
    used: Map<string, LedgerAmounts>,
  ): number {
    const under = (t: string): number => {
      for (const r of reservations) {
        if (r.tenantId !== t) continue;
        const u = used.get(t);
        if (!u) continue;
        if (r.requestsPerMinute !== undefined && u.requests < r.requestsPerMinute) return 1;
        if (r.tokensPerMinute !== undefined && u.tokensIn + u.tokensOut < r.tokensPerMinute) return 1;
      }
      return 0;
    };
    const ra = under(a);
    const rb = under(b);
    if (ra !== rb) return rb - ra;
    const da = demand.get(a);
    const db = demand.get(b);
    const ua = da && this.topQueued(da) >= URGENT ? this.topQueued(da) : -1;
    const ub = db && this.topQueued(db) >= URGENT ? this.topQueued(db) : -1;
    if (ua !== ub) return ub - ua;
    return this.policyCompare(a, b, policy, demand, pool, () => (pool.served.get(a) ?? 0) - (pool.served.get(b) ?? 0));
  }

  private policyCompare(a: string, b: string, policy: Policy, demand: Map<string, TenantDemand>, _pool: Pool, fair: () => number): number {
    const da = demand.get(a);
    const db = demand.get(b);
    switch (policy.kind) {
      case 'priority_aging': {
        const ea = da ? this.effective(da, policy) : -1;
        const eb = db ? this.effective(db, policy) : -1;
        if (ea !== eb) return eb - ea;
        return fair();
      }
      case 'edf': {
        const xa = da?.earliestDeadlineInMs ?? Number.POSITIVE_INFINITY;
        const xb = db?.earliestDeadlineInMs ?? Number.POSITIVE_INFINITY;
        if (xa !== xb) return xa < xb ? -1 : 1;
        return fair();
      }
      case 'fifo': {
        const wa = da?.oldestWaitMs ?? 0;
        const wb = db?.oldestWaitMs ?? 0;
        if (wa !== wb) return wb - wa;
        return fair();
      }
      case 'fair_share':
        return fair();
    }
  }

  // ── budgets ──────────────────────────────────────────────────────────────

  budgetsFor(tenantId: string, workflowId: string | null, now: number): Budget[] {
    const out: Budget[] = [];
    for (const b of this.budgets.values()) {
      if (b.tenantId !== tenantId) continue;
      if (b.workflowId !== null && b.workflowId !== workflowId) continue;
      rollBudget(b, now);
      out.push(b);
    }
    return out;
  }

  private budgetGrants(now: number): BudgetGrantDto[] {
    const out: BudgetGrantDto[] = [];
    for (const b of this.budgets.values()) {
      rollBudget(b, now);
      out.push({
        budgetId: b.id,
        tenantId: b.tenantId,
        ...(b.workflowId !== null ? { workflowId: b.workflowId } : {}),
        action: b.action,
        state: budgetState(b),
        creditUsd: Math.max(0, b.limitUsd - b.spentUsd - b.reservedUsd),
        limitUsd: b.limitUsd,
        spentUsd: Math.max(0, b.spentUsd),
      });
    }
    return out;
  }

  // ── bindings, explicit allocations, views ───────────────────────────────

  binding(pool: Pool): PoolBindingDto {
    const estimates = [];
    for (const [k, e] of this.estimates) {
      const [poolId, capability] = k.split('\u0000') as [string, string];
      if (poolId !== pool.id) continue;
      estimates.push({
        capability,
        tokensIn: Math.round(e.tokensIn),
        tokensOut: Math.round(e.tokensOut),
        costUsd: Math.round(e.costUsd * 1e6) / 1e6,
        samples: e.samples,
      });
    }
    return {
      poolId: pool.id,
      ownerTenantId: pool.tenantId,
      name: pool.name,
      capabilities: [...pool.capabilities],
      tenants: [...pool.tenants],
      paused: poolPaused(pool, Date.now()),
      costPer1kTokens: costPer1k(pool),
      pricing: { ...(pool.pricing ?? {}) },
      defaultEstimate: { ...(pool.defaultEstimate ?? {}) },
      estimates,
    };
  }

  /** An explicit allocation: granted now in full, or RATE_LIMITED with a retry-after. */
  /**
   * A pool's slot allotments while the grants that carried them hold: once a holder stops
   * reporting (its tasks finished, no demand left) they lapse instead of keeping the slots
   * reserved for work that no longer exists.
   */
  private liveAllotments(pool: Pool, now: number): ReadonlyMap<string, number> {
    return now <= (this.allottedUntil.get(pool.id) ?? 0) ? pool.allotted : EMPTY_ALLOTMENTS;
  }

  allocate(
    pool: Pool,
    tenantId: string,
    req: { requests: number; tokensIn: number; tokensOut: number; costUsd: number; slots: number; ttlMs: number; holder: string },
    now: number,
  ): Explicit {
    if (poolPaused(pool, now)) {
      throw new RateLimitedError(pool.pausedUntil !== null ? Math.max(1, pool.pausedUntil - now) : 60_000);
    }
    const avail = this.available(pool, now);
    const need = { requests: req.requests, tokensIn: req.tokensIn, tokensOut: req.tokensOut, costUsd: req.costUsd };
    const l = pool.limits;
    let wait = 0;
    if (avail.requests < need.requests)
      wait = Math.max(
        wait,
        pool.ledger.waitFor(now, l.requestsPerMinute!, need.requests, (e) => e.requests),
      );
    if (avail.tokensIn < need.tokensIn)
      wait = Math.max(
        wait,
        pool.ledger.waitFor(now, l.inputTokensPerMinute!, need.tokensIn, (e) => e.tokensIn),
      );
    if (avail.tokensOut < need.tokensOut)
      wait = Math.max(
        wait,
        pool.ledger.waitFor(now, l.outputTokensPerMinute!, need.tokensOut, (e) => e.tokensOut),
      );
    if (avail.tokens < need.tokensIn + need.tokensOut)
      wait = Math.max(
        wait,
        pool.ledger.waitFor(now, l.tokensPerMinute!, need.tokensIn + need.tokensOut, (e) => e.tokensIn + e.tokensOut),
      );
    if (avail.costUsd < need.costUsd) wait = Math.max(wait, l.costPeriodMs ?? 60_000);
    if (req.slots > 0 && l.concurrency !== undefined) {
      let held = this.explicitSlots(pool.id, now);
      const running = this.leaseCounts(pool.id);
      const allotted = this.liveAllotments(pool, now);
      for (const t of new Set([...running.keys(), ...allotted.keys()])) held += Math.max(running.get(t) ?? 0, allotted.get(t) ?? 0);
      if (held + req.slots > l.concurrency) wait = Math.max(wait, this.options.leaseTtlMs);
    }
    if (wait > 0) throw new RateLimitedError(wait);
    const id = randomUUID();
    if (need.requests + need.tokensIn + need.tokensOut + need.costUsd > 0)
      this.addEntry(pool, tenantId, 'explicit', req.holder, now, now + req.ttlMs + this.options.slackMs, need, id).closed = true;
    const ex: Explicit = {
      id,
      poolId: pool.id,
      tenantId,
      holder: req.holder,
      ...need,
      slots: req.slots,
      expiresAt: now + req.ttlMs,
      releasedAt: null,
      createdAt: now,
    };
    this.explicit.set(id, ex);
    return ex;
  }

  toAllocationDto(e: Explicit): AllocationDto {
    return {
      id: e.id,
      poolId: e.poolId,
      tenantId: e.tenantId,
      holder: e.holder,
      requests: e.requests,
      tokensIn: e.tokensIn,
      tokensOut: e.tokensOut,
      costUsd: e.costUsd,
      slots: e.slots,
      expiresAt: new Date(e.expiresAt).toISOString(),
      releasedAt: e.releasedAt === null ? null : new Date(e.releasedAt).toISOString(),
      createdAt: new Date(e.createdAt).toISOString(),
    };
  }

  private usage(pool: Pool, now: number): { requests: number; inputTokens: number; outputTokens: number; costUsd: number; slots: number } {
    const s = pool.ledger.sums(now);
    let slots = this.explicitSlots(pool.id, now);
    for (const l of this.leases.values()) if (l.poolId === pool.id) slots++;
    return { requests: s.requests, inputTokens: s.tokensIn, outputTokens: s.tokensOut, costUsd: Math.round(s.costUsd * 1e6) / 1e6, slots };
  }

  visiblePools(tenantId: string, poolId?: string): Pool[] {
    return [...this.pools.values()].filter((p) => poolMayServe(p, tenantId) && (poolId === undefined || p.id === poolId));
  }

  allocationView(tenantId: string, poolId: string | undefined, now: number): AllocationViewDto {
    return {
      at: new Date(now).toISOString(),
      pools: this.visiblePools(tenantId, poolId).map((p) => {
        const policy = this.policyOf(p);
        const demand = this.demandOf(p.id);
        const running = this.leaseCounts(p.id);
        const allotted = this.liveAllotments(p, now);
        const tenants = [...new Set([...demand.keys(), ...running.keys(), ...allotted.keys()])]
          .filter((t) => t === tenantId || p.tenantId === tenantId)
          .sort();
        return {
          poolId: p.id,
          name: p.name,
          policy: policy.kind,
          paused: poolPaused(p, now),
          limits: { ...p.limits },
          usage: this.usage(p, now),
          tenants: tenants.map((t) => ({
            tenantId: t,
            ...(p.limits.concurrency !== undefined ? { slots: allotted.get(t) ?? running.get(t) ?? 0 } : {}),
            slotsHeld: running.get(t) ?? 0,
            leases: running.get(t) ?? 0,
            queued: demand.get(t)?.queuedCount ?? 0,
            weight: policy.weights[t] ?? 1,
          })),
          reservations: this.activeReservations(p.id, now)
            .filter((r) => r.tenantId === tenantId || p.tenantId === tenantId)
            .map((r) => toReservationDto(r, now)),
          allocations: [...this.explicit.values()]
            .filter(
              (e) =>
                e.poolId === p.id && e.releasedAt === null && e.expiresAt > now && (e.tenantId === tenantId || p.tenantId === tenantId),
            )
            .map((e) => this.toAllocationDto(e)),
        };
      }),
    };
  }

  monitoring(tenantId: string, poolId: string | undefined, now: number): MonitoringDto {
    return {
      at: new Date(now).toISOString(),
      pools: this.visiblePools(tenantId, poolId).map((p) => {
        const u = this.usage(p, now);
        const l = p.limits;
        const ratio = (used: number, limit: number | undefined): number | undefined =>
          limit === undefined ? undefined : limit === 0 ? (used > 0 ? 1 : 0) : Math.round((used / limit) * 1000) / 1000;
        const util: UtilisationDto = {};
        const set = (k: keyof UtilisationDto, v: number | undefined): void => {
          if (v !== undefined) util[k] = v;
        };
        set('requests', ratio(u.requests, l.requestsPerMinute));
        set('inputTokens', ratio(u.inputTokens, l.inputTokensPerMinute));
        set('outputTokens', ratio(u.outputTokens, l.outputTokensPerMinute));
        set('tokens', ratio(u.inputTokens + u.outputTokens, l.tokensPerMinute));
        set('concurrency', ratio(u.slots, l.concurrency));
        set('cost', ratio(u.costUsd, l.costUsdPerPeriod));
        const demand = this.demandOf(p.id);
        let queued = 0;
        let queuedTokens = 0;
        for (const d of demand.values()) {
          queued += d.queuedCount;
          queuedTokens += d.tokensIn + d.tokensOut;
        }
        const W = windowOf(p);
        const stale = now - p.lastRateAt > 5_000 ? 0 : 1;
        const admittedPerMinute = Math.round(p.admitRate * 60_000 * stale * 100) / 100;
        const forecastTokens = Math.round(p.tokenRate * W * stale + queuedTokens);
        const tokenLimit =
          l.tokensPerMinute ??
          (l.inputTokensPerMinute !== undefined || l.outputTokensPerMinute !== undefined
            ? (l.inputTokensPerMinute ?? 0) + (l.outputTokensPerMinute ?? 0)
            : undefined);
        let saturation = 0;
        if (tokenLimit !== undefined && tokenLimit > 0) saturation = forecastTokens / tokenLimit;
        else if (l.requestsPerMinute !== undefined && l.requestsPerMinute > 0)
          saturation = (p.admitRate * W * stale + queued) / l.requestsPerMinute;
        else if (l.concurrency !== undefined && l.concurrency > 0) saturation = (u.slots + queued) / l.concurrency;
        saturation = Math.round(saturation * 1000) / 1000;
        return {
          poolId: p.id,
          name: p.name,
          paused: poolPaused(p, now),
          usage: u,
          utilisation: util,
          demand: {
            queued,
            queuedTokens,
            running: [...this.leases.values()].filter((x) => x.poolId === p.id).length,
            admittedPerMinute,
            forecastTokens,
            forecastSaturation: saturation,
            scaling: saturation > 1 ? ('up' as const) : saturation < 0.3 ? ('down' as const) : ('steady' as const),
          },
          rateLimited: p.rateLimited,
        };
      }),
    };
  }

  /** What the conflict resolver watches. */
  snapshot(now: number): ResourceSnapshot {
    const pools: PoolSnapshotDto[] = [];
    for (const p of this.pools.values()) {
      const demand = this.demandOf(p.id);
      const leases = [...this.leases.values()].filter((l) => l.poolId === p.id);
      if (demand.size === 0 && leases.length === 0) continue;
      const running = this.leaseCounts(p.id);
      const reservations = this.activeReservations(p.id, now);
      const reserved = new Map<string, number>();
      for (const r of reservations) if (r.slots) reserved.set(r.tenantId, (reserved.get(r.tenantId) ?? 0) + r.slots);
      const totalReserved = [...reserved.values()].reduce((a, b) => a + b, 0);
      const C = p.limits.concurrency;
      const util = this.monitoring(p.tenantId, p.id, now).pools[0]?.utilisation ?? {};
      const tight = Math.max(0, ...Object.values(util).filter((v): v is number => typeof v === 'number'));
      leases.sort((a, b) => a.priority - b.priority || b.admittedAt - a.admittedAt);
      pools.push({
        poolId: p.id,
        ownerTenantId: p.tenantId,
        name: p.name,
        ...(C !== undefined ? { concurrency: C } : {}),
        slotsHeld: leases.length + this.explicitSlots(p.id, now),
        utilisation: tight,
        paused: poolPaused(p, now),
        demand: [...new Set([...demand.keys(), ...running.keys()])].map((t) => {
          const d = demand.get(t);
          const r = running.get(t) ?? 0;
          // a tenant without a reservation running on capacity others reserved: it borrows
          const entitled = C === undefined ? r : Math.max(0, C - totalReserved + (reserved.get(t) ?? 0));
          return {
            tenantId: t,
            queued: d ? [...d.queued] : [0, 0, 0, 0],
            oldestWaitMs: Math.round(d?.oldestWaitMs ?? 0),
            running: r,
            borrowed: Math.max(0, r - entitled),
          };
        }),
        leases: leases.slice(0, 200).map((l) => ({
          taskId: l.taskId,
          tenantId: l.tenantId,
          priority: PRIORITIES[l.priority]!,
          ageMs: Math.max(0, now - l.admittedAt),
        })),
        reservations: reservations.map((r) => ({
          reservationId: r.id,
          tenantId: r.tenantId,
          slots: r.slots ?? 0,
          startsAt: new Date(r.startsAt).toISOString(),
          endsAt: new Date(r.endsAt).toISOString(),
        })),
      });
    }
    return { at: new Date(now).toISOString(), pools };
  }
}
