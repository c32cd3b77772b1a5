import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  type ConflictActionDto,
  ConflictEventMessages,
  type ConflictKind,
  ConflictMessages,
  CoordinatorResourceCommands,
  type MeshEventDto,
  type PolicyDto,
  type PoolSnapshotDto,
  PRIORITY_RANK,
  ResourceMessages,
  type ResourceSnapshot,
} from '@swarm-mesh/contracts';
import type { FlagStore, MeshBus } from '@swarm-mesh/messaging';
import {
  DATA_SOURCE,
  type EnvSpec,
  type EnvValues,
  FLAGS,
  int,
  LOGGER,
  MESH_BUS,
  LEADERSHIP,
  type Leadership,
  METRICS,
  type MetricsRegistry,
  SERVICE_CONFIG,
  type ServiceConfig,
} from '@swarm-mesh/service-kit';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from '@swarm-mesh/telemetry';
import type { Subscription } from 'nats';
import type { DataSource } from 'typeorm';
import { type ConflictFact, ConflictStore, type NewConflict, POLICY_DEFAULTS } from './core/conflict-store';

export const RESOLVER_ENV = {
  CONFLICTS_PREEMPT_COOLDOWN_MS: int('After preempting on a pool, wait this long before preempting there again', {
    default: 1000,
    min: 0,
    max: 600_000,
  }),
  CONFLICTS_DEDUPE_MS: int('A conflict of the same kind on the same pool is recorded again only after this long', {
    default: 10_000,
    min: 0,
    max: 3_600_000,
  }),
} satisfies EnvSpec;
export type ResolverEnv = EnvValues<typeof RESOLVER_ENV>;

interface Policy {
  kind: PolicyDto['kind'];
  agingStepMs: number;
  starvationMs: number;
  preemption: boolean;
}

const URGENT = PRIORITY_RANK.HIGH;
const RANK = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

/**
 * Watches the allocator's pool snapshots and resolves contention by policy: preempts
 * lower-priority holders for urgent waiters (priority inversion) and borrowers of reserved
 * capacity when its owner needs it back (both gated by the `resources.preemption` flag and the
 * pool's policy); records over-subscription, starvation and overlapping reservations with the
 * policy's resolution, and leaves what it may not resolve open for a human.
 */
@Injectable()
export class ResolverHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly store: ConflictStore;
  private readonly policies = new Map<string, Policy>();
  private readonly lastPreempt = new Map<string, number>();
  private readonly recorded = new Map<string, number>();
  /** Open conflicts by dedupe key (left for a human). */
  private readonly open = new Map<string, string>();
  private subs: Subscription[] = [];
  private busy = false;
  private readonly env: ResolverEnv;

  constructor(
    @Inject(MESH_BUS) readonly bus: MeshBus,
    @Inject(DATA_SOURCE) dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<ResolverEnv>,
    @Inject(FLAGS) private readonly flags: FlagStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: MetricsRegistry,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
  ) {
    this.env = config.extra;
    this.store = new ConflictStore(dataSource);
    const registers = [metrics.registry];
    const total = new Counter({
      name: 'swarm_conflicts_total',
      help: 'Conflicts detected, by type and how they were resolved (policy:status, or open)',
      labelNames: ['type', 'resolution'],
      registers,
    });
    const store = this.store;
    new Gauge({
      name: 'swarm_conflicts_open',
      help: 'Conflicts waiting for a resolution, by type',
      labelNames: ['type'],
      registers,
      async collect() {
        this.reset();
        for (const r of await store.openByKind().catch(() => [])) this.set({ type: r.kind }, r.n);
      },
    });
    // metrics, and the facts on the EVENTS stream (the live stream and the dashboard follow them)
    this.store.observer = {
      recorded: (f) => {
        total.inc({ type: f.kind, resolution: f.status === 'open' ? 'open' : `${f.policy}:${f.status}` });
        this.emit(f, 'conflict.detected');
      },
      resolved: (f) => {
        total.inc({ type: f.kind, resolution: `${f.policy}:${f.status}` });
        this.emit(f, f.status === 'dismissed' ? 'conflict.dismissed' : 'conflict.resolved');
      },
    };
  }

  private emit(f: ConflictFact, type: string): void {
    const event: MeshEventDto = {
      type,
      ts: new Date().toISOString(),
      tenantId: f.tenantId,
      data: {
        conflictId: f.conflictId,
        kind: f.kind,
        poolId: f.poolId,
        status: f.status,
        ...(f.policy !== undefined ? { policy: f.policy } : {}),
        ...(f.resolvedBy !== undefined ? { resolvedBy: f.resolvedBy } : {}),
      },
    };
    this.bus
      .publishDurable(ConflictEventMessages.facts, { source: 'conflict-resolver', events: [event] }, { msgId: randomUUID(), retries: 5 })
      .catch((err: unknown) => this.logger.warn('conflict event not published', { type, err }));
  }

  onApplicationBootstrap(): void {
    // a singleton: its accounting lives in this process, so only the lease holder works
    this.leadership.onActive(() => this.activate());
  }

  private async activate(): Promise<void> {
    for (const p of await this.store.policies()) this.cachePolicy(p);
    for (const c of await this.store.openKeys()) this.open.set(this.key(c.kind as ConflictKind, c.poolId, c.subject), c.id);
    this.subs.push(
      this.bus.subscribe(ResourceMessages.snapshot, async (snap) => {
        if (this.busy) return; // the next snapshot comes soon
        this.busy = true;
        try {
          await this.onSnapshot(snap);
        } catch (err) {
          this.logger.warn('snapshot handling failed', { error: (err as Error).message });
        } finally {
          this.busy = false;
        }
      }),
    );
  }

  beforeApplicationShutdown(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }

  cachePolicy(p: PolicyDto): void {
    this.policies.set(`${p.tenantId}|${p.poolId ?? ''}`, p);
  }

  policyOf(tenantId: string, poolId: string): Policy {
    return (
      this.policies.get(`${tenantId}|${poolId}`) ?? this.policies.get(`${tenantId}|`) ?? { kind: 'priority_aging', ...POLICY_DEFAULTS }
    );
  }

  /** Tells the allocator at once. */
  announce(p: PolicyDto): void {
    this.cachePolicy(p);
    this.bus.publish(ConflictMessages.policiesChanged, { items: [p] });
  }

  private key(kind: ConflictKind, poolId: string | null, subject: Record<string, unknown>): string {
    return `${kind}|${poolId ?? ''}|${typeof subject.tenantId === 'string' ? subject.tenantId : ''}`;
  }

  forgetOpen(conflictId: string): void {
    for (const [k, id] of this.open) if (id === conflictId) this.open.delete(k);
  }

  private async onSnapshot(snap: ResourceSnapshot): Promise<void> {
    for (const pool of snap.pools) {
      const policy = this.policyOf(pool.ownerTenantId, pool.poolId);
      await this.inversion(pool, policy);
      await this.reclaim(pool, policy);
      await this.starvation(pool, policy);
      await this.overSubscription(pool, policy);
      await this.overlapping(pool);
    }
  }

  private canPreempt(policy: Policy): boolean {
    return policy.preemption && this.flags.isEnabled('resources.preemption');
  }

  /** High-priority work waits on a full pool while lower-priority work holds its slots. */
  private async inversion(pool: PoolSnapshotDto, policy: Policy): Promise<void> {
    if (pool.concurrency === undefined || pool.slotsHeld < pool.concurrency) return;
    let top = -1;
    let waiting = 0;
    const tenants: string[] = [];
    for (const d of pool.demand) {
      for (let p = 3; p >= URGENT; p--)
        if ((d.queued[p] ?? 0) > 0) {
          top = Math.max(top, p);
          waiting += d.queued[p]!;
          tenants.push(d.tenantId);
          break;
        }
    }
    if (top < URGENT) return;
    const victims = pool.leases.filter((l) => PRIORITY_RANK[l.priority] < top).slice(0, waiting);
    if (victims.length === 0) return;
    const subject = { poolId: pool.poolId, pool: pool.name, waitingPriority: RANK[top], tenants, victims: victims.map((v) => v.taskId) };
    const evidence = { concurrency: pool.concurrency, slotsHeld: pool.slotsHeld, waiting, holders: victims };
    await this.preemptOrRecord(
      'priority_inversion',
      pool,
      policy,
      subject,
      evidence,
      victims.map((v) => v.taskId),
      `a ${RANK[top]} task waits on full pool ${pool.name}`,
    );
  }

  /** A reservation's owner needs its capacity back from tenants borrowing it. */
  private async reclaim(pool: PoolSnapshotDto, policy: Policy): Promise<void> {
    if (pool.concurrency === undefined || pool.slotsHeld < pool.concurrency) return;
    for (const r of pool.reservations) {
      const owner = pool.demand.find((d) => d.tenantId === r.tenantId);
      if (!owner) continue;
      const queued = owner.queued.reduce((a, b) => a + b, 0);
      const short = Math.min(queued, r.slots - owner.running);
      if (short <= 0) continue;
      const borrowers = new Set(pool.demand.filter((d) => d.tenantId !== r.tenantId && d.borrowed > 0).map((d) => d.tenantId));
      if (borrowers.size === 0) continue;
      const victims = pool.leases.filter((l) => borrowers.has(l.tenantId)).slice(0, short);
      if (victims.length === 0) continue;
      const subject = {
        poolId: pool.poolId,
        pool: pool.name,
        tenantId: r.tenantId,
        reservationId: r.reservationId,
        victims: victims.map((v) => v.taskId),
      };
      const evidence = { reservedSlots: r.slots, ownerRunning: owner.running, ownerQueued: queued, borrowers: [...borrowers] };
      await this.preemptOrRecord(
        'reservation_reclaim',
        pool,
        policy,
        subject,
        evidence,
        victims.map((v) => v.taskId),
        `reservation ${r.reservationId} of ${r.tenantId} reclaims lent capacity`,
      );
    }
  }

  private async preemptOrRecord(
    kind: ConflictKind,
    pool: PoolSnapshotDto,
    policy: Policy,
    subject: Record<string, unknown>,
    evidence: Record<string, unknown>,
    victims: string[],
    reason: string,
  ): Promise<void> {
    const now = Date.now();
    const k = this.key(kind, pool.poolId, subject);
    if (this.open.has(k)) return; // waiting for a human
    if (now - (this.lastPreempt.get(pool.poolId) ?? 0) < this.env.CONFLICTS_PREEMPT_COOLDOWN_MS) return;
    if (!this.canPreempt(policy)) {
      const id = await this.store.record({ tenantId: pool.ownerTenantId, kind, poolId: pool.poolId, subject, evidence });
      this.open.set(k, id);
      this.logger.info('conflict left open (preemption disabled)', { kind, pool: pool.name, conflictId: id });
      return;
    }
    this.lastPreempt.set(pool.poolId, now);
    const done = await this.preempt(victims, reason);
    const actions: ConflictActionDto[] = victims.map((taskId) => ({
      kind: done.includes(taskId) ? 'preempt' : 'preempt_skipped',
      taskId,
      detail: reason,
    }));
    await this.store.record({
      tenantId: pool.ownerTenantId,
      kind,
      poolId: pool.poolId,
      subject,
      evidence,
      resolution: { policy: policy.kind, actions, resolvedBy: 'conflict-resolver', status: 'resolved' },
    });
  }

  /** Sends the preemption to the coordinator; returns the tasks it preempted. */
  async preempt(taskIds: string[], reason: string): Promise<string[]> {
    if (taskIds.length === 0) return [];
    try {
      const r = await this.bus.request(CoordinatorResourceCommands.preempt, { tasks: taskIds.map((taskId) => ({ taskId, reason })) });
      return r.preempted;
    } catch (err) {
      this.logger.warn('preemption failed', { error: (err as Error).message });
      return [];
    }
  }

  private async once(c: NewConflict): Promise<void> {
    const k = this.key(c.kind, c.poolId, c.subject);
    const now = Date.now();
    if (this.open.has(k) || now - (this.recorded.get(k) ?? 0) < this.env.CONFLICTS_DEDUPE_MS) return;
    this.recorded.set(k, now);
    const id = await this.store.record(c);
    if (!c.resolution) this.open.set(k, id);
  }

  private async starvation(pool: PoolSnapshotDto, policy: Policy): Promise<void> {
    for (const d of pool.demand) {
      if (d.oldestWaitMs <= policy.starvationMs || d.queued.every((n) => n === 0)) continue;
      await this.once({
        tenantId: pool.ownerTenantId,
        kind: 'starvation',
        poolId: pool.poolId,
        subject: { poolId: pool.poolId, pool: pool.name, tenantId: d.tenantId },
        evidence: { oldestWaitMs: d.oldestWaitMs, thresholdMs: policy.starvationMs, queued: d.queued, running: d.running },
        resolution: {
          policy: policy.kind,
          actions: [
            {
              kind: policy.kind === 'priority_aging' ? 'aging' : 'share',
              detail:
                policy.kind === 'priority_aging'
                  ? `waiting work gains one priority level every ${policy.agingStepMs} ms until served`
                  : `capacity is shared by ${policy.kind}`,
            },
          ],
          resolvedBy: 'conflict-resolver',
          status: 'resolved',
        },
      });
    }
  }

  private async overSubscription(pool: PoolSnapshotDto, policy: Policy): Promise<void> {
    const queued = pool.demand.reduce((s, d) => s + d.queued.reduce((a, b) => a + b, 0), 0);
    const full = pool.utilisation >= 1 || (pool.concurrency !== undefined && pool.slotsHeld >= pool.concurrency);
    if (!full || queued === 0) return;
    const tenants = pool.demand.filter((d) => d.queued.some((n) => n > 0)).map((d) => d.tenantId);
    await this.once({
      tenantId: pool.ownerTenantId,
      kind: 'over_subscription',
      poolId: pool.poolId,
      subject: { poolId: pool.poolId, pool: pool.name, tenants },
      evidence: { utilisation: pool.utilisation, slotsHeld: pool.slotsHeld, concurrency: pool.concurrency ?? null, queued },
      resolution: {
        policy: policy.kind,
        actions: [{ kind: 'share', detail: `demand above capacity; credits are granted by ${policy.kind} among ${tenants.join(', ')}` }],
        resolvedBy: 'conflict-resolver',
        status: 'resolved',
      },
    });
  }

  private async overlapping(pool: PoolSnapshotDto): Promise<void> {
    if (pool.concurrency === undefined || pool.reservations.length < 2) return;
    const reserved = pool.reservations.reduce((s, r) => s + r.slots, 0);
    if (reserved <= pool.concurrency) return;
    await this.once({
      tenantId: pool.ownerTenantId,
      kind: 'overlapping_reservations',
      poolId: pool.poolId,
      subject: { poolId: pool.poolId, pool: pool.name, reservations: pool.reservations.map((r) => r.reservationId) },
      evidence: { reservedSlots: reserved, concurrency: pool.concurrency },
    });
  }
}
