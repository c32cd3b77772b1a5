import { CONFLICT_KINDS, CONFLICT_STATUSES, type ConflictKind, type ConflictStatus } from '@swarm-mesh/contracts';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import { MemoryPageQuery } from '../http/memory-page';
import { QueryInt } from '../http/query-params';

/** `GET /resources/pools|reservations|budgets|allocation|monitoring` query. */
export class ResourceListQuery {
  /** Only this pool. */
  @IsOptional()
  @IsUUID()
  poolId?: string;

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

/** `GET /resources/allocation` and `/resources/monitoring` query. */
export class ResourceViewQuery {
  /** Only this pool. */
  @IsOptional()
  @IsUUID()
  poolId?: string;
}

/** `GET /resources/policies` query: one pool's, or all (the tenant default first), paged by the gateway. */
export class PolicyListQuery extends MemoryPageQuery {
  /** Only this pool. */
  @IsOptional()
  @IsUUID()
  poolId?: string;
}

/** `GET /resources/conflicts` query. */
export class ConflictListQuery {
  @IsOptional()
  @IsIn(CONFLICT_STATUSES)
  status?: ConflictStatus;

  @IsOptional()
  @IsIn(CONFLICT_KINDS)
  kind?: ConflictKind;

  @IsOptional()
  @IsUUID()
  poolId?: string;

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

/** `POST /resources/pools/{id}/pause` body (optional): without durationMs the pool stays paused until resumed. */
export class PausePoolBody {
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(30 * 24 * 3600 * 1000)
  durationMs?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  reason?: string;
}
