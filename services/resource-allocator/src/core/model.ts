import type {
  BudgetAction,
  BudgetDto,
  BudgetState,
  PoolDto,
  PoolLimitsDto,
  PoolPricingDto,
  ReservationDto,
  ResourceEstimateDto,
  ResourcePolicyKind,
} from '@swarm-mesh/contracts';
import { Ledger } from './ledger';

export const DEFAULT_WINDOW_MS = 60_000;
export const DEFAULT_COST_PERIOD_MS = 24 * 3600 * 1000;
export const DEFAULT_BUDGET_PERIOD_MS = 30 * 24 * 3600 * 1000;

/** A pool in memory (the row plus its ledger and fairness bookkeeping). */
export interface Pool {
  id: string;
  tenantId: string;
  name: string;
  provider: string;
  model: string;
  keyRef: string | null;
  capabilities: string[];
  tenants: string[];
  limits: PoolLimitsDto;
  pricing: PoolPricingDto | undefined;
  defaultEstimate: ResourceEstimateDto | undefined;
  /** Paused by an operator until resumed. */
  paused: boolean;
  /** Paused (by a provider 429 or a timed pause) until this time. */
  pausedUntil: number | null;
  pauseReason: string | null;
  createdAt: number;
  updatedAt: number;
  ledger: Ledger;
  /** Virtual time per tenant under fair share (weighted service received). */
  served: Map<string, number>;
  /** Slots allotted per tenant at the last exchange. */
  allotted: Map<string, number>;
  /** Smoothed admissions per ms, tokens per ms (monitoring, forecast). */
  admitRate: number;
  tokenRate: number;
  lastRateAt: number;
  rateLimited: number;
}

export function poolPaused(p: Pool, now: number): boolean {
  return p.paused || (p.pausedUntil !== null && p.pausedUntil > now);
}

export function windowOf(p: Pool): number {
  return p.limits.windowMs ?? DEFAULT_WINDOW_MS;
}

export function poolMayServe(p: Pool, tenantId: string): boolean {
  return p.tenantId === tenantId || p.tenants.includes('*') || p.tenants.includes(tenantId);
}

/** USD per 1 000 tokens, for ranking pools by cheapness. */
export function costPer1k(p: Pool): number {
  const i = p.pricing?.inputUsdPer1k ?? 0;
  const o = p.pricing?.outputUsdPer1k ?? 0;
  return (i + o) / 2;
}

export function toPoolDto(p: Pool, now: number): PoolDto {
  return {
    id: p.id,
    tenantId: p.tenantId,
    name: p.name,
    provider: p.provider,
    model: p.model,
    keyRef: p.keyRef,
    capabilities: [...p.capabilities],
    tenants: [...p.tenants],
    limits: { ...p.limits },
    ...(p.pricing ? { pricing: { ...p.pricing } } : {}),
    ...(p.defaultEstimate ? { defaultEstimate: { ...p.defaultEstimate } } : {}),
    paused: poolPaused(p, now),
    pausedUntil: p.pausedUntil !== null && p.pausedUntil > now ? new Date(p.pausedUntil).toISOString() : null,
    pauseReason: poolPaused(p, now) ? p.pauseReason : null,
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
  };
}

export interface Reservation {
  id: string;
  tenantId: string;
  poolId: string;
  workflowId: string | null;
  startsAt: number;
  endsAt: number;
  slots?: number;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  note: string | null;
  createdAt: number;
}

export function reservationActive(r: Reservation, now: number): boolean {
  return r.startsAt <= now && now < r.endsAt;
}

export function toReservationDto(r: Reservation, now: number): ReservationDto {
  return {
    id: r.id,
    tenantId: r.tenantId,
    poolId: r.poolId,
    workflowId: r.workflowId,
    startsAt: new Date(r.startsAt).toISOString(),
    endsAt: new Date(r.endsAt).toISOString(),
    ...(r.slots !== undefined ? { slots: r.slots } : {}),
    ...(r.requestsPerMinute !== undefined ? { requestsPerMinute: r.requestsPerMinute } : {}),
    ...(r.tokensPerMinute !== undefined ? { tokensPerMinute: r.tokensPerMinute } : {}),
    note: r.note,
    active: reservationActive(r, now),
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

export interface Budget {
  id: string;
  tenantId: string;
  workflowId: string | null;
  limitUsd: number;
  periodMs: number;
  nearLimitRatio: number;
  action: BudgetAction;
  spentUsd: number;
  reservedUsd: number;
  periodStartedAt: number;
  createdAt: number;
  updatedAt: number;
  dirty: boolean;
}

/** Rolls the budget into its current period. */
export function rollBudget(b: Budget, now: number): void {
  if (now < b.periodStartedAt + b.periodMs) return;
  const periods = Math.floor((now - b.periodStartedAt) / b.periodMs);
  b.periodStartedAt += periods * b.periodMs;
  b.spentUsd = 0;
  b.dirty = true;
}

export function budgetState(b: Budget): BudgetState {
  const used = b.spentUsd + b.reservedUsd;
  if (used >= b.limitUsd) return 'exhausted';
  if (used >= b.limitUsd * b.nearLimitRatio) return 'near_limit';
  return 'ok';
}

const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

export function toBudgetDto(b: Budget): BudgetDto {
  return {
    id: b.id,
    tenantId: b.tenantId,
    workflowId: b.workflowId,
    limitUsd: b.limitUsd,
    periodMs: b.periodMs,
    nearLimitRatio: b.nearLimitRatio,
    action: b.action,
    spentUsd: Math.max(0, round6(b.spentUsd)),
    reservedUsd: Math.max(0, round6(b.reservedUsd)),
    state: budgetState(b),
    periodStartedAt: new Date(b.periodStartedAt).toISOString(),
    createdAt: new Date(b.createdAt).toISOString(),
    updatedAt: new Date(b.updatedAt).toISOString(),
  };
}

/** A per-task lease: one admitted attempt holding part of a pool grant (and a slot). */
export interface Lease {
  taskId: string;
  attempt: number;
  poolId: string;
  tenantId: string;
  workflowId: string | null;
  capability: string;
  priority: number;
  holder: string;
  grantId: string;
  est: { tokensIn: number; tokensOut: number; costUsd: number };
  admittedAt: number;
}

export interface Policy {
  kind: ResourcePolicyKind;
  weights: Record<string, number>;
  agingStepMs: number;
  starvationMs: number;
  preemption: boolean;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  kind: 'priority_aging',
  weights: {},
  agingStepMs: 10_000,
  starvationMs: 60_000,
  preemption: true,
});

export interface Estimate {
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  samples: number;
  dirty: boolean;
}

/** An explicit allocation (`POST /resources/allocate`). */
export interface Explicit {
  id: string;
  poolId: string;
  tenantId: string;
  holder: string;
  requests: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  slots: number;
  expiresAt: number;
  releasedAt: number | null;
  createdAt: number;
}
