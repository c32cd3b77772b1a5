import { CAPABILITY_RE } from '@swarm-mesh/contracts';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { QueryBool, QueryInt } from '../http/query-params';

/** `GET /dead-letters` query. */
export class ListDeadLettersQuery {
  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

  /** Include dead letters already replayed. Default false. */
  @IsOptional()
  @QueryBool()
  @IsBoolean()
  includeReplayed?: boolean;

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
