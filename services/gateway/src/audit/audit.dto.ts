import { AUDIT_OUTCOMES, type AuditOutcome } from '@swarm-mesh/contracts';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { QueryInt } from '../http/query-params';

/** `GET /audit` query. */
export class ListAuditQuery {
  /** Exact action, e.g. `POST /api/v1/tasks`. */
  @IsOptional()
  @IsString()
  @Length(1, 300)
  action?: string;

  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  /** `tasks`, `agents`, `api-keys`, `flags`, `alerts`… */
  @IsOptional()
  @IsString()
  @Length(1, 100)
  targetType?: string;

  @IsOptional()
  @IsString()
  @Length(1, 300)
  targetId?: string;

  /** Actor prefix, e.g. `api-key:3f1c…`. */
  @IsOptional()
  @IsString()
  @Length(1, 300)
  actor?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

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
