import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
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
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { AGENT_ID_RE, CAPABILITY_RE, IsPlainObject, TENANT_ID_RE } from '../validation/validators';
import { TenantScopedDto } from './task-commands.dto';

/**
 * The performance optimizer's contract: what it learned (baselines, regressions, bottlenecks,
 * SLA compliance, recommendations), the commands that read and act on it, and the tuning
 * values it publishes for the coordinator (timeouts) and the resource allocator (routing
 * weights) through NATS KV (docs/ROUTING-WEIGHTS.md).
 */

/** Longest analysis window a query may ask for: 30 days. */
export const MAX_PERFORMANCE_WINDOW_MS = 30 * 24 * 3600 * 1000;

/** How baselines are grouped. */
export const BASELINE_GROUPINGS = ['capability', 'provider', 'agent'] as const;
export type BaselineGrouping = (typeof BASELINE_GROUPINGS)[number];

/** What a regression is about. */
export const REGRESSION_METRICS = ['run_time', 'success_rate'] as const;
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];

export const REGRESSION_STATUSES = ['active', 'resolved'] as const;
export type RegressionStatus = (typeof REGRESSION_STATUSES)[number];

export const SEVERITIES = ['low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Kinds of recommendation. `set_timeout` and `shift_traffic` are the feedback loop (auto-applied under `optimizer.auto_apply`). */
export const RECOMMENDATION_KINDS = ['scale_up', 'shift_traffic', 'set_timeout', 'quarantine_agent'] as const;
export type RecommendationKind = (typeof RECOMMENDATION_KINDS)[number];

/**
 * `open`: offered; `applied`: in force (by an operator or automatically); `reverted`: undone;
 * `superseded`: replaced by a newer recommendation for the same target; `expired`: the
 * condition no longer holds.
 */
export const RECOMMENDATION_STATUSES = ['open', 'applied', 'reverted', 'superseded', 'expired'] as const;
export type RecommendationStatus = (typeof RECOMMENDATION_STATUSES)[number];

/** Kinds of bottleneck finding. */
export const BOTTLENECK_KINDS = ['queue_wait', 'saturated_capability', 'saturated_pool', 'slow_agent', 'failing_agent'] as const;
export type BottleneckKind = (typeof BOTTLENECK_KINDS)[number];

export const SLA_SCOPES = ['tenant', 'capability', 'workflow'] as const;
export type SlaScope = (typeof SLA_SCOPES)[number];

// ── requests ────────────────────────────────────────────────────────────────

/** `performance-optimizer.perf.baselines` */
export class BaselinesRequest extends TenantScopedDto {
  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  provider?: string;

  @IsOptional()
  @Matches(AGENT_ID_RE)
  agentId?: string;

  /** `capability` (one row per capability), `provider` (capability × provider), `agent` (capability × provider × agent, default). */
  @IsOptional()
  @IsIn(BASELINE_GROUPINGS)
  groupBy?: BaselineGrouping;

  /** Sliding window ending now. Default the optimizer's baseline window (1 h). */
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(MAX_PERFORMANCE_WINDOW_MS)
  windowMs?: number;
}

/** `performance-optimizer.perf.regressions` (newest first). */
export class RegressionsRequest extends TenantScopedDto {
  @IsOptional()
  @IsIn(REGRESSION_STATUSES)
  status?: RegressionStatus;

  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

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

/** `performance-optimizer.perf.bottlenecks` and `.sla`: a window ending now. */
export class PerformanceWindowRequest extends TenantScopedDto {
  /** Default the optimizer's analysis window (15 min). */
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(MAX_PERFORMANCE_WINDOW_MS)
  windowMs?: number;

  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;
}

/** `performance-optimizer.perf.recommendations.list` (newest first). */
export class RecommendationsRequest extends TenantScopedDto {
  @IsOptional()
  @IsIn(RECOMMENDATION_STATUSES)
  status?: RecommendationStatus;

  @IsOptional()
  @IsIn(RECOMMENDATION_KINDS)
  kind?: RecommendationKind;

  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

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

/** `…recommendations.get`, `.apply`, `.revert`. */
export class RecommendationActionRequest extends TenantScopedDto {
  @IsUUID()
  recommendationId!: string;

  /** Who acts (recorded with the change): `api-key:<id>`, `cli`, … */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  actor?: string;
}

/** `performance-optimizer.perf.analyze`: run one analysis cycle now (operators, tests). */
export class AnalyzeRequest extends TenantScopedDto {}

/** What one analysis cycle did. */
export class AnalyzeReply {
  @IsISO8601()
  analyzedAt!: string;

  /** Attempts of the tenant in the baseline window when the cycle ran. */
  @IsInt()
  @Min(0)
  samples!: number;

  @IsInt()
  @Min(0)
  activeRegressions!: number;

  @IsInt()
  @Min(0)
  openRecommendations!: number;

  /** Changes applied automatically in this cycle (`optimizer.auto_apply`). */
  @IsInt()
  @Min(0)
  autoApplied!: number;
}

// ── what was learned ────────────────────────────────────────────────────────

/** Distribution of a duration. Percentiles come from log-scale histograms (±2.5 %). */
export class LatencyStatsDto {
  @IsInt()
  @Min(0)
  samples!: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  meanMs!: number | null;

  @IsOptional()
  @IsNumber()
  @Min(0)
  p50Ms!: number | null;

  @IsOptional()
  @IsNumber()
  @Min(0)
  p95Ms!: number | null;

  @IsOptional()
  @IsNumber()
  @Min(0)
  p99Ms!: number | null;

  @IsOptional()
  @IsNumber()
  @Min(0)
  maxMs!: number | null;
}

/** The baseline of one capability (× provider × agent, by grouping) over a sliding window. */
export class BaselineDto {
  @Matches(CAPABILITY_RE)
  capability!: string;

  /** Provider or pool the attempts ran on (`usage.provider` / event `pool`); null when unknown or grouped away. */
  @IsOptional()
  @IsString()
  provider!: string | null;

  @IsOptional()
  @IsString()
  agentId!: string | null;

  /** Attempts that ended in the window (any outcome). */
  @IsInt()
  @Min(0)
  attempts!: number;

  @IsInt()
  @Min(0)
  succeeded!: number;

  @IsInt()
  @Min(0)
  failed!: number;

  @IsInt()
  @Min(0)
  timedOut!: number;

  /** succeeded / (succeeded + failed + timed out); null without such attempts. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  successRate!: number | null;

  /** Run time of successful attempts. */
  @IsDefined()
  @ValidateNested()
  @Type(() => LatencyStatsDto)
  runMs!: LatencyStatsDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => LatencyStatsDto)
  queueWaitMs!: LatencyStatsDto;

  /** Mean reported cost of an attempt that reported one (USD). */
  @IsOptional()
  @IsNumber()
  @Min(0)
  costPerTaskUsd!: number | null;

  @IsOptional()
  @IsNumber()
  @Min(0)
  tokensPerTask!: number | null;
}

export class BaselinesDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => BaselineDto)
  items!: BaselineDto[];

  @IsInt()
  @Min(0)
  windowMs!: number;

  @IsISO8601()
  from!: string;

  @IsISO8601()
  to!: string;

  /** Cursor of the next page (`?cursor=`), null on the last one. Set by the gateway, which pages the list. */
  @IsOptional()
  @IsString()
  nextCursor?: string | null;
}

/** Why a regression was flagged: the statistical test, its inputs and its result. */
export class RegressionEvidenceDto {
  /** `mann-whitney-u` (run time, one-sided) or `two-proportion-z` (success rate, one-sided). */
  @IsIn(['mann-whitney-u', 'two-proportion-z'])
  test!: 'mann-whitney-u' | 'two-proportion-z';

  @IsInt()
  @Min(0)
  recentSamples!: number;

  @IsInt()
  @Min(0)
  baselineSamples!: number;

  /** Run time: medians (ms); success rate: rates (0..1). */
  @IsNumber()
  recentValue!: number;

  @IsNumber()
  baselineValue!: number;

  /** Run time: recent p95 and baseline p95 (ms). */
  @IsOptional()
  @IsNumber()
  recentP95Ms?: number;

  @IsOptional()
  @IsNumber()
  baselineP95Ms?: number;

  /** Run time: ratio of means recent / baseline; success rate: rate difference (baseline − recent). */
  @IsNumber()
  effect!: number;

  /** Run time: probability that a recent attempt is slower than a baseline one (U / n₁n₂). */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  probabilityOfSuperiority?: number;

  @IsNumber()
  statistic!: number;

  @IsNumber()
  z!: number;

  @IsNumber()
  @Min(0)
  @Max(1)
  pValue!: number;

  @IsNumber()
  @Min(0)
  @Max(1)
  alpha!: number;

  @IsISO8601()
  recentFrom!: string;

  @IsISO8601()
  recentTo!: string;

  @IsISO8601()
  baselineFrom!: string;

  @IsISO8601()
  baselineTo!: string;
}

/** A statistically significant degradation of one capability × provider (or × agent). */
export class RegressionDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsOptional()
  @IsString()
  provider!: string | null;

  @IsOptional()
  @IsString()
  agentId!: string | null;

  @IsIn(REGRESSION_METRICS)
  metric!: RegressionMetric;

  @IsIn(REGRESSION_STATUSES)
  status!: RegressionStatus;

  @IsIn(SEVERITIES)
  severity!: Severity;

  @IsString()
  @Length(1, 1000)
  summary!: string;

  @IsISO8601()
  detectedAt!: string;

  @IsISO8601()
  lastSeenAt!: string;

  @IsOptional()
  @IsISO8601()
  resolvedAt!: string | null;

  /** The evidence at detection. */
  @IsDefined()
  @ValidateNested()
  @Type(() => RegressionEvidenceDto)
  evidence!: RegressionEvidenceDto;

  /** The evidence of the latest cycle that still saw it (or that resolved it). */
  @IsOptional()
  @ValidateNested()
  @Type(() => RegressionEvidenceDto)
  latest?: RegressionEvidenceDto | null;
}

export class RegressionPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => RegressionDto)
  items!: RegressionDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** Where the time of one capability (or workflow) goes. */
export class TimeBreakdownDto {
  /** Capability or workflow id. */
  @IsString()
  @Length(1, 200)
  key!: string;

  @IsInt()
  @Min(0)
  attempts!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => LatencyStatsDto)
  queueWaitMs!: LatencyStatsDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => LatencyStatsDto)
  runMs!: LatencyStatsDto;

  /** Waiting for resource grants (allocator); null until the coordinator reports it separately. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  resourceWaitMeanMs!: number | null;

  /** Share of the mean attempt time spent queued (0..1). */
  @IsNumber()
  @Min(0)
  @Max(1)
  queueShare!: number;

  @IsNumber()
  @Min(0)
  @Max(1)
  runShare!: number;

  /** Time lost to failed attempts and retries, share of the total (0..1). */
  @IsNumber()
  @Min(0)
  @Max(1)
  retryShare!: number;
}

/** One bottleneck: what, where, how bad, and the figures behind it. */
export class BottleneckFindingDto {
  @IsIn(BOTTLENECK_KINDS)
  kind!: BottleneckKind;

  /** The capability, or `*` for a saturated_pool finding (every capability the pool serves; `provider` names the pool). */
  @ValidateIf((o: BottleneckFindingDto) => o.capability !== '*')
  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsOptional()
  @IsString()
  provider?: string | null;

  @IsOptional()
  @Matches(AGENT_ID_RE)
  agentId?: string | null;

  @IsIn(SEVERITIES)
  severity!: Severity;

  @IsString()
  @Length(1, 1000)
  summary!: string;

  @IsPlainObject()
  evidence!: Record<string, unknown>;
}

export class BottlenecksDto {
  @IsInt()
  @Min(0)
  windowMs!: number;

  @IsISO8601()
  computedAt!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TimeBreakdownDto)
  capabilities!: TimeBreakdownDto[];

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TimeBreakdownDto)
  workflows!: TimeBreakdownDto[];

  /** Worst first. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => BottleneckFindingDto)
  findings!: BottleneckFindingDto[];
}

/** Deadline compliance of one scope (the tenant, a capability, a workflow). */
export class SlaComplianceDto {
  @IsIn(SLA_SCOPES)
  scope!: SlaScope;

  @IsString()
  @Length(1, 200)
  key!: string;

  /** Finished tasks that carried a deadline. */
  @IsInt()
  @Min(0)
  withDeadline!: number;

  @IsInt()
  @Min(0)
  met!: number;

  @IsInt()
  @Min(0)
  missed!: number;

  /** met / withDeadline; null without deadlines. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  compliance!: number | null;
}

/** A missed deadline, explained: where the task's time went. */
export class SlaMissDto {
  @IsUUID()
  taskId!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsOptional()
  @IsString()
  workflowId?: string | null;

  @IsISO8601()
  deadline!: string;

  @IsISO8601()
  finishedAt!: string;

  @IsInt()
  @Min(0)
  lateByMs!: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  totalMs!: number | null;

  /** Queued before the final attempt. */
  @IsOptional()
  @IsInt()
  @Min(0)
  queueWaitMs!: number | null;

  /** Run time of the final attempt. */
  @IsOptional()
  @IsInt()
  @Min(0)
  runMs!: number | null;

  /** Time in earlier attempts and backoff. */
  @IsOptional()
  @IsInt()
  @Min(0)
  retryMs!: number | null;

  @IsInt()
  @Min(1)
  attempts!: number;

  /** `queue_wait` | `run_time` | `retries`: where most of the time went. */
  @IsIn(['queue_wait', 'run_time', 'retries', 'unknown'])
  mainCause!: 'queue_wait' | 'run_time' | 'retries' | 'unknown';

  @IsString()
  @Length(1, 1000)
  explanation!: string;
}

export class SlaReportDto {
  @IsInt()
  @Min(0)
  windowMs!: number;

  @IsISO8601()
  computedAt!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SlaComplianceDto)
  items!: SlaComplianceDto[];

  /** The latest misses, newest first. */
  @IsArray()
  @ArrayMaxSize(500)
  @ValidateNested({ each: true })
  @Type(() => SlaMissDto)
  misses!: SlaMissDto[];
}

/** One applied change: what was in force before and after. */
export class AppliedChangeDto {
  @IsISO8601()
  at!: string;

  @IsString()
  @Length(1, 200)
  by!: string;

  /** Applied by the optimizer itself under `optimizer.auto_apply`. */
  @IsBoolean()
  auto!: boolean;

  @IsOptional()
  @IsPlainObject()
  before!: Record<string, unknown> | null;

  @IsPlainObject()
  after!: Record<string, unknown>;
}

/** Who undid a change. */
export class RevertedChangeDto {
  @IsISO8601()
  at!: string;

  @IsString()
  @Length(1, 200)
  by!: string;

  /** What is in force after the revert (the `before` of the change); null = no tuning. */
  @IsOptional()
  @IsPlainObject()
  restored!: Record<string, unknown> | null;
}

/** A recommendation, with its evidence and expected effect; applying it is recorded and revertible. */
export class RecommendationDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsIn(RECOMMENDATION_KINDS)
  kind!: RecommendationKind;

  @IsIn(RECOMMENDATION_STATUSES)
  status!: RecommendationStatus;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsOptional()
  @IsString()
  provider?: string | null;

  @IsOptional()
  @Matches(AGENT_ID_RE)
  agentId?: string | null;

  @IsString()
  @Length(1, 1000)
  summary!: string;

  /** The figures that justify it. */
  @IsPlainObject()
  evidence!: Record<string, unknown>;

  /** What applying it should change (estimates). */
  @IsPlainObject()
  expectedEffect!: Record<string, unknown>;

  /** The setting it proposes (e.g. `{startToCloseMs}`, `{weights}`, `{addAgents}`). */
  @IsPlainObject()
  proposal!: Record<string, unknown>;

  @IsISO8601()
  createdAt!: string;

  @IsISO8601()
  updatedAt!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => AppliedChangeDto)
  applied?: AppliedChangeDto | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => RevertedChangeDto)
  reverted?: RevertedChangeDto | null;
}

export class RecommendationPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => RecommendationDto)
  items!: RecommendationDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** Live figures of one capability over the overview window. */
export class CapabilityOverviewDto {
  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsInt()
  @Min(0)
  completed!: number;

  @IsNumber()
  @Min(0)
  throughputPerS!: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  successRate!: number | null;

  /** End-to-end (submit → finish) latency of tasks that finished. */
  @IsDefined()
  @ValidateNested()
  @Type(() => LatencyStatsDto)
  latencyMs!: LatencyStatsDto;
}

/** `performance-optimizer.perf.overview`: the real-time part of /swarm/metrics (from ingested events). */
export class PerformanceOverviewDto {
  @IsInt()
  @Min(0)
  windowMs!: number;

  @IsISO8601()
  computedAt!: string;

  /** Tasks that reached a terminal state in the window. */
  @IsInt()
  @Min(0)
  completed!: number;

  @IsInt()
  @Min(0)
  succeeded!: number;

  /** Tasks that ended failed, dead-lettered, timed out or cancelled. */
  @IsInt()
  @Min(0)
  failed!: number;

  /** Attempts that failed or timed out (retried or not). */
  @IsInt()
  @Min(0)
  failedAttempts!: number;

  @IsNumber()
  @Min(0)
  throughputPerS!: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  successRate!: number | null;

  @IsDefined()
  @ValidateNested()
  @Type(() => LatencyStatsDto)
  latencyMs!: LatencyStatsDto;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => CapabilityOverviewDto)
  capabilities!: CapabilityOverviewDto[];
}

// ── tuning published for other services (NATS KV) ──────────────────────────

/** A learned start-to-close timeout of one capability. */
export class TimeoutTuningDto {
  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsInt()
  @Min(1)
  startToCloseMs!: number;

  /** Observed p99 run time it derives from, and the rule: clamp(p99 × k, floor, ceiling). */
  @IsNumber()
  @Min(0)
  p99Ms!: number;

  @IsNumber()
  @Min(0)
  k!: number;

  @IsInt()
  @Min(0)
  samples!: number;

  /** The recommendation (change record) that put it in force. */
  @IsOptional()
  @IsUUID()
  recommendationId?: string | null;
}

/** KV `swarm_timeouts`, key = tenant id: every learned timeout of the tenant. The coordinator watches it. */
export class TimeoutTableDto {
  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsISO8601()
  updatedAt!: string;

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => TimeoutTuningDto)
  timeouts!: TimeoutTuningDto[];
}

/** The share of a capability's traffic a pool should get. */
export class PoolWeightDto {
  /** Pool (allocator) name; the demo swarm's provider name until pools exist. */
  @IsString()
  @Length(1, 200)
  pool!: string;

  @IsNumber()
  @Min(0)
  @Max(1)
  weight!: number;

  /** What the bandit saw: success rate, median run time, cost per task, samples. */
  @IsOptional()
  @IsPlainObject()
  basis?: Record<string, unknown>;
}

export class CapabilityRoutingDto {
  @Matches(CAPABILITY_RE)
  capability!: string;

  /** Weights sum to 1. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PoolWeightDto)
  pools!: PoolWeightDto[];

  @IsOptional()
  @IsUUID()
  recommendationId?: string | null;
}

/** KV `swarm_routing_weights`, key = tenant id: pool weights per capability. The coordinator watches it. */
export class RoutingWeightsDto {
  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsISO8601()
  updatedAt!: string;

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => CapabilityRoutingDto)
  capabilities!: CapabilityRoutingDto[];
}
