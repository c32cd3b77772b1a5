import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsISO8601, IsString, Length, Matches, ValidateNested } from 'class-validator';
import { IsPlainObject, TENANT_ID_RE } from '../validation/validators';

/**
 * One fact from a service (`task.succeeded`, `agent.state_changed`, …). The WebSocket stream
 * forwards it as `{type, ts, data}`.
 */
export class MeshEventDto {
  /** `<entity>.<event>`, e.g. `task.dispatched`. */
  @Matches(/^[a-z_]+\.[a-z_]+$/)
  type!: string;

  @IsISO8601()
  ts!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsPlainObject()
  data!: Record<string, unknown>;
}

/** Events are published in batches (one outbox row, one JetStream message per commit). */
export class MeshEventBatch {
  @IsString()
  @Length(1, 100)
  source!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100_000)
  @ValidateNested({ each: true })
  @Type(() => MeshEventDto)
  events!: MeshEventDto[];
}
