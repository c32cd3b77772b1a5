import { PerformanceOverviewDto, PriorityCountsDto, QueueDepthDto } from '@swarm-mesh/contracts';
import { Type } from 'class-transformer';
import { IsArray, IsDefined, IsInt, IsISO8601, IsOptional, IsString, Max, Min, ValidateNested } from 'class-validator';
import { QueryInt } from '../http/query-params';

/** `GET /swarm/metrics` query. */
export class SwarmMetricsQuery {
  /** Window of throughput, latency and success, ms (at most 5 min). Default 60 s. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1000)
  @Max(300_000)
  windowMs?: number;
}

/** Queue depths summed over capabilities, and per capability. */
export class SwarmQueuesDto {
  @IsInt()
  @Min(0)
  totalQueued!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => PriorityCountsDto)
  queuedByPriority!: PriorityCountsDto;

  @IsInt()
  @Min(0)
  dispatched!: number;

  @IsInt()
  @Min(0)
  running!: number;

  @IsInt()
  @Min(0)
  retryScheduled!: number;

  @IsInt()
  @Min(0)
  freeSlots!: number;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => QueueDepthDto)
  capabilities!: QueueDepthDto[];
}

/** Agents by state. */
export class AgentStateCountsDto {
  @IsInt()
  @Min(0)
  healthy!: number;

  @IsInt()
  @Min(0)
  degraded!: number;

  @IsInt()
  @Min(0)
  unresponsive!: number;

  @IsInt()
  @Min(0)
  dead!: number;

  @IsInt()
  @Min(0)
  draining!: number;

  @IsInt()
  @Min(0)
  quarantined!: number;
}

export class SwarmAgentsDto {
  @IsInt()
  @Min(0)
  total!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => AgentStateCountsDto)
  byState!: AgentStateCountsDto;
}

/**
 * The real-time overview of the swarm (the seeds' `GET /api/swarm/metrics`): throughput,
 * latency and success from the performance optimizer's ingested events, queue depths and agents
 * by state from the coordinator. A part whose service did not answer is null and named in
 * `unavailable`. Cached for about a second per tenant.
 */
export class SwarmMetricsDto {
  @IsISO8601()
  computedAt!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => PerformanceOverviewDto)
  performance!: PerformanceOverviewDto | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => SwarmQueuesDto)
  queues!: SwarmQueuesDto | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => SwarmAgentsDto)
  agents!: SwarmAgentsDto | null;

  @IsArray()
  @IsString({ each: true })
  unavailable!: string[];
}
