import { Type } from 'class-transformer';
import { IsArray, IsDefined, IsInt, IsOptional, IsString, Matches, Min, ValidateNested } from 'class-validator';
import { CAPABILITY_RE } from '../validation/validators';

/** Queued tasks of one capability by priority. */
export class PriorityCountsDto {
  @IsInt()
  @Min(0)
  LOW!: number;

  @IsInt()
  @Min(0)
  MEDIUM!: number;

  @IsInt()
  @Min(0)
  HIGH!: number;

  @IsInt()
  @Min(0)
  CRITICAL!: number;
}

/** Depth of one capability's queue. */
export class QueueDepthDto {
  @Matches(CAPABILITY_RE)
  capability!: string;

  /** Ready tasks waiting for an agent, by priority. */
  @IsDefined()
  @ValidateNested()
  @Type(() => PriorityCountsDto)
  queued!: PriorityCountsDto;

  @IsInt()
  @Min(0)
  totalQueued!: number;

  @IsInt()
  @Min(0)
  dispatched!: number;

  @IsInt()
  @Min(0)
  running!: number;

  @IsInt()
  @Min(0)
  retryScheduled!: number;

  /** Age of the oldest queued task, ms (null when empty). */
  @IsOptional()
  @IsInt()
  @Min(0)
  oldestQueuedAgeMs!: number | null;

  /** Agents able to take this capability now (healthy or degraded, not draining/quarantined). */
  @IsInt()
  @Min(0)
  availableAgents!: number;

  @IsInt()
  @Min(0)
  freeSlots!: number;
}

export class QueueDepthsDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => QueueDepthDto)
  items!: QueueDepthDto[];

  /** Cursor of the next page (`?cursor=`), null on the last one. Set by the gateway, which pages the list. */
  @IsOptional()
  @IsString()
  nextCursor?: string | null;
}
