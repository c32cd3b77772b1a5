import {
  AGENT_ID_RE,
  BASELINE_GROUPINGS,
  type BaselineGrouping,
  CAPABILITY_RE,
  MAX_PERFORMANCE_WINDOW_MS,
  RECOMMENDATION_KINDS,
  RECOMMENDATION_STATUSES,
  type RecommendationKind,
  type RecommendationStatus,
  REGRESSION_STATUSES,
  type RegressionStatus,
} from '@swarm-mesh/contracts';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { MemoryPageQuery } from '../http/memory-page';
import { QueryInt } from '../http/query-params';

/** `GET /performance/baselines` query (paged by the gateway, by capability, provider, agent). */
export class BaselinesQuery extends MemoryPageQuery {
  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

  /** Provider or pool. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  provider?: string;

  @IsOptional()
  @Matches(AGENT_ID_RE)
  agentId?: string;

  /** `capability`, `provider` (capability × provider) or `agent` (capability × provider × agent, default). */
  @IsOptional()
  @IsIn(BASELINE_GROUPINGS)
  groupBy?: BaselineGrouping;

  /** Sliding window ending now, ms. Default 1 h. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1000)
  @Max(MAX_PERFORMANCE_WINDOW_MS)
  windowMs?: number;
}

/** `GET /performance/regressions` query. */
export class RegressionsQuery {
  @IsOptional()
  @IsIn(REGRESSION_STATUSES)
  status?: RegressionStatus;

  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

/** `GET /performance/bottlenecks` and `/performance/sla` query. */
export class PerformanceWindowQuery {
  /** Window ending now, ms. Default 15 min. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1000)
  @Max(MAX_PERFORMANCE_WINDOW_MS)
  windowMs?: number;

  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;
}

/** `GET /performance/recommendations` query. */
export class RecommendationsQuery {
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
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}
