/**
 * Resource allocation DTOs (issue #5): pools, reservations, budgets, explicit allocations, the
 * credit exchange between the coordinator and the allocator, and the views (allocation,
 * monitoring). Times on the coordinator ↔ allocator exchange are relative durations (ms), never
 * absolute clock values, so clock skew between machines cannot stretch a lease.
 */
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  registerDecorator,
  type ValidationOptions,
  ValidateNested,
} from 'class-validator';
import { PRIORITIES, type Priority } from '../enums';
import { CAPABILITY_RE, TENANT_ID_RE } from '../validation/validators';
import { TenantScopedDto } from './task-commands.dto';

const DAY_MS = 24 * 3600 * 1000;
/** Largest count or token figure accepted anywhere in a limit. */
const MAX_FIGURE = 1_000_000_000_000;

/** Pool names: like capabilities (`openai-gpt4o`, `anthropic.sonnet:key2`). */
export const POOL_NAME_RE = /^[a-z0-9][a-z0-9_.:-]{0,127}$/;
/** A tenant id, or `*` (every tenant) in a pool's `tenants`. */
export const POOL_TENANT_RE = /^(\*|[a-z0-9][a-z0-9_-]{0,63})$/;

/** How the allocator splits a contended pool among tenants (set per pool in the conflict resolver). */
export const RESOURCE_POLICY_KINDS = ['priority_aging', 'fair_share', 'edf', 'fifo'] as const;
export type ResourcePolicyKind = (typeof RESOURCE_POLICY_KINDS)[number];

/** What happens when a budget nears its limit. */
export const BUDGET_ACTIONS = ['defer_low', 'downgrade', 'reject'] as const;
export type BudgetAction = (typeof BUDGET_ACTIONS)[number];

export const BUDGET_STATES = ['ok', 'near_limit', 'exhausted'] as const;
export type BudgetState = (typeof BUDGET_STATES)[number];

/** A flat object of tenant id → weight (0 … 1 000 000). */
export function IsWeightRecord(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isWeightRecord',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be an object of tenant id → weight (a number 0..1000000), at most 1000 entries', ...options },
      validator: {
        validate(value: unknown): boolean {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          if (entries.length > 1000) return false;
          return entries.every(([k, v]) => TENANT_ID_RE.test(k) && typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1_000_000);
        },
      },
    });
  };
}

// ── pools ──────────────────────────────────────────────────────────────────

/**
 * Limits of a pool. Absent = not limited. The per-minute limits hold over ANY sliding window of
 * `windowMs` (default one minute; tests shrink it).
 */
export class PoolLimitsDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  requestsPerMinute?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  inputTokensPerMinute?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  outputTokensPerMinute?: number;

  /** Input + output tokens (providers with one combined TPM). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  tokensPerMinute?: number;

  /** Concurrent requests (slots). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  concurrency?: number;

  /** Spend over any sliding `costPeriodMs`. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000_000)
  costUsdPerPeriod?: number;

  /** Default one day. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(366 * DAY_MS)
  costPeriodMs?: number;

  /** The "minute" of the per-minute limits. Default 60 000. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  windowMs?: number;
}

/** Prices used to estimate cost when a task declares tokens but no cost, and to rank pools by cheapness. */
export class PoolPricingDto {
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  inputUsdPer1k?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  outputUsdPer1k?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  requestUsd?: number;
}

/** Resources one attempt is expected to use. */
export class ResourceEstimateDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  tokensIn?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  tokensOut?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  costUsd?: number;
}

/** A pool to create: one per provider × model × key. */
export class PoolSpecDto {
  @Matches(POOL_NAME_RE, { message: 'name must match ^[a-z0-9][a-z0-9_.:-]{0,127}$' })
  name!: string;

  @IsString()
  @Length(1, 100)
  provider!: string;

  @IsString()
  @Length(1, 200)
  model!: string;

  /** Which API key the pool stands for (a reference, never the secret). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  keyRef?: string;

  /** Capabilities whose tasks use this pool unless they name another. */
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(CAPABILITY_RE, { each: true })
  capabilities!: string[];

  /** Other tenants allowed to use the pool (`*` = every tenant). Default: only the owner. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @Matches(POOL_TENANT_RE, { each: true })
  tenants?: string[];

  @IsDefined()
  @ValidateNested()
  @Type(() => PoolLimitsDto)
  limits!: PoolLimitsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => PoolPricingDto)
  pricing?: PoolPricingDto;

  /** Estimate for tasks that declare none, until the allocator has learned one for their capability. */
  @IsOptional()
  @ValidateNested()
  @Type(() => ResourceEstimateDto)
  defaultEstimate?: ResourceEstimateDto;
}

/** Changes to a pool (absent fields are kept; `limits` replaces the limits as a whole). */
export class PoolPatchDto {
  @IsOptional()
  @IsString()
  @Length(1, 100)
  provider?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  keyRef?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(CAPABILITY_RE, { each: true })
  capabilities?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @Matches(POOL_TENANT_RE, { each: true })
  tenants?: string[];

  @IsOptional()
  @ValidateNested()
  @Type(() => PoolLimitsDto)
  limits?: PoolLimitsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => PoolPricingDto)
  pricing?: PoolPricingDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => ResourceEstimateDto)
  defaultEstimate?: ResourceEstimateDto;
}

/** A pool as read back. */
export class PoolDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @Matches(POOL_NAME_RE)
  name!: string;

  @IsString()
  provider!: string;

  @IsString()
  model!: string;

  @IsOptional()
  @IsString()
  keyRef?: string | null;

  @IsArray()
  @Matches(CAPABILITY_RE, { each: true })
  capabilities!: string[];

  @IsArray()
  @Matches(POOL_TENANT_RE, { each: true })
  tenants!: string[];

  @IsDefined()
  @ValidateNested()
  @Type(() => PoolLimitsDto)
  limits!: PoolLimitsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => PoolPricingDto)
  pricing?: PoolPricingDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => ResourceEstimateDto)
  defaultEstimate?: ResourceEstimateDto;

  /** Paused by an operator (until resumed) or by a provider 429 (until pausedUntil). */
  @IsBoolean()
  paused!: boolean;

  @IsOptional()
  @IsISO8601()
  pausedUntil?: string | null;

  @IsOptional()
  @IsString()
  pauseReason?: string | null;

  @IsISO8601()
  createdAt!: string;

  @IsISO8601()
  updatedAt!: string;
}

export class PoolPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PoolDto)
  items!: PoolDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** `resources.pools.create` */
export class CreatePoolRequest extends TenantScopedDto {
  @IsDefined()
  @ValidateNested()
  @Type(() => PoolSpecDto)
  pool!: PoolSpecDto;
}

/** `resources.pools.update` */
export class UpdatePoolRequest extends TenantScopedDto {
  @IsUUID()
  poolId!: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => PoolPatchDto)
  patch!: PoolPatchDto;
}

/** `resources.pools.get` / `delete` / `resume` */
export class PoolRequest extends TenantScopedDto {
  @IsUUID()
  poolId!: string;
}

/** `resources.pools.pause`: without durationMs the pool stays paused until resumed. */
export class PausePoolRequest extends TenantScopedDto {
  @IsUUID()
  poolId!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(30 * DAY_MS)
  durationMs?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  reason?: string;
}

/** Lists of pools, reservations, budgets (newest first). */
export class ResourceListRequest extends TenantScopedDto {
  /** Only items of this pool (reservations). */
  @IsOptional()
  @IsUUID()
  poolId?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

// ── reservations ───────────────────────────────────────────────────────────

/** Capacity of a pool reserved for a tenant (or one of its workflows) in a time window. */
export class ReservationSpecDto {
  @IsUUID()
  poolId!: string;

  /** Reserve for one workflow of the tenant (tasks labelled `workflow`); default the whole tenant. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  workflowId?: string;

  @IsISO8601({ strict: true })
  startsAt!: string;

  @IsISO8601({ strict: true })
  endsAt!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  slots?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  requestsPerMinute?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  tokensPerMinute?: number;

  @IsOptional()
  @IsString()
  @Length(0, 1000)
  note?: string;
}

export class ReservationDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsUUID()
  poolId!: string;

  @IsOptional()
  @IsString()
  workflowId?: string | null;

  @IsISO8601()
  startsAt!: string;

  @IsISO8601()
  endsAt!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  slots?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  requestsPerMinute?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  tokensPerMinute?: number;

  @IsOptional()
  @IsString()
  note?: string | null;

  /** Inside its window now. */
  @IsBoolean()
  active!: boolean;

  @IsISO8601()
  createdAt!: string;
}

export class ReservationPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ReservationDto)
  items!: ReservationDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** `resources.reservations.create` */
export class CreateReservationRequest extends TenantScopedDto {
  @IsDefined()
  @ValidateNested()
  @Type(() => ReservationSpecDto)
  reservation!: ReservationSpecDto;
}

/** `resources.reservations.get` / `delete` */
export class ReservationRequest extends TenantScopedDto {
  @IsUUID()
  reservationId!: string;
}

// ── budgets ────────────────────────────────────────────────────────────────

/** A spending limit of the tenant, or of one of its workflows (child of the tenant budget). */
export class BudgetSpecDto {
  /** Default: the tenant's own budget. Tasks belong to a workflow through their `workflow` label. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  workflowId?: string;

  @IsNumber()
  @Min(0)
  @Max(1_000_000_000)
  limitUsd!: number;

  /** Default 30 days; the period restarts when it ends. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(366 * DAY_MS)
  periodMs?: number;

  /** Share of the limit from which the budget is `near_limit`. Default 0.8. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  nearLimitRatio?: number;

  /** defer_low: LOW work waits once near the limit; downgrade: cheapest pool of the capability; reject: tasks fail BUDGET_EXCEEDED at the limit. */
  @IsIn(BUDGET_ACTIONS)
  action!: BudgetAction;
}

export class BudgetPatchDto {
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000_000)
  limitUsd?: number;

  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(366 * DAY_MS)
  periodMs?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  nearLimitRatio?: number;

  @IsOptional()
  @IsIn(BUDGET_ACTIONS)
  action?: BudgetAction;
}

export class BudgetDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsOptional()
  @IsString()
  workflowId?: string | null;

  @IsNumber()
  @Min(0)
  limitUsd!: number;

  @IsInt()
  @Min(1)
  periodMs!: number;

  @IsNumber()
  @Min(0)
  @Max(1)
  nearLimitRatio!: number;

  @IsIn(BUDGET_ACTIONS)
  action!: BudgetAction;

  /** Reconciled spend in the current period. */
  @IsNumber()
  @Min(0)
  spentUsd!: number;

  /** Estimates of admitted attempts not yet reconciled. */
  @IsNumber()
  @Min(0)
  reservedUsd!: number;

  @IsIn(BUDGET_STATES)
  state!: BudgetState;

  @IsISO8601()
  periodStartedAt!: string;

  @IsISO8601()
  createdAt!: string;

  @IsISO8601()
  updatedAt!: string;
}

export class BudgetPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => BudgetDto)
  items!: BudgetDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** `resources.budgets.create` */
export class CreateBudgetRequest extends TenantScopedDto {
  @IsDefined()
  @ValidateNested()
  @Type(() => BudgetSpecDto)
  budget!: BudgetSpecDto;
}

/** `resources.budgets.update` */
export class UpdateBudgetRequest extends TenantScopedDto {
  @IsUUID()
  budgetId!: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => BudgetPatchDto)
  patch!: BudgetPatchDto;
}

/** `resources.budgets.get` / `delete` */
export class BudgetRequest extends TenantScopedDto {
  @IsUUID()
  budgetId!: string;
}

// ── explicit allocations ───────────────────────────────────────────────────

/** `POST /resources/allocate`: capacity asked for outside the task path (a lease with an expiry). */
export class AllocateSpecDto {
  @IsUUID()
  poolId!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  requests?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  tokensIn?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_FIGURE)
  tokensOut?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  costUsd?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  slots?: number;

  /** Lease length. Default 60 000. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(DAY_MS)
  ttlMs?: number;

  /** Who holds it (free text, e.g. `script:nightly`). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  holder?: string;
}

export class AllocationDto {
  @IsUUID()
  id!: string;

  @IsUUID()
  poolId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsString()
  holder!: string;

  @IsInt()
  @Min(0)
  requests!: number;

  @IsInt()
  @Min(0)
  tokensIn!: number;

  @IsInt()
  @Min(0)
  tokensOut!: number;

  @IsNumber()
  @Min(0)
  costUsd!: number;

  @IsInt()
  @Min(0)
  slots!: number;

  @IsISO8601()
  expiresAt!: string;

  @IsOptional()
  @IsISO8601()
  releasedAt?: string | null;

  @IsISO8601()
  createdAt!: string;
}

/** `resources.allocate` */
export class AllocateRequest extends TenantScopedDto {
  @IsDefined()
  @ValidateNested()
  @Type(() => AllocateSpecDto)
  allocation!: AllocateSpecDto;
}

/** `resources.allocations.release` */
export class AllocationRequest extends TenantScopedDto {
  @IsUUID()
  allocationId!: string;
}

// ── views ──────────────────────────────────────────────────────────────────

/** Usage figures over a pool's current sliding window (cost: over its cost period). */
export class UsageFiguresDto {
  @IsNumber()
  @Min(0)
  requests!: number;

  @IsNumber()
  @Min(0)
  inputTokens!: number;

  @IsNumber()
  @Min(0)
  outputTokens!: number;

  @IsNumber()
  @Min(0)
  costUsd!: number;

  @IsInt()
  @Min(0)
  slots!: number;
}

/** One tenant's share of a pool. */
export class TenantAllocationDto {
  @Matches(TENANT_ID_RE)
  tenantId!: string;

  /** Slots allotted to the tenant right now (absent: pool has no concurrency limit). */
  @IsOptional()
  @IsInt()
  @Min(0)
  slots?: number;

  @IsInt()
  @Min(0)
  slotsHeld!: number;

  /** Live per-task leases. */
  @IsInt()
  @Min(0)
  leases!: number;

  /** Tasks waiting for this pool. */
  @IsInt()
  @Min(0)
  queued!: number;

  /** Weight under fair share. */
  @IsNumber()
  @Min(0)
  weight!: number;
}

export class PoolAllocationDto {
  @IsUUID()
  poolId!: string;

  @Matches(POOL_NAME_RE)
  name!: string;

  @IsIn(RESOURCE_POLICY_KINDS)
  policy!: ResourcePolicyKind;

  @IsBoolean()
  paused!: boolean;

  @IsDefined()
  @ValidateNested()
  @Type(() => PoolLimitsDto)
  limits!: PoolLimitsDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => UsageFiguresDto)
  usage!: UsageFiguresDto;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TenantAllocationDto)
  tenants!: TenantAllocationDto[];

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ReservationDto)
  reservations!: ReservationDto[];

  /** Live explicit allocations. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AllocationDto)
  allocations!: AllocationDto[];
}

/** `GET /resources/allocation` */
export class AllocationViewDto {
  @IsISO8601()
  at!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PoolAllocationDto)
  pools!: PoolAllocationDto[];
}

/** Utilisation of each limit (used ÷ limit over the window); absent when the limit is not set. */
export class UtilisationDto {
  @IsOptional()
  @IsNumber()
  @Min(0)
  requests?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  inputTokens?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  outputTokens?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  tokens?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  concurrency?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  cost?: number;
}

/** Demand and its forecast for the next window. */
export class DemandForecastDto {
  @IsInt()
  @Min(0)
  queued!: number;

  @IsInt()
  @Min(0)
  queuedTokens!: number;

  @IsInt()
  @Min(0)
  running!: number;

  /** Attempts admitted per minute (smoothed). */
  @IsNumber()
  @Min(0)
  admittedPerMinute!: number;

  /** Expected tokens asked for in the next window at the current trend. */
  @IsNumber()
  @Min(0)
  forecastTokens!: number;

  /** forecast ÷ the tightest limit: above 1 the pool will be over-subscribed. */
  @IsNumber()
  @Min(0)
  forecastSaturation!: number;

  /** Scaling signal: `up` (add capacity/keys), `steady`, `down`. */
  @IsIn(['up', 'steady', 'down'])
  scaling!: 'up' | 'steady' | 'down';
}

export class PoolMonitoringDto {
  @IsUUID()
  poolId!: string;

  @Matches(POOL_NAME_RE)
  name!: string;

  @IsBoolean()
  paused!: boolean;

  @IsDefined()
  @ValidateNested()
  @Type(() => UsageFiguresDto)
  usage!: UsageFiguresDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => UtilisationDto)
  utilisation!: UtilisationDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => DemandForecastDto)
  demand!: DemandForecastDto;

  /** Provider 429s reported by agents since the allocator started. */
  @IsInt()
  @Min(0)
  rateLimited!: number;
}

/** `GET /resources/monitoring` */
export class MonitoringDto {
  @IsISO8601()
  at!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PoolMonitoringDto)
  pools!: PoolMonitoringDto[];
}

// ── credit exchange (coordinator ↔ allocator) ───────────────────────────────

/** Demand of one tenant (or tenant × workflow) on a pool, as the coordinator sees it. */
export class DemandEntryDto {
  @Matches(TENANT_ID_RE)
  tenantId!: string;

  /** Queued tasks per priority: [LOW, MEDIUM, HIGH, CRITICAL]. */
  @IsArray()
  @ArrayMinSize(4)
  @ArrayMaxSize(4)
  @IsInt({ each: true })
  @Min(0, { each: true })
  queued!: number[];

  /** Estimated input tokens of the queued tasks. */
  @IsInt()
  @Min(0)
  queuedTokensIn!: number;

  @IsInt()
  @Min(0)
  queuedTokensOut!: number;

  @IsNumber()
  @Min(0)
  queuedCostUsd!: number;

  /** Age of the oldest queued task. */
  @IsInt()
  @Min(0)
  oldestWaitMs!: number;

  /** Time left to the earliest deadline of a queued task (negative: already late). */
  @IsOptional()
  @IsInt()
  earliestDeadlineInMs?: number;

  /** Slots held by running attempts. */
  @IsInt()
  @Min(0)
  running!: number;
}

export class DemandPoolDto {
  @IsUUID()
  poolId!: string;

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => DemandEntryDto)
  entries!: DemandEntryDto[];
}

/** What the holder spent of a grant; `final` = the grant is closed (the rest returns to the pool). */
export class SpentDto {
  @IsUUID()
  grantId!: string;

  @IsInt()
  @Min(0)
  requests!: number;

  @IsInt()
  @Min(0)
  tokensIn!: number;

  @IsInt()
  @Min(0)
  tokensOut!: number;

  @IsNumber()
  @Min(0)
  costUsd!: number;

  @IsBoolean()
  final!: boolean;
}

/** An attempt admitted on credits (its per-task lease). */
export class LeaseAdmitDto {
  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  attempt!: number;

  @IsUUID()
  poolId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  workflowId?: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsIn(PRIORITIES)
  priority!: Priority;

  @IsUUID()
  grantId!: string;

  /** The estimate charged at admission. */
  @IsInt()
  @Min(0)
  tokensIn!: number;

  @IsInt()
  @Min(0)
  tokensOut!: number;

  @IsNumber()
  @Min(0)
  costUsd!: number;
}

/** An admitted attempt ended: the lease is released and usage reconciled against the estimate. */
export class LeaseEndDto {
  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  attempt!: number;

  @IsUUID()
  poolId!: string;

  @IsString()
  @Length(1, 50)
  outcome!: string;

  /** Reported usage; absent when the agent reported none (the estimate stands). */
  @IsOptional()
  @IsInt()
  @Min(0)
  tokensIn?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  tokensOut?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  costUsd?: number;
}

/** A provider 429 an agent reported: the pool pauses for `retryAfterMs`. */
export class RateLimitReportDto {
  @IsUUID()
  poolId!: string;

  @IsInt()
  @Min(0)
  @Max(DAY_MS)
  retryAfterMs!: number;

  @IsOptional()
  @IsUUID()
  taskId?: string;
}

/** `resources.exchange`: the coordinator's periodic report (every ~100 ms or when demand changes). */
export class DemandReport {
  /** The coordinator instance holding the credits. */
  @IsString()
  @Length(1, 200)
  holder!: string;

  @IsInt()
  @Min(0)
  seq!: number;

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => DemandPoolDto)
  pools!: DemandPoolDto[];

  @IsArray()
  @ArrayMaxSize(100_000)
  @ValidateNested({ each: true })
  @Type(() => SpentDto)
  spent!: SpentDto[];

  @IsArray()
  @ArrayMaxSize(100_000)
  @ValidateNested({ each: true })
  @Type(() => LeaseAdmitDto)
  admitted!: LeaseAdmitDto[];

  @IsArray()
  @ArrayMaxSize(100_000)
  @ValidateNested({ each: true })
  @Type(() => LeaseEndDto)
  ended!: LeaseEndDto[];

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => RateLimitReportDto)
  rateLimited!: RateLimitReportDto[];
}

/**
 * Credits on one pool for one tenant: rate credits (requests, tokens, cost) to spend within
 * `ttlMs` of receipt, and the tenant's slot allotment. Absent figure = not limited.
 */
export class GrantDto {
  @IsUUID()
  grantId!: string;

  @IsUUID()
  poolId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  requests?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  tokensIn?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  tokensOut?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  tokens?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  costUsd?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  slots?: number;

  /** Lowest priority the credits may be spent on (reclaim: capacity kept for urgent work). */
  @IsOptional()
  @IsIn(PRIORITIES)
  minPriority?: Priority;

  @IsInt()
  @Min(1)
  ttlMs!: number;

  /** The grant's span: admitted tasks link to it. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  traceparent?: string;
}

/** A learned estimate for a capability on a pool. */
export class CapabilityEstimateDto {
  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsInt()
  @Min(0)
  tokensIn!: number;

  @IsInt()
  @Min(0)
  tokensOut!: number;

  @IsNumber()
  @Min(0)
  costUsd!: number;

  @IsInt()
  @Min(0)
  samples!: number;
}

/** What the coordinator needs to route tasks to pools. */
export class PoolBindingDto {
  @IsUUID()
  poolId!: string;

  @Matches(TENANT_ID_RE)
  ownerTenantId!: string;

  @Matches(POOL_NAME_RE)
  name!: string;

  @IsArray()
  @Matches(CAPABILITY_RE, { each: true })
  capabilities!: string[];

  @IsArray()
  @Matches(POOL_TENANT_RE, { each: true })
  tenants!: string[];

  @IsBoolean()
  paused!: boolean;

  /** USD per 1 000 tokens (in + out averaged): ranks pools by cheapness. */
  @IsNumber()
  @Min(0)
  costPer1kTokens!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => PoolPricingDto)
  pricing!: PoolPricingDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => ResourceEstimateDto)
  defaultEstimate!: ResourceEstimateDto;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => CapabilityEstimateDto)
  estimates!: CapabilityEstimateDto[];
}

/** `swarm.evt.resources.bindings`: every pool's binding, published when a pool changes (coordinators apply it at once). */
export class PoolBindingsDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PoolBindingDto)
  pools!: PoolBindingDto[];
}

/** A budget's state and the spend the holder may still reserve until its next report. */
export class BudgetGrantDto {
  @IsUUID()
  budgetId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  workflowId?: string;

  @IsIn(BUDGET_ACTIONS)
  action!: BudgetAction;

  @IsIn(BUDGET_STATES)
  state!: BudgetState;

  @IsNumber()
  @Min(0)
  creditUsd!: number;

  @IsNumber()
  @Min(0)
  limitUsd!: number;

  @IsNumber()
  @Min(0)
  spentUsd!: number;
}

/** The allocator's answer to a demand report. */
export class GrantReply {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PoolBindingDto)
  pools!: PoolBindingDto[];

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => GrantDto)
  grants!: GrantDto[];

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => BudgetGrantDto)
  budgets!: BudgetGrantDto[];

  /** How often the holder should report while it has demand or holds credits. */
  @IsInt()
  @Min(1)
  reportIntervalMs!: number;
}

// ── allocator → conflict resolver ──────────────────────────────────────────

export class SnapshotDemandDto {
  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsArray()
  @ArrayMinSize(4)
  @ArrayMaxSize(4)
  @IsInt({ each: true })
  @Min(0, { each: true })
  queued!: number[];

  @IsInt()
  @Min(0)
  oldestWaitMs!: number;

  @IsInt()
  @Min(0)
  running!: number;

  /** Slots the tenant holds beyond what it is entitled to (borrowed from a reservation). */
  @IsInt()
  @Min(0)
  borrowed!: number;
}

export class SnapshotLeaseDto {
  @IsUUID()
  taskId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsIn(PRIORITIES)
  priority!: Priority;

  @IsInt()
  @Min(0)
  ageMs!: number;
}

export class SnapshotReservationDto {
  @IsUUID()
  reservationId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsInt()
  @Min(0)
  slots!: number;

  @IsISO8601()
  startsAt!: string;

  @IsISO8601()
  endsAt!: string;
}

/** One pool as the conflict resolver sees it. */
export class PoolSnapshotDto {
  @IsUUID()
  poolId!: string;

  @Matches(TENANT_ID_RE)
  ownerTenantId!: string;

  @Matches(POOL_NAME_RE)
  name!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  concurrency?: number;

  @IsInt()
  @Min(0)
  slotsHeld!: number;

  /** Tightest utilisation of the window. */
  @IsNumber()
  @Min(0)
  utilisation!: number;

  @IsBoolean()
  paused!: boolean;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SnapshotDemandDto)
  demand!: SnapshotDemandDto[];

  /** Running leases, lowest priority and newest first (at most 200). */
  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => SnapshotLeaseDto)
  leases!: SnapshotLeaseDto[];

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SnapshotReservationDto)
  reservations!: SnapshotReservationDto[];
}

/** `swarm.evt.resources.snapshot` (core NATS, a few times a second while pools are busy). */
export class ResourceSnapshot {
  @IsISO8601()
  at!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PoolSnapshotDto)
  pools!: PoolSnapshotDto[];
}

// ── preemption (conflict resolver → coordinator) ───────────────────────────

export class PreemptTaskDto {
  @IsUUID()
  taskId!: string;

  @IsString()
  @Length(1, 1000)
  reason!: string;
}

/** `coordinator.tasks.preempt`: the attempts end `preempted` and the tasks go back to their queue. */
export class PreemptTasksRequest {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => PreemptTaskDto)
  tasks!: PreemptTaskDto[];
}

export class PreemptTasksReply {
  @IsArray()
  @IsUUID('all', { each: true })
  preempted!: string[];

  /** Not running any more (finished, or already preempted). */
  @IsArray()
  @IsUUID('all', { each: true })
  skipped!: string[];
}
