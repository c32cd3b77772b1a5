import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { PRIORITIES, type Priority, TASK_STATES, type TaskState } from '../enums';
import { AGENT_ID_RE, CAPABILITY_RE, IsPlainObject, TENANT_ID_RE } from '../validation/validators';
import { MAX_BATCH_TASKS, SubmitTaskDto, SubmittedTaskDto, TaskDto } from './task.dto';

/** Fields every tenant-scoped command carries; the gateway sets tenantId from the API key. */
export class TenantScopedDto {
  @Matches(TENANT_ID_RE, { message: 'tenantId must match ^[a-z0-9][a-z0-9_-]{0,63}$' })
  tenantId!: string;
}

/** `coordinator.tasks.submit`: one or more tasks, all-or-nothing. */
export class SubmitTasksRequest extends TenantScopedDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_TASKS)
  @ValidateNested({ each: true })
  @Type(() => SubmitTaskDto)
  tasks!: SubmitTaskDto[];
}

export class SubmitTasksReply {
  /** The created tasks, in request order. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SubmittedTaskDto)
  tasks!: SubmittedTaskDto[];
}

/** `coordinator.tasks.create`: one task; the reply is the whole task. */
export class CreateTaskRequest extends TenantScopedDto {
  @IsDefined()
  @ValidateNested()
  @Type(() => SubmitTaskDto)
  task!: SubmitTaskDto;
}

/** One task of `coordinator.tasks.create_many`: what one `POST /tasks` carries. */
export class CreateTaskItem extends TenantScopedDto {
  @IsDefined()
  @ValidateNested()
  @Type(() => SubmitTaskDto)
  task!: SubmitTaskDto;

  /** W3C traceparent of the caller's span for this task (its trace continues from there). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  traceparent?: string;
}

/**
 * `coordinator.tasks.create_many`: independent single submits gathered into one message by a
 * gateway. Each item succeeds or fails on its own, exactly as if sent alone with `tasks.create`.
 */
export class CreateTasksRequest {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_TASKS)
  @ValidateNested({ each: true })
  @Type(() => CreateTaskItem)
  items!: CreateTaskItem[];
}

/** A coded error of one item (the wire form of a SwarmError). */
export class ItemErrorDto {
  @Matches(/^[A-Z][A-Z0-9_]{0,99}$/)
  code!: string;

  @IsString()
  @Length(0, 16_000)
  message!: string;

  @IsOptional()
  @IsPlainObject()
  details?: Record<string, unknown>;

  @IsBoolean()
  retryable!: boolean;
}

/** The outcome of one item: the created task, or why it was refused (exactly one of the two). */
export class CreateTaskOutcome {
  @IsOptional()
  @ValidateNested()
  @Type(() => TaskDto)
  task?: TaskDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => ItemErrorDto)
  error?: ItemErrorDto;
}

export class CreateTasksReply {
  /** One outcome per request item, in request order. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => CreateTaskOutcome)
  items!: CreateTaskOutcome[];
}

/** `coordinator.tasks.get` */
export class GetTaskRequest extends TenantScopedDto {
  @IsUUID()
  taskId!: string;
}

/** `coordinator.tasks.list` (newest first, keyset pagination). */
export class ListTasksRequest extends TenantScopedDto {
  @IsOptional()
  @IsIn(TASK_STATES)
  state?: TaskState;

  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  @IsOptional()
  @Matches(AGENT_ID_RE)
  agentId?: string;

  /** Default 50, at most 500. */
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

/** `coordinator.tasks.cancel` */
export class CancelTaskRequest extends TenantScopedDto {
  @IsUUID()
  taskId!: string;

  @IsOptional()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}

/** `coordinator.tasks.priority` */
export class SetTaskPriorityRequest extends TenantScopedDto {
  @IsUUID()
  taskId!: string;

  @IsIn(PRIORITIES)
  priority!: Priority;
}
