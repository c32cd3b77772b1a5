/** Conflict resolver DTOs (issue #5): conflicts, their resolutions, and the allocation policies. */
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsPlainObject, TENANT_ID_RE } from '../validation/validators';
import { IsWeightRecord, RESOURCE_POLICY_KINDS, type ResourcePolicyKind } from './resources.dto';
import { TenantScopedDto } from './task-commands.dto';

const DAY_MS = 24 * 3600 * 1000;

/** What the resolver detects. */
export const CONFLICT_KINDS = [
  'over_subscription',
  'overlapping_reservations',
  'priority_inversion',
  'starvation',
  'reservation_reclaim',
] as const;
export type ConflictKind = (typeof CONFLICT_KINDS)[number];

export const CONFLICT_STATUSES = ['open', 'resolved', 'dismissed'] as const;
export type ConflictStatus = (typeof CONFLICT_STATUSES)[number];

/** What an operator may do with a conflict. */
export const CONFLICT_RESOLUTIONS = ['preempt', 'set_policy', 'accept', 'dismiss'] as const;
export type ConflictResolutionKind = (typeof CONFLICT_RESOLUTIONS)[number];

/** One step a resolution took (`preempt` a task, `share` capacity by policy, `record`…). */
export class ConflictActionDto {
  @IsString()
  @Length(1, 50)
  kind!: string;

  @IsOptional()
  @IsUUID()
  taskId?: string;

  @IsOptional()
  @IsString()
  @Length(0, 1000)
  detail?: string;
}

export class ResolutionDto {
  @IsUUID()
  id!: string;

  /** The policy (or `manual`) that decided. */
  @IsString()
  @Length(1, 50)
  policy!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ConflictActionDto)
  actions!: ConflictActionDto[];

  /** `conflict-resolver` or `api-key:<id>`. */
  @IsString()
  @Length(1, 200)
  resolvedBy!: string;

  @IsISO8601()
  createdAt!: string;
}

export class ConflictDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsIn(CONFLICT_KINDS)
  kind!: ConflictKind;

  @IsIn(CONFLICT_STATUSES)
  status!: ConflictStatus;

  @IsOptional()
  @IsUUID()
  poolId?: string | null;

  /** What is contended (pool, tenants, tasks). */
  @IsPlainObject()
  subject!: Record<string, unknown>;

  /** Figures at detection (demand, holders, waits). */
  @IsPlainObject()
  evidence!: Record<string, unknown>;

  @IsISO8601()
  detectedAt!: string;

  @IsOptional()
  @IsISO8601()
  resolvedAt?: string | null;

  /** Oldest first. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ResolutionDto)
  resolutions!: ResolutionDto[];
}

export class ConflictPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ConflictDto)
  items!: ConflictDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** `conflicts.list` (newest first). */
export class ListConflictsRequest extends TenantScopedDto {
  @IsOptional()
  @IsIn(CONFLICT_STATUSES)
  status?: ConflictStatus;

  @IsOptional()
  @IsIn(CONFLICT_KINDS)
  kind?: ConflictKind;

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

/** `conflicts.get` */
export class ConflictRequest extends TenantScopedDto {
  @IsUUID()
  conflictId!: string;
}

/** A manual resolution (REST body of `POST /resources/conflicts/{id}/resolve`). */
export class ResolveConflictDto {
  /** preempt: preempt `taskIds` (default: the lower-priority holders the resolver named); set_policy: switch the pool's policy; accept / dismiss: close it. */
  @IsIn(CONFLICT_RESOLUTIONS)
  action!: ConflictResolutionKind;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  taskIds?: string[];

  @IsOptional()
  @IsIn(RESOURCE_POLICY_KINDS)
  policy?: ResourcePolicyKind;

  @IsOptional()
  @IsString()
  @Length(1, 1000)
  note?: string;
}

/** `conflicts.resolve` */
export class ResolveConflictRequest extends TenantScopedDto {
  @IsUUID()
  conflictId!: string;

  @IsString()
  @Length(1, 200)
  resolvedBy!: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => ResolveConflictDto)
  resolution!: ResolveConflictDto;
}

// ── policies ───────────────────────────────────────────────────────────────

/** How contention on a pool is resolved. */
export class PolicySpecDto {
  @IsIn(RESOURCE_POLICY_KINDS)
  kind!: ResourcePolicyKind;

  /** Tenant weights under fair share (default 1 each). */
  @IsOptional()
  @IsWeightRecord()
  weights?: Record<string, number>;

  /** Queue wait that raises a waiting tenant one priority level (priority_aging). Default 10 000. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(DAY_MS)
  agingStepMs?: number;

  /** Waiting longer than this is starvation. Default 60 000. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(30 * DAY_MS)
  starvationMs?: number;

  /** Preempt lower-priority running work for higher-priority waiters (also needs the `resources.preemption` flag). Default true. */
  @IsOptional()
  @IsBoolean()
  preemption?: boolean;
}

export class PolicyDto {
  @Matches(TENANT_ID_RE)
  tenantId!: string;

  /** Null: the tenant's default for its pools. */
  @IsOptional()
  @IsUUID()
  poolId?: string | null;

  @IsIn(RESOURCE_POLICY_KINDS)
  kind!: ResourcePolicyKind;

  @IsWeightRecord()
  weights!: Record<string, number>;

  @IsInt()
  @Min(1)
  agingStepMs!: number;

  @IsInt()
  @Min(1)
  starvationMs!: number;

  @IsBoolean()
  preemption!: boolean;

  @IsISO8601()
  updatedAt!: string;
}

export class PolicyListDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PolicyDto)
  items!: PolicyDto[];

  /** Cursor of the next page (`?cursor=`), null on the last one. Set by the gateway, which pages the list. */
  @IsOptional()
  @IsString()
  nextCursor?: string | null;
}

/** `conflicts.policies.set` */
export class SetPolicyRequest extends TenantScopedDto {
  /** Absent: the tenant's default policy. */
  @IsOptional()
  @IsUUID()
  poolId?: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => PolicySpecDto)
  policy!: PolicySpecDto;
}

/** `conflicts.policies.list` (one tenant's) */
export class ListPoliciesRequest extends TenantScopedDto {
  @IsOptional()
  @IsUUID()
  poolId?: string;
}

/** `conflicts.policies.all`: every tenant's policies (the allocator's cache). */
export class AllPoliciesRequest {
  /** Only policies changed after this time. */
  @IsOptional()
  @IsISO8601()
  since?: string;
}
