import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
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
  ValidateNested,
  IsDefined,
} from 'class-validator';
import {
  AGENT_ACTIONS,
  AGENT_DOMAINS,
  AGENT_STATES,
  AGENT_TIERS,
  type AgentAction,
  type AgentDomain,
  type AgentState,
  type AgentTier,
  BREAKER_STATES,
  type BreakerState,
} from '../enums';
import { AGENT_ID_RE, CAPABILITY_RE, IsPlainObject, MaxJsonBytes, TENANT_ID_RE } from '../validation/validators';
import { TenantScopedDto } from './task-commands.dto';
import { TaskErrorDto } from './task.dto';

/** Load of an agent as the coordinator sees it. */
export class AgentLoadDto {
  @IsInt()
  @Min(0)
  running!: number;

  @IsInt()
  @Min(0)
  freeSlots!: number;
}

/** Process figures the agent reports with each heartbeat, plus counters kept by the coordinator. */
export class AgentStatsDto {
  @IsOptional()
  @IsNumber()
  @Min(0)
  cpuPercent?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  memoryRssBytes?: number;

  @IsInt()
  @Min(0)
  succeeded!: number;

  @IsInt()
  @Min(0)
  failed!: number;

  @IsInt()
  @Min(0)
  consecutiveFailures!: number;
}

export class AgentBreakerDto {
  @IsIn(BREAKER_STATES)
  state!: BreakerState;

  @IsOptional()
  @IsISO8601()
  openedAt?: string | null;

  /** When an open breaker lets one trial task through (half-open). */
  @IsOptional()
  @IsISO8601()
  retryAt?: string | null;
}

/** An agent as read back (REST, CLI). */
export class AgentDto {
  @Matches(AGENT_ID_RE)
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsIn(AGENT_DOMAINS)
  domain!: AgentDomain;

  @IsIn(AGENT_TIERS)
  tier!: AgentTier;

  @IsArray()
  @Matches(CAPABILITY_RE, { each: true })
  capabilities!: string[];

  @IsInt()
  @Min(1)
  concurrency!: number;

  @IsIn(AGENT_STATES)
  state!: AgentState;

  @IsString()
  instanceId!: string;

  @IsOptional()
  @IsString()
  version?: string | null;

  @IsDefined()
  @ValidateNested()
  @Type(() => AgentLoadDto)
  load!: AgentLoadDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => AgentStatsDto)
  stats!: AgentStatsDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => AgentBreakerDto)
  breaker!: AgentBreakerDto;

  @IsOptional()
  @IsISO8601()
  lastHeartbeatAt?: string | null;

  @IsISO8601()
  registeredAt!: string;

  @IsPlainObject()
  metadata!: Record<string, unknown>;
}

export class AgentPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AgentDto)
  items!: AgentDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** A failed attempt on an agent (the agent's error log). */
export class AgentErrorEntryDto {
  @IsUUID()
  taskId!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsInt()
  @Min(1)
  attempt!: number;

  @IsString()
  outcome!: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => TaskErrorDto)
  error!: TaskErrorDto;

  @IsISO8601()
  at!: string;
}

export class AgentErrorsDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AgentErrorEntryDto)
  items!: AgentErrorEntryDto[];

  /** Cursor of the next page (`?cursor=`), null on the last one. Set by the gateway, which pages the log. */
  @IsOptional()
  @IsString()
  nextCursor?: string | null;
}

/** `coordinator.agents.list` */
export class ListAgentsRequest extends TenantScopedDto {
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
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

/** `coordinator.agents.get` / `coordinator.agents.errors` */
export class GetAgentRequest extends TenantScopedDto {
  @Matches(AGENT_ID_RE)
  agentId!: string;

  /** For errors: most entries returned. Default 50. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

/** `coordinator.agents.control` */
export class AgentControlRequest extends TenantScopedDto {
  @Matches(AGENT_ID_RE)
  agentId!: string;

  @IsIn(AGENT_ACTIONS)
  action!: AgentAction;
}

// ── agent protocol (SDK ↔ coordinator) ────────────────────────────────────

/** Sent by an agent process at start and after reconnecting: `swarm.agent.<id>.register`. */
export class AgentRegistration {
  @Matches(AGENT_ID_RE, { message: 'agentId must match ^[A-Za-z0-9_-]{1,128}$' })
  agentId!: string;

  /** Unique per agent process; a new one means the previous process is gone. */
  @IsUUID()
  instanceId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsIn(AGENT_DOMAINS)
  domain!: AgentDomain;

  @IsIn(AGENT_TIERS)
  tier!: AgentTier;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @Matches(CAPABILITY_RE, { each: true })
  capabilities!: string[];

  @IsInt()
  @Min(1)
  @Max(10_000)
  concurrency!: number;

  @IsOptional()
  @IsString()
  @Length(1, 100)
  version?: string;

  @IsOptional()
  @IsPlainObject()
  @MaxJsonBytes(16 * 1024)
  metadata?: Record<string, unknown>;
}

/** A task the coordinator still assigns to this agent instance (resumed after a reconnect). */
export class TaskLeaseRefDto {
  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  epoch!: number;
}

export class AgentRegisterReply {
  @IsIn(AGENT_STATES)
  state!: AgentState;

  /** How often to heartbeat. */
  @IsInt()
  @Min(1)
  heartbeatIntervalMs!: number;

  /** Wire names of the agent's JetStream dispatch stream and durable consumer. */
  @IsString()
  dispatchStream!: string;

  @IsString()
  dispatchConsumer!: string;

  /** Tasks this instance keeps (same instanceId re-registering); others it held are gone. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskLeaseRefDto)
  keep!: TaskLeaseRefDto[];
}

/** A running attempt as reported in a heartbeat. */
export class RunningAttemptDto {
  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  epoch!: number;

  /** Increments on every `ctx.progress()`; unchanged for too long = stuck. */
  @IsInt()
  @Min(0)
  progressSeq!: number;
}

/** `swarm.agent.<id>.heartbeat` (core NATS, every heartbeatIntervalMs). */
export class AgentHeartbeat {
  @Matches(AGENT_ID_RE)
  agentId!: string;

  @IsUUID()
  instanceId!: string;

  @IsInt()
  @Min(0)
  seq!: number;

  @IsIn(['ready', 'draining'])
  mode!: 'ready' | 'draining';

  @IsInt()
  @Min(0)
  freeSlots!: number;

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => RunningAttemptDto)
  running!: RunningAttemptDto[];

  @IsOptional()
  @IsNumber()
  @Min(0)
  cpuPercent?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  memoryRssBytes?: number;
}

/** `started` / `progress` reports (core NATS, batched): `swarm.agent.<id>.reports`. */
export class AgentReportDto {
  @IsIn(['started', 'progress'])
  kind!: 'started' | 'progress';

  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  epoch!: number;

  @IsISO8601()
  at!: string;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  percent?: number;

  @IsOptional()
  @IsString()
  @Length(0, 1000)
  message?: string;
}

export class AgentReportBatch {
  @Matches(AGENT_ID_RE)
  agentId!: string;

  @IsUUID()
  instanceId!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => AgentReportDto)
  reports!: AgentReportDto[];
}

/** Resources an attempt actually used (reconciled by the allocator). */
export class UsageDto {
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

  @IsOptional()
  @IsString()
  @Length(1, 200)
  provider?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string;
}

/** The end of one attempt. */
export class AttemptResultDto {
  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  attempt!: number;

  @IsInt()
  @Min(1)
  epoch!: number;

  @IsIn(['succeeded', 'failed', 'cancelled'])
  outcome!: 'succeeded' | 'failed' | 'cancelled';

  @IsOptional()
  @IsPlainObject()
  result?: Record<string, unknown>;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskErrorDto)
  error?: TaskErrorDto;

  @IsISO8601()
  startedAt!: string;

  @IsISO8601()
  finishedAt!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => UsageDto)
  usage?: UsageDto;
}

/** `swarm.agent.<id>.results` (JetStream RESULTS stream, batched). */
export class ResultBatch {
  @Matches(AGENT_ID_RE)
  agentId!: string;

  @IsUUID()
  instanceId!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => AttemptResultDto)
  results!: AttemptResultDto[];
}

/** `swarm.agent.<id>.checkpoint` (request/reply): durable before the reply. */
export class CheckpointRequest {
  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  epoch!: number;

  @IsPlainObject()
  @MaxJsonBytes(256 * 1024)
  state!: Record<string, unknown>;
}

export class CheckpointReply {
  @IsIn(['saved'])
  status!: 'saved';
}

/** A task handed to an agent. */
export class DispatchedTaskDto {
  @IsUUID()
  taskId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsInt()
  @Min(1)
  attempt!: number;

  @IsInt()
  @Min(1)
  epoch!: number;

  @IsIn(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])
  priority!: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

  @IsPlainObject()
  input!: Record<string, unknown>;

  @IsInt()
  @Min(1)
  maxAttempts!: number;

  /** The last checkpoint saved by an earlier attempt. */
  @IsOptional()
  @IsPlainObject()
  checkpoint?: Record<string, unknown>;

  /** Errors of earlier attempts, oldest first. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskErrorDto)
  previousErrors!: TaskErrorDto[];

  @IsOptional()
  @IsISO8601()
  deadline?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  startToCloseMs?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  heartbeatMs?: number;

  /** W3C traceparent of the task's trace. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  traceparent?: string;

  /**
   * The resource pool (name) this attempt was admitted on, when the task's capability is bound
   * to pools (issue 5): the agent should call that pool's provider/model.
   */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  pool?: string;
}

/** `swarm.agent.<id>.inbox.dispatch` (JetStream DISPATCH stream). */
export class DispatchBatch {
  @Matches(AGENT_ID_RE)
  agentId!: string;

  /** The instance the tasks were assigned to; another instance must ignore them. */
  @IsUUID()
  instanceId!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => DispatchedTaskDto)
  tasks!: DispatchedTaskDto[];
}

/** `swarm.agent.<id>.inbox.control` (core NATS): operator and coordinator instructions. */
export class AgentControlMessage {
  @IsIn(['cancel', 'drain', 'resume', 'restart'])
  kind!: 'cancel' | 'drain' | 'resume' | 'restart';

  /** The agent process the message is for; other instances with the same agent id ignore it. */
  @IsOptional()
  @IsUUID()
  instanceId?: string;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskLeaseRefDto)
  tasks?: TaskLeaseRefDto[];

  @IsOptional()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}
