import { IsObject, IsOptional, IsString, Length } from 'class-validator';

/**
 * Body of a message on a swarm channel (`swarm.<domain>.<channel>`). `data` is free-form;
 * agents that need a stricter shape validate `data` with their own class on top.
 */
export class ChannelPayload {
  /** A short topic inside the channel, e.g. `market-move`. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  topic?: string;

  /** Correlates related messages (a task id, a workflow id). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  correlationId?: string;

  @IsObject()
  data!: Record<string, unknown>;
}
