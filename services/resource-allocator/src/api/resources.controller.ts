import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  type AllocateRequest,
  type AllocationDto,
  type AllocationRequest,
  type AllocationViewDto,
  type BudgetDto,
  type BudgetPageDto,
  type BudgetRequest,
  ConflictError,
  type CreateBudgetRequest,
  type CreatePoolRequest,
  type CreateReservationRequest,
  type DemandReport,
  type GrantReply,
  InvalidCursorError,
  type MonitoringDto,
  NotFoundError,
  type PausePoolRequest,
  type PoolDto,
  type PoolPageDto,
  type PoolRequest,
  ReservationConflictError,
  type ReservationDto,
  type ReservationPageDto,
  type ReservationRequest,
  type ResourceListRequest,
  ResourceCommands,
  type UpdateBudgetRequest,
  type UpdatePoolRequest,
  ValidationError,
} from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { AllocatorHost, poolFromRow } from '../allocator.host';
import {
  type Budget,
  DEFAULT_BUDGET_PERIOD_MS,
  DEFAULT_COST_PERIOD_MS,
  DEFAULT_WINDOW_MS,
  type Pool,
  poolMayServe,
  type Reservation,
  toBudgetDto,
  toPoolDto,
  toReservationDto,
} from '../core/model';

/** A page of `items` sorted newest first, keyed by (createdAt, id). */
function page<T extends { createdAt: number; id: string }, D>(
  all: T[],
  req: ResourceListRequest,
  map: (t: T) => D,
): { items: D[]; nextCursor: string | null } {
  const limit = req.limit ?? 50;
  const sorted = [...all].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  let start = 0;
  if (req.cursor !== undefined) {
    let key: { t: number; id: string };
    try {
      key = JSON.parse(Buffer.from(req.cursor, 'base64url').toString()) as { t: number; id: string };
      if (typeof key.t !== 'number' || typeof key.id !== 'string') throw new Error('shape');
    } catch {
      throw new InvalidCursorError(req.cursor);
    }
    start = sorted.findIndex((x) => x.createdAt < key.t || (x.createdAt === key.t && x.id < key.id));
    if (start < 0) start = sorted.length;
  }
  const slice = sorted.slice(start, start + limit);
  const last = slice[slice.length - 1];
  const more = start + limit < sorted.length && last !== undefined;
  return {
    items: slice.map(map),
    nextCursor: more ? Buffer.from(JSON.stringify({ t: last.createdAt, id: last.id })).toString('base64url') : null,
  };
}

/** Pools, reservations, budgets, explicit allocations, views, and the coordinators' credit exchange. */
@Controller()
export class ResourcesController {
  constructor(@Inject(AllocatorHost) private readonly host: AllocatorHost) {}

  private get core() {
    return this.host.core;
  }

  /** A pool the tenant owns (mutations) or may use (reads, reservations, allocations). */
  private pool(tenantId: string, poolId: string, owner: boolean): Pool {
    const p = this.core.pools.get(poolId);
    if (!p || (owner ? p.tenantId !== tenantId : !poolMayServe(p, tenantId))) throw new NotFoundError('pool', poolId, 'POOL_NOT_FOUND');
    return p;
  }

  // ── pools ──

  @HandleCommand(ResourceCommands.createPool)
  async createPool(@Payload() req: CreatePoolRequest): Promise<PoolDto> {
    const now = Date.now();
    const s = req.pool;
    for (const p of this.core.pools.values())
      if (p.tenantId === req.tenantId && p.name === s.name)
        throw new ConflictError(`a pool named "${s.name}" already exists`, { poolId: p.id, name: s.name });
    const pool = poolFromRow({
      id: randomUUID(),
      tenantId: req.tenantId,
      name: s.name,
      provider: s.provider,
      model: s.model,
      keyRef: s.keyRef ?? null,
      capabilities: [...new Set(s.capabilities)],
      tenants: [...new Set(s.tenants ?? [])],
      limits: { ...s.limits },
      pricing: s.pricing,
      defaultEstimate: s.defaultEstimate,
      paused: false,
      pausedUntil: null,
      pauseReason: null,
      createdAt: now,
      updatedAt: now,
    });
    await this.host.store.savePool(pool);
    this.core.pools.set(pool.id, pool);
    this.host.publishBindings();
    return toPoolDto(pool, now);
  }

  @HandleCommand(ResourceCommands.updatePool)
  async updatePool(@Payload() req: UpdatePoolRequest): Promise<PoolDto> {
    const p = this.pool(req.tenantId, req.poolId, true);
    const patch = req.patch;
    const next: Pool = {
      ...p,
      ...(patch.provider !== undefined ? { provider: patch.provider } : {}),
      ...(patch.model !== undefined ? { model: patch.model } : {}),
      ...(patch.keyRef !== undefined ? { keyRef: patch.keyRef } : {}),
      ...(patch.capabilities !== undefined ? { capabilities: [...new Set(patch.capabilities)] } : {}),
      ...(patch.tenants !== undefined ? { tenants: [...new Set(patch.tenants)] } : {}),
      ...(patch.limits !== undefined ? { limits: { ...patch.limits } } : {}),
      ...(patch.pricing !== undefined ? { pricing: { ...patch.pricing } } : {}),
      ...(patch.defaultEstimate !== undefined ? { defaultEstimate: { ...patch.defaultEstimate } } : {}),
      updatedAt: Date.now(),
    };
    await this.host.store.savePool(next);
    Object.assign(p, next);
    p.ledger.windowMs = p.limits.windowMs ?? DEFAULT_WINDOW_MS;
    p.ledger.costPeriodMs = p.limits.costPeriodMs ?? DEFAULT_COST_PERIOD_MS;
    this.host.publishBindings();
    return toPoolDto(p, Date.now());
  }

  @HandleCommand(ResourceCommands.getPool)
  getPool(@Payload() req: PoolRequest): PoolDto {
    return toPoolDto(this.pool(req.tenantId, req.poolId, false), Date.now());
  }

  @HandleCommand(ResourceCommands.listPools)
  listPools(@Payload() req: ResourceListRequest): PoolPageDto {
    const now = Date.now();
    return page(this.core.visiblePools(req.tenantId), req, (p) => toPoolDto(p, now));
  }

  @HandleCommand(ResourceCommands.deletePool)
  async deletePool(@Payload() req: PoolRequest): Promise<PoolDto> {
    const p = this.pool(req.tenantId, req.poolId, true);
    await this.host.store.deletePool(p.id);
    this.core.pools.delete(p.id);
    for (const [id, r] of this.core.reservations) if (r.poolId === p.id) this.core.reservations.delete(id);
    this.host.publishBindings();
    return toPoolDto(p, Date.now());
  }

  @HandleCommand(ResourceCommands.pausePool)
  async pausePool(@Payload() req: PausePoolRequest): Promise<PoolDto> {
    const p = this.pool(req.tenantId, req.poolId, true);
    const now = Date.now();
    const next: Pool = {
      ...p,
      ...(req.durationMs !== undefined ? { pausedUntil: now + req.durationMs } : { paused: true }),
      pauseReason: req.reason ?? 'paused by an operator',
      updatedAt: now,
    };
    await this.host.store.savePool(next);
    Object.assign(p, next);
    this.host.publishBindings();
    return toPoolDto(p, now);
  }

  @HandleCommand(ResourceCommands.resumePool)
  async resumePool(@Payload() req: PoolRequest): Promise<PoolDto> {
    const p = this.pool(req.tenantId, req.poolId, true);
    const now = Date.now();
    const next: Pool = { ...p, paused: false, pausedUntil: null, pauseReason: null, updatedAt: now };
    await this.host.store.savePool(next);
    Object.assign(p, next);
    this.host.publishBindings();
    return toPoolDto(p, now);
  }

  // ── reservations ──

  @HandleCommand(ResourceCommands.createReservation)
  async createReservation(@Payload() req: CreateReservationRequest): Promise<ReservationDto> {
    const s = req.reservation;
    const pool = this.pool(req.tenantId, s.poolId, false);
    const startsAt = Date.parse(s.startsAt);
    const endsAt = Date.parse(s.endsAt);
    if (!(endsAt > startsAt))
      throw new ValidationError('reservation: endsAt must be after startsAt', [
        { path: 'endsAt', message: 'endsAt must be after startsAt', constraint: 'after' },
      ]);
    if (s.slots === undefined && s.requestsPerMinute === undefined && s.tokensPerMinute === undefined)
      throw new ValidationError('reservation: reserve at least one of slots, requestsPerMinute, tokensPerMinute', [
        { path: 'slots', message: 'reserve at least one of slots, requestsPerMinute, tokensPerMinute', constraint: 'required' },
      ]);
    const now = Date.now();
    // a window that has already ended would reserve nothing (one that has begun starts now)
    if (endsAt <= now)
      throw new ValidationError(`reservation: endsAt ${s.endsAt} is in the past`, [
        { path: 'endsAt', message: 'endsAt must be in the future', constraint: 'future' },
      ]);
    const workflowId = s.workflowId ?? null;
    const overlapping = [...this.core.reservations.values()].filter(
      (r) => r.poolId === pool.id && r.startsAt < endsAt && startsAt < r.endsAt,
    );
    const same = overlapping.find((r) => r.tenantId === req.tenantId && r.workflowId === workflowId);
    if (same)
      throw new ReservationConflictError(
        `reservation ${same.id} of the same owner already covers part of this window on pool ${pool.name}`,
        {
          reservationId: same.id,
          poolId: pool.id,
        },
      );
    const l = pool.limits;
    const over = (limit: number | undefined, asked: number | undefined, pick: (r: Reservation) => number | undefined): boolean =>
      limit !== undefined && asked !== undefined && overlapping.reduce((sum, r) => sum + (pick(r) ?? 0), 0) + asked > limit;
    if (
      over(l.concurrency, s.slots, (r) => r.slots) ||
      over(l.requestsPerMinute, s.requestsPerMinute, (r) => r.requestsPerMinute) ||
      over(
        l.tokensPerMinute ?? (l.inputTokensPerMinute !== undefined ? l.inputTokensPerMinute + (l.outputTokensPerMinute ?? 0) : undefined),
        s.tokensPerMinute,
        (r) => r.tokensPerMinute,
      )
    )
      throw new ReservationConflictError(`pool ${pool.name} cannot hold this reservation next to the others of the window`, {
        poolId: pool.id,
        limits: l,
      });
    const r: Reservation = {
      id: randomUUID(),
      tenantId: req.tenantId,
      poolId: pool.id,
      workflowId,
      startsAt,
      endsAt,
      ...(s.slots !== undefined ? { slots: s.slots } : {}),
      ...(s.requestsPerMinute !== undefined ? { requestsPerMinute: s.requestsPerMinute } : {}),
      ...(s.tokensPerMinute !== undefined ? { tokensPerMinute: s.tokensPerMinute } : {}),
      note: s.note ?? null,
      createdAt: now,
    };
    await this.host.store.insertReservation(r);
    this.core.reservations.set(r.id, r);
    return toReservationDto(r, now);
  }

  private reservation(tenantId: string, id: string): Reservation {
    const r = this.core.reservations.get(id);
    if (!r || r.tenantId !== tenantId) throw new NotFoundError('reservation', id, 'RESERVATION_NOT_FOUND');
    return r;
  }

  @HandleCommand(ResourceCommands.getReservation)
  getReservation(@Payload() req: ReservationRequest): ReservationDto {
    return toReservationDto(this.reservation(req.tenantId, req.reservationId), Date.now());
  }

  @HandleCommand(ResourceCommands.listReservations)
  listReservations(@Payload() req: ResourceListRequest): ReservationPageDto {
    const now = Date.now();
    const all = [...this.core.reservations.values()].filter(
      (r) => r.tenantId === req.tenantId && (req.poolId === undefined || r.poolId === req.poolId),
    );
    return page(all, req, (r) => toReservationDto(r, now));
  }

  @HandleCommand(ResourceCommands.deleteReservation)
  async deleteReservation(@Payload() req: ReservationRequest): Promise<ReservationDto> {
    const r = this.reservation(req.tenantId, req.reservationId);
    await this.host.store.deleteReservation(r.id);
    this.core.reservations.delete(r.id);
    return toReservationDto(r, Date.now());
  }

  // ── budgets ──

  @HandleCommand(ResourceCommands.createBudget)
  async createBudget(@Payload() req: CreateBudgetRequest): Promise<BudgetDto> {
    const s = req.budget;
    const workflowId = s.workflowId ?? null;
    for (const b of this.core.budgets.values())
      if (b.tenantId === req.tenantId && b.workflowId === workflowId)
        throw new ConflictError(`a budget for ${workflowId ? `workflow ${workflowId}` : 'the tenant'} already exists`, { budgetId: b.id });
    const now = Date.now();
    const b: Budget = {
      id: randomUUID(),
      tenantId: req.tenantId,
      workflowId,
      limitUsd: s.limitUsd,
      periodMs: s.periodMs ?? DEFAULT_BUDGET_PERIOD_MS,
      nearLimitRatio: s.nearLimitRatio ?? 0.8,
      action: s.action,
      spentUsd: 0,
      reservedUsd: 0,
      periodStartedAt: now,
      createdAt: now,
      updatedAt: now,
      dirty: false,
    };
    // live leases of the tenant (or workflow) already hold part of the new budget
    for (const l of this.core.leases.values())
      if (l.tenantId === b.tenantId && (b.workflowId === null || l.workflowId === b.workflowId)) b.reservedUsd += l.est.costUsd;
    await this.host.store.saveBudget(b);
    this.core.budgets.set(b.id, b);
    return toBudgetDto(b);
  }

  private budget(tenantId: string, id: string): Budget {
    const b = this.core.budgets.get(id);
    if (!b || b.tenantId !== tenantId) throw new NotFoundError('budget', id, 'BUDGET_NOT_FOUND');
    return b;
  }

  @HandleCommand(ResourceCommands.updateBudget)
  async updateBudget(@Payload() req: UpdateBudgetRequest): Promise<BudgetDto> {
    const b = this.budget(req.tenantId, req.budgetId);
    const next: Budget = {
      ...b,
      ...(req.patch.limitUsd !== undefined ? { limitUsd: req.patch.limitUsd } : {}),
      ...(req.patch.periodMs !== undefined ? { periodMs: req.patch.periodMs } : {}),
      ...(req.patch.nearLimitRatio !== undefined ? { nearLimitRatio: req.patch.nearLimitRatio } : {}),
      ...(req.patch.action !== undefined ? { action: req.patch.action } : {}),
      updatedAt: Date.now(),
    };
    await this.host.store.saveBudget(next);
    Object.assign(b, next);
    return toBudgetDto(b);
  }

  @HandleCommand(ResourceCommands.getBudget)
  getBudget(@Payload() req: BudgetRequest): BudgetDto {
    const b = this.budget(req.tenantId, req.budgetId);
    this.core.budgetsFor(b.tenantId, b.workflowId, Date.now());
    return toBudgetDto(b);
  }

  @HandleCommand(ResourceCommands.listBudgets)
  listBudgets(@Payload() req: ResourceListRequest): BudgetPageDto {
    const all = [...this.core.budgets.values()].filter((b) => b.tenantId === req.tenantId);
    return page(all, req, (b) => toBudgetDto(b));
  }

  @HandleCommand(ResourceCommands.deleteBudget)
  async deleteBudget(@Payload() req: BudgetRequest): Promise<BudgetDto> {
    const b = this.budget(req.tenantId, req.budgetId);
    await this.host.store.deleteBudget(b.id);
    this.core.budgets.delete(b.id);
    return toBudgetDto(b);
  }

  // ── explicit allocations and views ──

  @HandleCommand(ResourceCommands.allocate)
  allocate(@Payload() req: AllocateRequest): AllocationDto {
    const a = req.allocation;
    const pool = this.pool(req.tenantId, a.poolId, false);
    const ex = this.core.allocate(
      pool,
      req.tenantId,
      {
        requests: a.requests ?? 0,
        tokensIn: a.tokensIn ?? 0,
        tokensOut: a.tokensOut ?? 0,
        costUsd: a.costUsd ?? 0,
        slots: a.slots ?? 0,
        ttlMs: a.ttlMs ?? 60_000,
        holder: a.holder ?? `tenant:${req.tenantId}`,
      },
      Date.now(),
    );
    return this.core.toAllocationDto(ex);
  }

  @HandleCommand(ResourceCommands.releaseAllocation)
  async releaseAllocation(@Payload() req: AllocationRequest): Promise<AllocationDto> {
    const ex = this.core.explicit.get(req.allocationId);
    if (!ex || ex.tenantId !== req.tenantId) throw new NotFoundError('allocation', req.allocationId, 'ALLOCATION_NOT_FOUND');
    if (ex.releasedAt === null) {
      ex.releasedAt = Date.now();
      // unused rate capacity stays charged (it may have been used); slots free at once
      await this.host.store.releaseExplicit(ex.id, ex.releasedAt);
    }
    return this.core.toAllocationDto(ex);
  }

  @HandleCommand(ResourceCommands.allocation)
  allocation(@Payload() req: ResourceListRequest): AllocationViewDto {
    if (req.poolId !== undefined) this.pool(req.tenantId, req.poolId, false);
    return this.core.allocationView(req.tenantId, req.poolId, Date.now());
  }

  @HandleCommand(ResourceCommands.monitoring)
  monitoring(@Payload() req: ResourceListRequest): MonitoringDto {
    if (req.poolId !== undefined) this.pool(req.tenantId, req.poolId, false);
    return this.core.monitoring(req.tenantId, req.poolId, Date.now());
  }

  @HandleCommand(ResourceCommands.exchange)
  exchange(@Payload() req: DemandReport): GrantReply {
    return this.host.exchange(req);
  }
}
