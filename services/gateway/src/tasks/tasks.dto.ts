import {
  MAX_BATCH_TASKS,
  PRIORITIES,
  type Priority,
  SubmitTaskDto,
  TASK_STATES,
  type TaskState,
  AGENT_ID_RE,
  CAPABILITY_RE,
} from '@swarm-mesh/contracts';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { QueryInt } from '../http/query-params';

/** `POST /tasks/batch` body: all-or-nothing. */
export class SubmitTaskBatchBody {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_TASKS)
  @ValidateNested({ each: true })
  @Type(() => SubmitTaskDto)
  tasks!: SubmitTaskDto[];
}

/** `POST /tasks/:id/cancel` body (optional). */
export class CancelTaskBody {
  @IsOptional()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}

/** `POST /tasks/:id/priority` body. */
export class SetTaskPriorityBody {
  @IsIn(PRIORITIES)
  priority!: Priority;
}

/** `GET /tasks` query. */
export class ListTasksQuery {
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

/** `POST /tasks/:id/approve` and `/reject` body (optional). */
export class TaskDecisionBody {
  /** Why; recorded with the decision. */
  @IsOptional()
  @IsString()
  @Length(1, 2000)
  comment?: string;
}
