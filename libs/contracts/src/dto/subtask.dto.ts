import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
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
import { TASK_STATES, TASK_TIERS, type TaskState, type TaskTier } from '../enums';
import { CAPABILITY_RE, IsPlainObject } from '../validation/validators';
import { SubmitTaskDto, TaskErrorDto } from './task.dto';
import { TaskApprovalDto } from './validation.dto';

/** Most subtasks one spawn request may create. */
export const MAX_SPAWN_TASKS = 100;
/** Child keys: what makes a spawn idempotent across attempts of the parent. */
export const SPAWN_KEY_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A subtask an agent spawns from its handler. */
export class SpawnTaskDto extends SubmitTaskDto {
  /**
   * Identifies the child among its parent's children. A later attempt of the parent that spawns
   * the same key gets the existing child back (no second child). The SDK assigns `s<n>.<i>`
   * (n-th spawn call of the attempt, i-th task) when none is given.
   */
  @IsOptional()
  @Matches(SPAWN_KEY_RE)
  key?: string;

  /** Default: one tier below the parent (orchestrator → master → specialist → microtask). */
  @IsOptional()
  @IsIn(TASK_TIERS)
  tier?: TaskTier;
}

/** `swarm.agent.<id>.spawn` (request/reply): children of a running attempt, durable before the reply. */
export class SpawnRequest {
  /** The parent task (the attempt running on this agent). */
  @IsUUID()
  taskId!: string;

  /** The parent attempt's lease epoch (a superseded attempt gets STALE_LEASE). */
  @IsInt()
  @Min(1)
  epoch!: number;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SPAWN_TASKS)
  @ValidateNested({ each: true })
  @Type(() => SpawnTaskDto)
  tasks!: SpawnTaskDto[];
}

/** One child as the spawn reply names it. */
export class SpawnedTaskDto {
  @IsUUID()
  id!: string;

  @Matches(SPAWN_KEY_RE)
  key!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsIn(TASK_STATES)
  state!: TaskState;

  @IsIn(TASK_TIERS)
  tier!: TaskTier;

  @IsInt()
  @Min(1)
  depth!: number;

  /** The child existed already (spawned by an earlier attempt of the parent with the same key). */
  @IsBoolean()
  existing!: boolean;
}

export class SpawnReply {
  /** The children, in request order. */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SpawnedTaskDto)
  children!: SpawnedTaskDto[];
}

/** When an await is satisfied. */
export const AWAIT_MODES = ['all', 'any'] as const;
export type AwaitMode = (typeof AWAIT_MODES)[number];

/**
 * `swarm.agent.<id>.children` (request/reply, long poll): answered as soon as the awaited children
 * are done (`all`: every one ended, `any`: one did), or after `waitMs` with whatever stands then.
 * A child ends in a terminal state; one in `needs_review` waits for a human and is not done yet.
 */
export class AwaitChildrenRequest {
  @IsUUID()
  taskId!: string;

  @IsInt()
  @Min(1)
  epoch!: number;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  childIds!: string[];

  @IsIn(AWAIT_MODES)
  mode!: AwaitMode;

  /** Longest the coordinator holds the request (0 = answer at once). */
  @IsInt()
  @Min(0)
  @Max(60_000)
  waitMs!: number;
}

/** Where one awaited child stands. */
export class ChildOutcomeDto {
  @IsUUID()
  id!: string;

  @IsOptional()
  @IsString()
  @Length(1, 128)
  key?: string | null;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsIn(TASK_STATES)
  state!: TaskState;

  @IsOptional()
  @IsPlainObject()
  result?: Record<string, unknown> | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskErrorDto)
  error?: TaskErrorDto | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskApprovalDto)
  approval?: TaskApprovalDto | null;

  /** The result did not fit this reply: ask again for this child alone. */
  @IsOptional()
  @IsBoolean()
  resultOmitted?: boolean;
}

export class AwaitChildrenReply {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ChildOutcomeDto)
  children!: ChildOutcomeDto[];

  /** The await condition holds. */
  @IsBoolean()
  done!: boolean;
}
