import { WORKFLOW_STATES, type WorkflowState } from '@swarm-mesh/contracts';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { QueryInt } from '../http/query-params';

/** `GET /workflows` query. */
export class ListWorkflowsQuery {
  @IsOptional()
  @IsIn(WORKFLOW_STATES)
  state?: WorkflowState;

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

/** `GET /workflow-templates` query. */
export class ListTemplatesQuery {
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

/** `POST /workflows/{id}/cancel` body (optional). */
export class CancelWorkflowBody {
  @IsOptional()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}
