import { IsIn, IsInt, IsISO8601, IsObject, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import { DELIVERY_STATUSES, type DeliveryStatus, PRIORITIES, type Priority } from '../enums';

/**
 * The envelope every NATS message travels in (the seeds' AgentMessage). The typed payload
 * sits in `body`; W3C trace context travels in NATS headers, not here.
 */
export class AgentMessage<TBody extends object = Record<string, unknown>> {
  /** Unique message id (UUID v4). Also used as `Nats-Msg-Id` on JetStream unless a key is given. */
  @IsUUID()
  id!: string;

  /** Sender: a service name (`coordinator`) or `agent:<agentId>` or `client:<name>`. */
  @IsString()
  @Length(1, 200)
  from!: string;

  /** Receiver: a service name, `agent:<agentId>`, or `*` for broadcasts and channels. */
  @IsString()
  @Length(1, 200)
  to!: string;

  /** Message type: the definition name, e.g. `coordinator.tasks.submit`. */
  @IsString()
  @Length(1, 200)
  type!: string;

  @IsIn(PRIORITIES)
  priority!: Priority;

  /** ISO-8601 time the message was created. */
  @IsISO8601({ strict: true })
  timestamp!: string;

  /** Time to live in milliseconds from `timestamp`; 0 = never expires. */
  @IsInt()
  @Min(0)
  @Max(7 * 24 * 3600 * 1000)
  ttl!: number;

  /** The typed payload, validated against the message definition on receipt. */
  @IsObject()
  body!: TBody;

  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  deliveryStatus?: DeliveryStatus;
}
