import { TENANT_ID_RE } from '@swarm-mesh/contracts';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { QueryBool, QueryInt } from '../http/query-params';

/** `GET /api-keys` query. */
export class ListApiKeysQuery {
  /** Include revoked keys. Default false. */
  @IsOptional()
  @QueryBool()
  @IsBoolean()
  includeRevoked?: boolean;

  /** Only this tenant's keys (bootstrap admin key only; other admins always see their own tenant). */
  @IsOptional()
  @Matches(TENANT_ID_RE)
  tenantId?: string;

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
