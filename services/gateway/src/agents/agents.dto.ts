import {
  AGENT_DOMAINS,
  AGENT_ID_RE,
  AGENT_STATES,
  AgentBreakerDto,
  type AgentDomain,
  AgentLoadDto,
  type AgentState,
  AgentStatsDto,
  CAPABILITY_RE,
} from '@swarm-mesh/contracts';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { QueryInt } from '../http/query-params';

/** `GET /agents` query. */
export class ListAgentsQuery {
  @IsOptional()
  @IsIn(AGENT_STATES)
  state?: AgentState;

  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

  @IsOptional()
  @IsIn(AGENT_DOMAINS)
  domain?: AgentDomain;

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

/** `GET /agents/:id/errors` query. */
export class AgentErrorsQuery {
  /** Most entries returned. Default 50. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  /** `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

/** `GET /agents/:id/health`: the liveness and load part of an agent (REST-only view of AgentDto). */
export class AgentHealthDto {
  @Matches(AGENT_ID_RE)
  id!: string;

  @IsIn(AGENT_STATES)
  state!: AgentState;

  @IsOptional()
  @IsISO8601()
  lastHeartbeatAt!: string | null;

  @ValidateNested()
  @Type(() => AgentLoadDto)
  load!: AgentLoadDto;

  @ValidateNested()
  @Type(() => AgentStatsDto)
  stats!: AgentStatsDto;

  @ValidateNested()
  @Type(() => AgentBreakerDto)
  breaker!: AgentBreakerDto;
}
