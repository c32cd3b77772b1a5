import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  ConflictCommands,
  ConflictMessages,
  type DemandReport,
  type GrantReply,
  type PolicyDto,
  ResourceMessages,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import {
  DATA_SOURCE,
  int,
  LOGGER,
  MESH_BUS,
  LEADERSHIP,
  type Leadership,
  METRICS,
  type MetricsRegistry,
  SERVICE_CONFIG,
  type EnvSpec,
  type EnvValues,
  type ServiceConfig,
} from '@swarm-mesh/service-kit';
import { type Logger, toTraceparent } from '@swarm-mesh/telemetry';
import type { Subscription } from 'nats';
import { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { AllocatorCore } from './core/allocator-core';
import { Ledger } from './core/ledger';
import { DEFAULT_COST_PERIOD_MS, DEFAULT_WINDOW_MS, type Pool } from './core/model';
import { type PoolRow, ResourceStore } from './store/resource-store';

/** Allocator settings (ms; tests shrink them). */
export const ALLOCATOR_ENV = {
  RESOURCES_LEASE_TTL_MS: int('Life of a grant of rate credits once sent to a coordinator', { default: 1000, min: 10, max: 60_000 }),
  RESOURCES_SLACK_MS: int('Dispatch + provider-call latency added to each grant in the sliding-window ledger', {
    default: 500,
    min: 0,
    max: 60_000,
  }),
  RESOURCES_REPORT_INTERVAL_MS: int('How often a coordinator reports demand while it has work on pools', {
    default: 100,
    min: 5,
    max: 10_000,
  }),
  RESOURCES_HOLDER_TTL_MS: int('A coordinator silent this long is gone: its per-task leases are released', {
    default: 5000,
    min: 50,
    max: 600_000,
  }),
  RESOURCES_SNAPSHOT_INTERVAL_MS: int('How often busy pools are published to the conflict resolver', {
    default: 250,
    min: 10,
    max: 60_000,
  }),
  RESOURCES_POLICY_REFRESH_MS: int('How often policies are re-read from the conflict resolver', { default: 5000, min: 50, max: 600_000 }),
} satisfies EnvSpec;
export type AllocatorEnv = EnvValues<typeof ALLOCATOR_ENV>;

/** Builds the in-memory pool from its row. */
export function poolFromRow(r: PoolRow): Pool {
  return {
    ...r,
    ledger: new Ledger(r.limits.windowMs ?? DEFAULT_WINDOW_MS, r.limits.costPeriodMs ?? DEFAULT_COST_PERIOD_MS),
    served: new Map(),
    allotted: new Map(),
    admitRate: 0,
    tokenRate: 0,
    lastRateAt: 0,
    rateLimited: 0,
  };
}

/**
 * Owns the allocator's working set: loads it from Postgres, answers the coordinators' demand
 * reports with credits (off the per-task path), persists leases, the ledger and budgets in
 * batches, publishes pool snapshots for the conflict resolver, and caches its policies.
 */
@Injectable()
export class AllocatorHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly core: AllocatorCore;
  readonly store: ResourceStore;
  private timers: NodeJS.Timeout[] = [];
  private subs: Subscription[] = [];
  private flushing: Promise<void> | null = null;
  private lastRenew = 0;
  private lastPrune = 0;
  private readonly env: AllocatorEnv;

  constructor(
    @Inject(MESH_BUS) readonly bus: MeshBus,
    @Inject(DATA_SOURCE) dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<AllocatorEnv>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: MetricsRegistry,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
  ) {
    this.env = config.extra;
    this.store = new ResourceStore(dataSource);
    this.core = new AllocatorCore({
      leaseTtlMs: this.env.RESOURCES_LEASE_TTL_MS,
      slackMs: this.env.RESOURCES_SLACK_MS,
      reportIntervalMs: this.env.RESOURCES_REPORT_INTERVAL_MS,
      holderTtlMs: this.env.RESOURCES_HOLDER_TTL_MS,
    });
    // read from the live accounting at scrape time: nothing on the allocation path
    const core = this.core;
    const registers = [metrics.registry];
    new Gauge({
      name: 'swarm_pool_utilization_ratio',
      help: "Share of a pool's capacity in use over its window, by resource (requests, inputTokens, outputTokens, tokens, concurrency, cost), 0–1",
      labelNames: ['pool', 'resource'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const p of core.pools.values()) {
          const view = core.monitoring(p.tenantId, p.id, now).pools[0];
          if (!view) continue;
          for (const [resource, v] of Object.entries(view.utilisation)) if (typeof v === 'number') this.set({ pool: p.name, resource }, v);
        }
      },
    });
    new Gauge({
      name: 'swarm_allocations_active',
      help: 'Leases currently held, by pool',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        const held = new Map<string, number>();
        for (const l of core.leases.values()) held.set(l.poolId, (held.get(l.poolId) ?? 0) + 1);
        for (const p of core.pools.values()) this.set({ pool: p.name }, held.get(p.id) ?? 0);
      },
    });
  }

  onApplicationBootstrap(): void {
    // a singleton: its accounting lives in this process, so only the lease holder works
    this.leadership.onActive(() => this.activate());
  }

  private async activate(): Promise<void> {
    const now = Date.now();
    for (const r of await this.store.loadPools()) this.core.pools.set(r.id, poolFromRow(r));
    for (const r of await this.store.loadReservations()) this.core.reservations.set(r.id, r);
    for (const b of await this.store.loadBudgets()) this.core.budgets.set(b.id, b);
    for (const e of await this.store.loadEstimates())
      this.core.estimates.set(this.core.estimateKey(e.poolId, e.capability), { ...e, dirty: false });
    let longest = DEFAULT_WINDOW_MS;
    for (const p of this.core.pools.values()) longest = Math.max(longest, p.ledger.windowMs, p.ledger.costPeriodMs);
    for (const e of await this.store.loadLedger(now - Math.min(longest, 2 * DEFAULT_COST_PERIOD_MS))) {
      const pool = this.core.pools.get(e.poolId);
      if (!pool) continue;
      pool.ledger.add({ ...e, ...e.amounts, granted: { ...e.amounts }, saved: true, dirty: false, closed: true });
    }
    // leases of the previous run: their holders have a holder-ttl to report again, or they expire
    for (const l of await this.store.liveLeases()) {
      this.core.leases.set(`${l.taskId}:${l.attempt}`, l);
      if (!this.core.holders.has(l.holder))
        this.core.holders.set(l.holder, { id: l.holder, lastSeen: now, demand: new Map(), openGrants: new Set() });
      for (const b of this.core.budgetsFor(l.tenantId, l.workflowId, now)) b.reservedUsd += l.est.costUsd;
    }
    await this.refreshPolicies();
    this.subs.push(this.bus.subscribe(ConflictMessages.policiesChanged, (list) => this.applyPolicies(list.items)));
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(Math.min(250, this.env.RESOURCES_SNAPSHOT_INTERVAL_MS), () => this.flushSoon());
    every(this.env.RESOURCES_SNAPSHOT_INTERVAL_MS, () => this.publishSnapshot());
    every(this.env.RESOURCES_POLICY_REFRESH_MS, () => void this.refreshPolicies());
    this.logger.info('allocator ready', { pools: this.core.pools.size, leases: this.core.leases.size });
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const s of this.subs.splice(0)) s.unsubscribe();
    await this.flush().catch(() => {});
  }

  /** Tells every coordinator at once that pools changed (they bind tasks to pools without waiting for a report). */
  publishBindings(): void {
    this.bus.publish(ResourceMessages.bindings, { pools: [...this.core.pools.values()].map((p) => this.core.binding(p)) });
  }

  /** `resources.exchange`: the credits for one coordinator report. */
  exchange(report: DemandReport): GrantReply {
    const reply = this.core.exchange(report, Date.now(), toTraceparent());
    return reply;
  }

  private publishSnapshot(): void {
    try {
      const now = Date.now();
      this.core.expireHolders(now);
      const snap = this.core.snapshot(now);
      if (snap.pools.length > 0) this.bus.publish(ResourceMessages.snapshot, snap);
    } catch (err) {
      this.logger.warn('snapshot failed', { err });
    }
  }

  private async refreshPolicies(): Promise<void> {
    try {
      const list = await this.bus.request(ConflictCommands.allPolicies, {}, { timeoutMs: 2000 });
      this.core.policies.clear();
      this.applyPolicies(list.items);
    } catch {
      // the resolver is not up (yet): keep the cached policies, defaults otherwise
    }
  }

  private applyPolicies(items: PolicyDto[]): void {
    for (const p of items) {
      this.core.policies.set(`${p.tenantId}|${p.poolId ?? ''}`, {
        kind: p.kind,
        weights: p.weights,
        agingStepMs: p.agingStepMs,
        starvationMs: p.starvationMs,
        preemption: p.preemption,
      });
    }
  }

  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = this.flush()
      .catch((err: unknown) => this.logger.warn('resources flush failed; will retry', { error: (err as Error).message }))
      .finally(() => (this.flushing = null));
  }

  /** Persists leases, ledger entries, pools paused by 429s, budgets' spend and estimates. */
  async flush(): Promise<void> {
    const now = Date.now();
    const c = this.core;
    const admitted = c.pending.admitted.splice(0);
    const ended = c.pending.ended.splice(0);
    const pools = [...c.pending.pools];
    c.pending.pools.clear();
    c.pending.expiredHolders.splice(0);
    try {
      await this.store.insertLeases(admitted, this.env.RESOURCES_HOLDER_TTL_MS);
      await this.store.endLeases(ended);
    } catch (err) {
      c.pending.admitted.unshift(...admitted);
      c.pending.ended.unshift(...ended);
      throw err;
    }
    for (const id of pools) {
      const p = c.pools.get(id);
      if (p) await this.store.savePool(p);
    }
    for (const p of c.pools.values()) {
      const entries = p.ledger.all().filter((e) => !e.saved || e.dirty);
      if (entries.length > 0) await this.store.saveLedger(p.id, entries, c.explicit);
      p.ledger.prune(now);
    }
    const budgets = [...c.budgets.values()].filter((b) => b.dirty);
    await this.store.saveBudgetSpend(budgets);
    for (const b of budgets) b.dirty = false;
    const est = [...c.estimates.entries()].filter(([, e]) => e.dirty);
    await this.store.saveEstimates(
      est.map(([k, e]) => {
        const [poolId, capability] = k.split('\u0000') as [string, string];
        return { poolId, capability, tokensIn: e.tokensIn, tokensOut: e.tokensOut, costUsd: e.costUsd, samples: e.samples };
      }),
    );
    for (const [, e] of est) e.dirty = false;
    if (now - this.lastRenew >= Math.max(200, this.env.RESOURCES_HOLDER_TTL_MS / 4)) {
      this.lastRenew = now;
      await this.store.renewLeases([...c.holders.keys()], this.env.RESOURCES_HOLDER_TTL_MS);
      await this.store.expireLeases();
    }
    if (now - this.lastPrune >= 3_600_000) {
      this.lastPrune = now;
      await this.store.pruneHistory(now - 2 * DEFAULT_COST_PERIOD_MS);
    }
  }
}
