import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
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
} from 'class-validator';
import {
  ATTEMPT_OUTCOMES,
  type AttemptOutcome,
  PRIORITIES,
  type Priority,
  ROUTING_STRATEGIES,
  type RoutingStrategy,
  TASK_STATES,
  TASK_TIERS,
  type TaskState,
  type TaskTier,
} from '../enums';
import { AGENT_ID_RE, CAPABILITY_RE, IsPlainObject, IsStringRecord, MaxJsonBytes, TENANT_ID_RE } from '../validation/validators';
import { ApprovalSpecDto, TaskApprovalDto, ValidationSpecDto } from './validation.dto';

const DAY_MS = 24 * 3600 * 1000;

/** Largest task input or result (JSON bytes). Larger inputs are rejected with PAYLOAD_TOO_LARGE. */
export const MAX_TASK_INPUT_BYTES = 256 * 1024;
/** Largest accepted attempt result (JSON bytes); a larger one fails the attempt with RESULT_TOO_LARGE. */
export const MAX_TASK_RESULT_BYTES = 512 * 1024;
/** Most tasks in one batch submit. */
export const MAX_BATCH_TASKS = 1000;

/** Retry policy of a task. Defaults: 4 attempts, backoff 5 s → 15 s → 30 s, 10 % jitter. */
export class RetryPolicyDto {
  /** Attempts in total, the first included. Default 4. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  maxAttempts?: number;

  /** Delay before retry n is `backoffMs[min(n-1, len-1)]`. Default [5000, 15000, 30000]. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @IsInt({ each: true })
  @Min(0, { each: true })
  @Max(DAY_MS, { each: true })
  backoffMs?: number[];

  /** Random spread applied to each delay (0.1 = ±10 %). Default 0.1. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  jitter?: number;
}

/** Timeouts of a task; all optional, in milliseconds. */
export class TaskTimeoutsDto {
  /** Longest a task may wait in the queue before its first start; then it ends `timed_out`. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(30 * DAY_MS)
  scheduleToStartMs?: number;

  /** Longest one attempt may run; then the attempt times out (and is retried if attempts remain). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(7 * DAY_MS)
  startToCloseMs?: number;

  /** Longest between two heartbeats of a running attempt. Default: the agent's liveness only. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(DAY_MS)
  heartbeatMs?: number;

  /** Longest a running attempt may go without progress (heart-beating but stuck). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(7 * DAY_MS)
  progressMs?: number;
}

/** How the coordinator picks an agent. */
export class TaskRoutingDto {
  /** Default: the coordinator's (least_loaded). */
  @IsOptional()
  @IsIn(ROUTING_STRATEGIES)
  strategy?: RoutingStrategy;

  /** With `affinity`: tasks with the same key go to the same agent while it is available. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  affinityKey?: string;

  /**
   * Run only on this agent. It must be registered in the tenant and offer the task's
   * capability (else 400 VALIDATION_FAILED on routing.agentId; a dead agent still counts).
   */
  @IsOptional()
  @Matches(AGENT_ID_RE)
  agentId?: string;
}

/** Resources a task asks for (provider capacity); admission waits for a grant. */
export class TaskResourcesDto {
  /** Pool name; default: the capability's default pool, if any. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  pool?: string;

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

/** A task to submit (REST body, SDK and NATS). */
export class SubmitTaskDto {
  /** Capability that agents register, e.g. `data.fetch`. Required. */
  @Matches(CAPABILITY_RE, { message: 'capability must match ^[a-z0-9][a-z0-9_.:-]{0,127}$' })
  capability!: string;

  /** Handler input. Default {}. At most 256 KiB of JSON. */
  @IsOptional()
  @IsPlainObject()
  input?: Record<string, unknown>;

  /** Default MEDIUM. */
  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  /** A second submit with the same key (same tenant) is rejected with DUPLICATE_IDEMPOTENCY_KEY. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  idempotencyKey?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => RetryPolicyDto)
  retry?: RetryPolicyDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskTimeoutsDto)
  timeouts?: TaskTimeoutsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskRoutingDto)
  routing?: TaskRoutingDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskResourcesDto)
  resources?: TaskResourcesDto;

  /** ISO time by which the task should be done (reported; see SLA). */
  @IsOptional()
  @IsISO8601({ strict: true })
  deadline?: string;

  /** Output checks applied to every result (a validation checkpoint); see ValidationSpecDto. */
  @IsOptional()
  @ValidateNested()
  @Type(() => ValidationSpecDto)
  @MaxJsonBytes(64 * 1024)
  validation?: ValidationSpecDto;

  /** A human approval gate after success (dependants in a workflow wait for it). */
  @IsOptional()
  @ValidateNested()
  @Type(() => ApprovalSpecDto)
  approval?: ApprovalSpecDto;

  /** Free-form string labels for filtering. */
  @IsOptional()
  @IsStringRecord(32, 256)
  labels?: Record<string, string>;
}

/** An error as recorded on an attempt. */
export class TaskErrorDto {
  @IsString()
  @Length(0, 8000)
  message!: string;

  /** Agent- or mesh-defined code, e.g. `PROVIDER_TIMEOUT`, `STUCK`, `HEARTBEAT_TIMEOUT`. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  code?: string;

  @IsBoolean()
  retryable!: boolean;

  @IsOptional()
  @IsPlainObject()
  @MaxJsonBytes(16 * 1024)
  details?: Record<string, unknown>;

  /** Attempt the error belongs to. */
  @IsOptional()
  @IsInt()
  @Min(1)
  attempt?: number;

  @IsOptional()
  @IsISO8601()
  at?: string;
}

/** One attempt of a task. */
export class TaskAttemptDto {
  @IsInt()
  @Min(1)
  attempt!: number;

  /** Lease epoch that fences this attempt. */
  @IsInt()
  @Min(1)
  epoch!: number;

  @IsOptional()
  @IsString()
  agentId?: string | null;

  @IsISO8601()
  dispatchedAt!: string;

  @IsOptional()
  @IsISO8601()
  startedAt?: string | null;

  @IsOptional()
  @IsISO8601()
  finishedAt?: string | null;

  @IsOptional()
  @IsIn(ATTEMPT_OUTCOMES)
  outcome?: AttemptOutcome | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskErrorDto)
  error?: TaskErrorDto | null;
}

/** Progress last reported by the running attempt. */
export class TaskProgressDto {
  /** 0..1 */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  percent?: number;

  @IsOptional()
  @IsString()
  @Length(0, 1000)
  message?: string;

  @IsISO8601()
  at!: string;
}

/** A task as read back (REST, CLI, SDK). */
export class TaskDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsIn(TASK_STATES)
  state!: TaskState;

  @IsIn(PRIORITIES)
  priority!: Priority;

  @IsPlainObject()
  input!: Record<string, unknown>;

  @IsOptional()
  @IsPlainObject()
  result?: Record<string, unknown> | null;

  /** Last error, if any. */
  @IsOptional()
  @ValidateNested()
  @Type(() => TaskErrorDto)
  error?: TaskErrorDto | null;

  /** Every attempt, oldest first; the error history. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskAttemptDto)
  attempts!: TaskAttemptDto[];

  /** Attempts started so far. */
  @IsInt()
  @Min(0)
  attempt!: number;

  /**
   * The attempt number the failure budget runs to: `retry.maxAttempts`, plus the attempts made
   * before a dead-letter replay (a replay grants a fresh budget). Attempts an agent gave up on
   * shutdown, or lost with a dead agent, do not count against it, so `attempt` may pass it.
   */
  @IsInt()
  @Min(1)
  maxAttempts!: number;

  @IsOptional()
  @IsString()
  idempotencyKey?: string | null;

  @IsOptional()
  @IsString()
  agentId?: string | null;

  /** Trace id of the task's trace (Jaeger). */
  @IsOptional()
  @IsString()
  traceId?: string | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskProgressDto)
  progress?: TaskProgressDto | null;

  @IsStringRecord(32, 256)
  labels!: Record<string, string>;

  @IsOptional()
  @IsISO8601()
  deadline?: string | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => RetryPolicyDto)
  retry?: RetryPolicyDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskTimeoutsDto)
  timeouts?: TaskTimeoutsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskRoutingDto)
  routing?: TaskRoutingDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskResourcesDto)
  resources?: TaskResourcesDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => ValidationSpecDto)
  validation?: ValidationSpecDto;

  /** The human decision on the task (approval gate or review of a result that failed its checks), if any. */
  @IsOptional()
  @ValidateNested()
  @Type(() => TaskApprovalDto)
  approval?: TaskApprovalDto | null;

  /** The workflow the task belongs to (a node, or a subtask of one). */
  @IsOptional()
  @IsUUID()
  workflowId?: string | null;

  /** The task's node key in its workflow. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  nodeKey?: string | null;

  /** The task that spawned this one (subtasks). */
  @IsOptional()
  @IsUUID()
  parentTaskId?: string | null;

  /** The top of this task's subtask tree. */
  @IsOptional()
  @IsUUID()
  rootTaskId?: string | null;

  /** Tier in the hierarchy (orchestrator → master → specialist → microtask). */
  @IsOptional()
  @IsIn(TASK_TIERS)
  tier?: TaskTier | null;

  /** Depth in its subtask tree (0 = submitted directly). */
  @IsOptional()
  @IsInt()
  @Min(0)
  depth?: number;

  @IsISO8601()
  createdAt!: string;

  @IsISO8601()
  updatedAt!: string;

  @IsOptional()
  @IsISO8601()
  queuedAt?: string | null;

  @IsOptional()
  @IsISO8601()
  startedAt?: string | null;

  @IsOptional()
  @IsISO8601()
  finishedAt?: string | null;

  @IsOptional()
  @IsISO8601()
  nextAttemptAt?: string | null;
}

/**
 * What a batch submit answers per task: enough to follow it, without echoing its input (a
 * full batch reply would not fit a NATS message).
 */
export class SubmittedTaskDto {
  @IsUUID()
  id!: string;

  @IsIn(TASK_STATES)
  state!: TaskState;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsIn(PRIORITIES)
  priority!: Priority;

  @IsOptional()
  @IsString()
  idempotencyKey?: string | null;

  @IsOptional()
  @IsString()
  traceId?: string | null;

  @IsISO8601()
  createdAt!: string;
}

/** A page of tasks. */
export class TaskPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskDto)
  items!: TaskDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}
