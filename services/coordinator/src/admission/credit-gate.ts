import {
  type BudgetGrantDto,
  type DemandEntryDto,
  type DemandPoolDto,
  type DemandReport,
  type GrantDto,
  type GrantReply,
  type LeaseAdmitDto,
  type LeaseEndDto,
  type PoolBindingDto,
  type PoolBindingsDto,
  pickPoolByWeight,
  PRIORITIES,
  PRIORITY_RANK,
  type RateLimitReportDto,
  ResourceCommands,
  ResourceMessages,
  type SpentDto,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { fromTraceparent, type Logger, meshTracer, SpanKind, trace } from '@swarm-mesh/telemetry';
import type { Subscription } from 'nats';
import type { AgentRecord } from '../engine/agent-record';
import { hash32, type PoolWeight } from '../engine/routing';
import type { TaskRecord } from '../engine/task-record';
import type { AdmissionGate } from './admission-gate';

/** Error code an agent reports for a provider 429 (details.retryAfterMs: how long the provider asks to wait). */
export const PROVIDER_RATE_LIMITED = 'PROVIDER_RATE_LIMITED';
/** Task label naming the workflow a task belongs to (workflow budgets and reservations). */
export const WORKFLOW_LABEL = 'workflow';

/** What the gate needs from the engine (kept narrow: read the working set, cancel a task). */
export interface GateEngine {
  readonly tasks: ReadonlyMap<string, TaskRecord>;
  failWaiting(taskId: string, error: { message: string; code: string; retryable: boolean }): Promise<unknown>;
}

export interface CreditGateOptions {
  /** Coordinator instance id: the holder of the credits. */
  holder: string;
  /** Report period while pools are known (the allocator may change it in its reply). */
  reportIntervalMs: number;
  /** Poll period while no pool is known (to discover pools; never per task). */
  idlePollMs: number;
  /** Request deadline of one exchange. */
  exchangeTimeoutMs: number;
}

interface Estimate {
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

/** Rate credits and slot allotment on one pool for one tenant. */
interface Credit {
  grant: GrantDto;
  expiresAt: number;
  requests: number;
  tokensIn: number;
  tokensOut: number;
  tokens: number;
  costUsd: number;
  spent: Estimate & { requests: number };
  /** Slots the tenant may hold (undefined: no concurrency limit). */
  slots: number | undefined;
  minPriority: number;
  link: ReturnType<typeof trace.getSpanContext>;
}

interface LocalLease {
  poolId: string;
  tenantId: string;
  attempt: number;
  grantId: string;
  est: Estimate;
}

const key = (poolId: string, tenantId: string): string => `${poolId}\u0000${tenantId}`;

/**
 * The credit-based admission gate (ARCHITECTURE principle 5). The allocator grants this
 * coordinator credits per pool and tenant in answer to a batched demand report (every
 * ~100 ms while work waits, at once when new demand finds no credit); `tryAdmit` spends them
 * locally, synchronously, with no round trip. Each report closes the previous grants (their
 * unspent rest returns to the pool) and carries the attempts admitted and ended since, so the
 * allocator records per-task leases and reconciles usage in batches.
 *
 * Tasks whose capability is bound to no pool (and that name none) are admitted at once: with no
 * pool configured the hot path costs one Map lookup.
 */
export class CreditGate implements AdmissionGate {
  private engine: GateEngine | undefined;
  private listener: (() => void) | undefined;
  /** Pools by id, and by tenant-visible capability. */
  private pools = new Map<string, PoolBindingDto>();
  private byCapability = new Map<string, PoolBindingDto[]>();
  private byName = new Map<string, PoolBindingDto[]>();
  private credits = new Map<string, Credit>();
  private budgets: BudgetGrantDto[] = [];
  private budgetCredit = new Map<string, number>();
  /** Slots held per pool × tenant (running admitted attempts). */
  private held = new Map<string, number>();
  private leases = new Map<string, LocalLease>();
  private pausedUntil = new Map<string, number>();
  private rejected = new Set<string>();
  private admitted: LeaseAdmitDto[] = [];
  private ended: LeaseEndDto[] = [];
  private rateLimited: RateLimitReportDto[] = [];
  private closing: SpentDto[] = [];
  private seq = 0;
  private inflight = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private wantReport = false;
  private lastReport = 0;
  private interval: number;
  private lastSweep = 0;
  private sub: Subscription | undefined;

  /** The optimizer's routing weights per tenant × capability (set by the host). */
  private weights: ((tenantId: string, capability: string) => readonly PoolWeight[] | undefined) | undefined;

  constructor(
    private readonly bus: MeshBus,
    private readonly logger: Logger,
    private readonly options: CreditGateOptions,
  ) {
    this.interval = options.reportIntervalMs;
  }

  /** Orders a task's candidate pools by the optimizer's routing weights (docs/ROUTING-WEIGHTS.md). */
  useWeights(lookup: (tenantId: string, capability: string) => readonly PoolWeight[] | undefined): void {
    this.weights = lookup;
  }

  /** Gives the gate the engine (after it is built with this gate). */
  attach(engine: GateEngine): void {
    this.engine = engine;
  }

  /**
   * Learns the pools (one exchange, before the engine dispatches anything: a restarted coordinator
   * must not admit bound tasks freely), then reports periodically and follows pool changes live.
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.sub = this.bus.subscribe(ResourceMessages.bindings, (b) => this.bind(b));
    await this.report();
  }

  stop(): void {
    this.stopped = true;
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Pools changed: bind tasks to them at once, and ask for credits. */
  private bind(b: PoolBindingsDto): void {
    this.installPools(b.pools);
    this.wantReport = true;
    if (!this.inflight) this.arm(0);
  }

  /** True while at least one pool is known (tests, metrics). */
  get active(): boolean {
    return this.pools.size > 0;
  }

  onCapacity(listener: () => void): void {
    this.listener = listener;
  }

  // ── the hot path ──────────────────────────────────────────────────────────

  tryAdmit(task: TaskRecord, _agent: AgentRecord, now: number): boolean {
    if (this.pools.size === 0) return true;
    const candidates = this.candidates(task);
    if (candidates === undefined) return true;
    if (this.rejected.has(task.id)) return false;
    if (candidates.length === 0) {
      this.reject(
        task,
        `POOL_NOT_FOUND: task names pool "${String(task.options.resources?.pool)}", which does not exist for tenant ${task.tenantId}`,
      );
      return false;
    }
    const budgets = this.budgetsOf(task);
    for (const b of budgets) {
      if (b.state === 'ok') continue;
      const exhausted = b.state === 'exhausted';
      if (b.action === 'reject' && exhausted) {
        this.reject(task, `BUDGET_EXCEEDED: ${this.budgetName(b)} is exhausted (spent $${b.spentUsd.toFixed(4)} of $${b.limitUsd})`);
        return false;
      }
      if (b.action === 'defer_low' && (exhausted || task.priority === PRIORITY_RANK.LOW)) return false;
    }
    const downgrading = budgets.some((b) => b.action === 'downgrade' && b.state !== 'ok');
    const weighted = downgrading ? undefined : this.byWeight(task, candidates);
    const pools = weighted ?? this.preferred(candidates, budgets);
    let noCredit = false;
    for (const pool of pools) {
      const est = this.estimate(task, pool);
      // a budget's remaining credit must cover the estimate
      let covered = true;
      for (const b of budgets) if ((this.budgetCredit.get(b.budgetId) ?? 0) + 1e-12 < est.costUsd) covered = false;
      if (!covered) {
        const reject = budgets.find((b) => b.action === 'reject');
        if (reject && pool === pools[pools.length - 1]) {
          this.reject(task, `BUDGET_EXCEEDED: ${this.budgetName(reject)} cannot cover the task's estimated $${est.costUsd.toFixed(4)}`);
          return false;
        }
        continue;
      }
      const r = this.admitOn(task, pool, est, budgets, now);
      if (r === true) return true;
      if (r === 'no_credit') noCredit = true;
      // with `downgrade` a cheaper pool may take it, with routing weights the next pool by weight
      // (a full pool is not eligible: its share goes to the others); otherwise only the first is tried
      if (!downgrading && weighted === undefined) break;
    }
    // demand that finds no credit at all asks for some now (spent credits wait for the next report)
    if (noCredit) this.miss();
    return false;
  }

  private admitOn(
    task: TaskRecord,
    pool: PoolBindingDto,
    est: Estimate,
    budgets: BudgetGrantDto[],
    now: number,
  ): true | 'no_credit' | 'short' {
    if (pool.paused || (this.pausedUntil.get(pool.poolId) ?? 0) > now) return 'short';
    const k = key(pool.poolId, task.tenantId);
    const c = this.credits.get(k);
    if (!c || now >= c.expiresAt) return 'no_credit';
    if (task.priority < c.minPriority) return 'short';
    const held = this.held.get(k) ?? 0;
    if (c.slots !== undefined && held >= c.slots) return 'short';
    if (c.grant.requests !== undefined && c.requests < 1) return 'short';
    if (c.grant.tokensIn !== undefined && c.tokensIn < est.tokensIn) return 'short';
    if (c.grant.tokensOut !== undefined && c.tokensOut < est.tokensOut) return 'short';
    if (c.grant.tokens !== undefined && c.tokens < est.tokensIn + est.tokensOut) return 'short';
    if (c.grant.costUsd !== undefined && c.costUsd + 1e-12 < est.costUsd) return 'short';
    c.requests -= 1;
    c.tokensIn -= est.tokensIn;
    c.tokensOut -= est.tokensOut;
    c.tokens -= est.tokensIn + est.tokensOut;
    c.costUsd -= est.costUsd;
    c.spent.requests += 1;
    c.spent.tokensIn += est.tokensIn;
    c.spent.tokensOut += est.tokensOut;
    c.spent.costUsd += est.costUsd;
    this.held.set(k, held + 1);
    for (const b of budgets) this.budgetCredit.set(b.budgetId, (this.budgetCredit.get(b.budgetId) ?? 0) - est.costUsd);
    const attempt = task.attempt + 1; // the engine numbers the attempt right after admission
    this.leases.set(task.id, { poolId: pool.poolId, tenantId: task.tenantId, attempt, grantId: c.grant.grantId, est });
    const workflowId = task.labels[WORKFLOW_LABEL];
    this.admitted.push({
      taskId: task.id,
      attempt,
      poolId: pool.poolId,
      tenantId: task.tenantId,
      ...(workflowId ? { workflowId } : {}),
      capability: task.capability,
      priority: PRIORITIES[task.priority] ?? 'MEDIUM',
      grantId: c.grant.grantId,
      tokensIn: est.tokensIn,
      tokensOut: est.tokensOut,
      costUsd: est.costUsd,
    });
    // the task's trace shows the allocator: a span linked to the grant that admitted it
    const span = meshTracer().startSpan(
      `admit ${task.capability}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'swarm.task.id': task.id,
          'swarm.pool.id': pool.poolId,
          'swarm.pool.name': pool.name,
          'swarm.grant.id': c.grant.grantId,
          ...(c.link ? { 'swarm.grant.trace_id': c.link.traceId, 'swarm.grant.span_id': c.link.spanId } : {}),
          'swarm.resources.tokens': est.tokensIn + est.tokensOut,
        },
        ...(c.link ? { links: [{ context: c.link, attributes: { 'swarm.link': 'resource grant' } }] } : {}),
      },
      fromTraceparent(task.traceparent),
    );
    span.end();
    return true;
  }

  /** The pool the task's current attempt was admitted on (its pool's name, for events). */
  poolOf(taskId: string): string | undefined {
    const lease = this.leases.get(taskId);
    return lease ? (this.pools.get(lease.poolId)?.name ?? lease.poolId) : undefined;
  }

  onAttemptEnd(task: TaskRecord, outcome: string, usage: Record<string, unknown> | undefined): void {
    const lease = this.leases.get(task.id);
    if (!lease) return;
    this.leases.delete(task.id);
    const k = key(lease.poolId, lease.tenantId);
    this.held.set(k, Math.max(0, (this.held.get(k) ?? 0) - 1));
    const c = this.credits.get(k);
    // a preempted attempt's slot goes back to the allocator (the waiter it was taken for gets it)
    if (outcome === 'preempted' && c && c.slots !== undefined) c.slots = Math.max(0, c.slots - 1);
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
    const tokensIn = num(usage?.tokensIn);
    const tokensOut = num(usage?.tokensOut);
    const costUsd = num(usage?.costUsd);
    this.ended.push({
      taskId: task.id,
      attempt: lease.attempt,
      poolId: lease.poolId,
      outcome,
      ...(tokensIn !== undefined ? { tokensIn: Math.round(tokensIn) } : {}),
      ...(tokensOut !== undefined ? { tokensOut: Math.round(tokensOut) } : {}),
      ...(costUsd !== undefined ? { costUsd } : {}),
    });
    const last = task.attempts[task.attempts.length - 1];
    const err = last?.error;
    if (err?.code === PROVIDER_RATE_LIMITED) {
      const retryAfterMs = Math.max(0, Math.min(86_400_000, Math.round(num(err.details?.retryAfterMs) ?? 1000)));
      this.rateLimited.push({ poolId: lease.poolId, retryAfterMs, taskId: task.id });
      const until = Date.now() + retryAfterMs;
      if ((this.pausedUntil.get(lease.poolId) ?? 0) < until) this.pausedUntil.set(lease.poolId, until);
      this.wantReport = true;
    }
    if (c?.slots !== undefined) this.listener?.();
  }

  // ── pool resolution, estimates, budgets ───────────────────────────────────

  /**
   * With the optimizer's routing weights for the task's capability (docs/ROUTING-WEIGHTS.md):
   * the candidates in the order to try — one drawn with probability proportional to its weight,
   * then the other weighted pools by weight, then the unweighted ones. Undefined without weights
   * (or with one candidate).
   */
  private byWeight(task: TaskRecord, candidates: PoolBindingDto[]): PoolBindingDto[] | undefined {
    if (candidates.length < 2 || !this.weights) return undefined;
    const w = this.weights(task.tenantId, task.capability);
    if (!w || w.length === 0) return undefined;
    // the draw is a function of the task id: the demand report asks credit on the pool that
    // admission then tries first (a handful of pools: linear lookups, nothing allocated but the order)
    const first = pickPoolByWeight(w, hash32(task.id) / 4294967296, (name) => candidates.some((p) => p.name === name));
    if (first === undefined) return undefined;
    const rank = (p: PoolBindingDto): number => (p.name === first ? 2 : (w.find((x) => x.pool === p.name)?.weight ?? -1));
    return [...candidates].sort((a, b) => rank(b) - rank(a));
  }

  /** Candidates in the order to try: the cheapest first once a `downgrade` budget nears its limit. */
  private preferred(candidates: PoolBindingDto[], budgets: BudgetGrantDto[]): PoolBindingDto[] {
    if (candidates.length < 2 || !budgets.some((b) => b.action === 'downgrade' && b.state !== 'ok')) return candidates;
    return [...candidates].sort((a, c) => a.costPer1kTokens - c.costPer1kTokens);
  }

  /** Pools a task may run on (best first); undefined = not resource-managed. */
  private candidates(task: TaskRecord): PoolBindingDto[] | undefined {
    const named = task.options.resources?.pool;
    if (typeof named === 'string') {
      return (this.byName.get(named) ?? []).filter((p) => this.serves(p, task.tenantId));
    }
    const list = this.byCapability.get(task.capability);
    if (!list) return undefined;
    const mine = list.filter((p) => this.serves(p, task.tenantId));
    return mine.length > 0 ? mine : undefined;
  }

  private serves(p: PoolBindingDto, tenantId: string): boolean {
    return p.ownerTenantId === tenantId || p.tenants.includes('*') || p.tenants.includes(tenantId);
  }

  /** Declared figures win; else the allocator's learned average for the capability; else the pool default. */
  private estimate(task: TaskRecord, pool: PoolBindingDto): Estimate {
    const r = task.options.resources as { tokensIn?: number; tokensOut?: number; costUsd?: number } | undefined;
    const learned = pool.estimates.find((e) => e.capability === task.capability);
    const d = pool.defaultEstimate;
    const tokensIn = r?.tokensIn ?? learned?.tokensIn ?? d.tokensIn ?? 0;
    const tokensOut = r?.tokensOut ?? learned?.tokensOut ?? d.tokensOut ?? 0;
    const priced =
      (tokensIn / 1000) * (pool.pricing.inputUsdPer1k ?? 0) +
      (tokensOut / 1000) * (pool.pricing.outputUsdPer1k ?? 0) +
      (pool.pricing.requestUsd ?? 0);
    const costUsd =
      r?.costUsd ?? (r?.tokensIn !== undefined || r?.tokensOut !== undefined ? priced : (learned?.costUsd ?? d.costUsd ?? priced));
    return { tokensIn, tokensOut, costUsd };
  }

  private budgetsOf(task: TaskRecord): BudgetGrantDto[] {
    if (this.budgets.length === 0) return [];
    const wf = task.labels[WORKFLOW_LABEL];
    return this.budgets.filter((b) => b.tenantId === task.tenantId && (b.workflowId === undefined || b.workflowId === wf));
  }

  private budgetName(b: BudgetGrantDto): string {
    return b.workflowId ? `the budget of workflow ${b.workflowId}` : `the budget of tenant ${b.tenantId}`;
  }

  /** Fails a task the gate can never admit (budget policy `reject`, unknown pool) with its coded error. */
  private reject(task: TaskRecord, reason: string): void {
    if (this.rejected.has(task.id)) return;
    this.rejected.add(task.id);
    const engine = this.engine;
    if (!engine) return;
    const m = /^([A-Z_]+): (.*)$/s.exec(reason);
    const error = { message: m ? m[2]! : reason, code: m ? m[1]! : 'ADMISSION_REJECTED', retryable: false };
    void engine.failWaiting(task.id, error).catch((err: unknown) => {
      this.rejected.delete(task.id);
      this.logger.warn('could not reject a task', { taskId: task.id, error: (err as Error).message });
    });
  }

  private miss(): void {
    if (this.inflight) return; // the answer on its way brings credits
    this.wantReport = true;
    if (!this.inflight && !this.stopped && Date.now() - this.lastReport >= Math.min(20, this.interval)) this.arm(0);
  }

  // ── the exchange ──────────────────────────────────────────────────────────

  private arm(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.report();
    }, delay);
    this.timer.unref();
  }

  private demand(now: number): DemandPoolDto[] {
    const engine = this.engine;
    const by = new Map<string, Map<string, DemandEntryDto>>();
    const entry = (poolId: string, tenantId: string): DemandEntryDto => {
      let m = by.get(poolId);
      if (!m) {
        m = new Map();
        by.set(poolId, m);
      }
      let e = m.get(tenantId);
      if (!e) {
        e = { tenantId, queued: [0, 0, 0, 0], queuedTokensIn: 0, queuedTokensOut: 0, queuedCostUsd: 0, oldestWaitMs: 0, running: 0 };
        m.set(tenantId, e);
      }
      return e;
    };
    // slots held: every dispatched/running attempt on a pool, also those of a previous process of
    // this coordinator (reloaded from Postgres, no local lease): the count is rebuilt at each report
    const held = new Map<string, number>();
    if (engine) {
      for (const t of engine.tasks.values()) {
        // fast path: tasks of capabilities bound to no pool cost one lookup
        if (!this.byCapability.has(t.capability) && typeof t.options.resources?.pool !== 'string') continue;
        if (t.state === 'dispatched' || t.state === 'running') {
          const lease = this.leases.get(t.id);
          let poolId = lease?.poolId;
          if (!poolId) {
            const c = this.candidates(t);
            poolId = c && c.length > 0 ? this.preferred(c, this.budgetsOf(t))[0]!.poolId : undefined;
          }
          if (poolId) held.set(key(poolId, t.tenantId), (held.get(key(poolId, t.tenantId)) ?? 0) + 1);
          continue;
        }
        if (t.state !== 'queued' || this.rejected.has(t.id)) continue;
        const c = this.candidates(t);
        if (!c || c.length === 0) continue;
        const budgets = this.budgetsOf(t);
        const downgrading = budgets.some((b) => b.action === 'downgrade' && b.state !== 'ok');
        const pool = ((downgrading ? undefined : this.byWeight(t, c)) ?? this.preferred(c, budgets))[0]!;
        const e = entry(pool.poolId, t.tenantId);
        const est = this.estimate(t, pool);
        e.queued[t.priority] = (e.queued[t.priority] ?? 0) + 1;
        e.queuedTokensIn += est.tokensIn;
        e.queuedTokensOut += est.tokensOut;
        e.queuedCostUsd += est.costUsd;
        e.oldestWaitMs = Math.max(e.oldestWaitMs, Math.round(now - (t.queuedAt ?? t.createdAt)));
        if (t.deadline !== null)
          e.earliestDeadlineInMs = Math.min(e.earliestDeadlineInMs ?? Number.POSITIVE_INFINITY, Math.round(t.deadline - now));
      }
    }
    if (engine) this.held = held;
    for (const [k, n] of this.held) {
      if (n <= 0) continue;
      const [poolId, tenantId] = k.split('\u0000') as [string, string];
      entry(poolId, tenantId).running = n;
    }
    return [...by].map(([poolId, m]) => ({ poolId, entries: [...m.values()] }));
  }

  /** Attempts the engine no longer runs (a reload after a failed commit) release their lease. */
  private sweepLeases(now: number): void {
    if (now - this.lastSweep < 1000 || !this.engine) return;
    this.lastSweep = now;
    for (const [taskId, l] of [...this.leases]) {
      const t = this.engine.tasks.get(taskId);
      if (t && (t.state === 'dispatched' || t.state === 'running') && t.attempt === l.attempt) continue;
      this.leases.delete(taskId);
      const k = key(l.poolId, l.tenantId);
      this.held.set(k, Math.max(0, (this.held.get(k) ?? 0) - 1));
      this.ended.push({ taskId, attempt: l.attempt, poolId: l.poolId, outcome: 'released' });
    }
    for (const id of [...this.rejected]) if (!this.engine.tasks.has(id)) this.rejected.delete(id);
  }

  private async report(): Promise<void> {
    if (this.inflight || this.stopped) return;
    const now = Date.now();
    this.sweepLeases(now);
    const pools = this.demand(now);
    const busy = pools.length > 0 || this.credits.size > 0 || this.admitted.length > 0 || this.ended.length > 0;
    if (this.pools.size > 0 && !busy && !this.wantReport && now - this.lastReport < this.options.idlePollMs) {
      this.arm(this.interval);
      return;
    }
    // close every open grant: what was not spent returns to the pool
    for (const c of this.credits.values()) this.closing.push({ grantId: c.grant.grantId, ...c.spent, final: true });
    this.credits.clear();
    const admitted = this.admitted.splice(0);
    const ended = this.ended.splice(0);
    const rateLimited = this.rateLimited.splice(0);
    const spent = this.closing.splice(0);
    const report: DemandReport = { holder: this.options.holder, seq: this.seq++, pools, spent, admitted, ended, rateLimited };
    this.inflight = true;
    this.wantReport = false;
    this.lastReport = now;
    let reply: GrantReply | undefined;
    try {
      reply = await this.bus.request(ResourceCommands.exchange, report, { timeoutMs: this.options.exchangeTimeoutMs });
    } catch (err) {
      // nothing is lost: the same facts go with the next report (the allocator applies them idempotently)
      this.admitted.unshift(...admitted);
      this.ended.unshift(...ended);
      this.rateLimited.unshift(...rateLimited);
      this.closing.unshift(...spent);
      if (this.pools.size > 0) this.logger.debug('resource exchange failed', { error: (err as Error).message });
    } finally {
      this.inflight = false;
    }
    // credits live from when they were ASKED for: the allocator made the grant after that moment
    // and counts it in its ledger for ttl + slack from then, so a slow reply must not stretch
    // the time the coordinator may spend them (receipt time did, by the exchange's transit)
    if (reply) this.install(reply, now);
    const next = this.pools.size > 0 ? (this.wantReport ? Math.min(20, this.interval) : this.interval) : this.options.idlePollMs;
    this.arm(next);
  }

  private install(reply: GrantReply, askedAt: number): void {
    this.interval = Math.max(5, reply.reportIntervalMs);
    this.installPools(reply.pools);
    this.budgets = reply.budgets;
    this.budgetCredit = new Map(reply.budgets.map((b) => [b.budgetId, b.creditUsd]));
    this.installGrants(reply, askedAt);
  }

  private installPools(pools: PoolBindingDto[]): void {
    this.pools = new Map(pools.map((p) => [p.poolId, p]));
    this.byCapability = new Map();
    this.byName = new Map();
    for (const p of pools) {
      for (const cap of p.capabilities) {
        const list = this.byCapability.get(cap) ?? [];
        list.push(p);
        this.byCapability.set(cap, list);
      }
      const named = this.byName.get(p.name) ?? [];
      named.push(p);
      this.byName.set(p.name, named);
      if (!p.paused) this.pausedUntil.delete(p.poolId);
    }
  }

  private installGrants(reply: GrantReply, askedAt: number): void {
    for (const g of reply.grants) {
      const inf = Number.POSITIVE_INFINITY;
      this.credits.set(key(g.poolId, g.tenantId), {
        grant: g,
        // a small margin: the allocator's ledger counts the grant until ttl + slack after it made it
        expiresAt: askedAt + Math.max(1, g.ttlMs - 10),
        requests: g.requests ?? inf,
        tokensIn: g.tokensIn ?? inf,
        tokensOut: g.tokensOut ?? inf,
        tokens: g.tokens ?? inf,
        costUsd: g.costUsd ?? inf,
        spent: { requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 },
        slots: g.slots,
        minPriority: g.minPriority ? PRIORITY_RANK[g.minPriority] : 0,
        link: g.traceparent ? trace.getSpanContext(fromTraceparent(g.traceparent)) : undefined,
      });
    }
    if (reply.grants.length > 0) this.listener?.();
  }
}
