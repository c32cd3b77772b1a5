import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { CAPABILITY_RE, TENANT_ID_RE } from '../validation/validators';
import { TenantScopedDto } from './task-commands.dto';
import { TaskErrorDto } from './task.dto';

/** A task that exhausted its attempts (or failed for good), with its full error history. */
export class DeadLetterDto {
  @IsUUID()
  id!: string;

  @IsUUID()
  taskId!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsString()
  reason!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskErrorDto)
  errors!: TaskErrorDto[];

  @IsISO8601()
  createdAt!: string;

  @IsOptional()
  @IsISO8601()
  replayedAt?: string | null;

  @IsOptional()
  @IsString()
  replayedBy?: string | null;
}

export class DeadLetterPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DeadLetterDto)
  items!: DeadLetterDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** `coordinator.dead_letters.list` */
export class ListDeadLettersRequest extends TenantScopedDto {
  @IsOptional()
  @Matches(CAPABILITY_RE)
  capability?: string;

  /** Include dead letters already replayed. Default false. */
  @IsOptional()
  @IsBoolean()
  includeReplayed?: boolean;

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

/** `coordinator.dead_letters.get` / `.replay` */
export class DeadLetterRequest extends TenantScopedDto {
  @IsUUID()
  deadLetterId!: string;

  /** Who asked (recorded on replay). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  actor?: string;
}
