import { ALERT_KINDS, ALERT_SEVERITIES, type AlertKind, type AlertSeverity } from '@swarm-mesh/contracts';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import { QueryInt } from '../http/query-params';

/** `GET /alerts` query. */
export class ListAlertsQuery {
  @IsOptional()
  @IsIn(ALERT_KINDS)
  kind?: AlertKind;

  @IsOptional()
  @IsIn(ALERT_SEVERITIES)
  severity?: AlertSeverity;

  @IsOptional()
  @IsUUID()
  ruleId?: string;

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

/** `GET /alerts/rules` query. */
export class ListAlertRulesQuery {
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
