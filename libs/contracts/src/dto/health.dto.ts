import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
  IsDefined,
} from 'class-validator';
import { HEALTH_STATUSES, type HealthStatus, SERVICE_NAMES, type ServiceName } from '../enums';

/** Asks a service for its health. */
export class HealthRequest {
  /** Also probe dependencies (Postgres round trip). Default true. */
  @IsOptional()
  @IsBoolean()
  deep?: boolean;

  /** Deadline for each dependency probe. Default 1000 ms. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  probeTimeoutMs?: number;
}

/** Health of one component (a dependency or a service). */
export class ComponentHealth {
  @IsIn(HEALTH_STATUSES)
  status!: HealthStatus;

  @IsOptional()
  @IsNumber()
  @Min(0)
  latencyMs?: number;

  @IsOptional()
  @IsString()
  @Length(0, 2000)
  error?: string;
}

export class ServiceHealthChecks {
  @IsDefined()
  @ValidateNested()
  @Type(() => ComponentHealth)
  postgres!: ComponentHealth;

  @IsDefined()
  @ValidateNested()
  @Type(() => ComponentHealth)
  nats!: ComponentHealth;
}

/** A service's answer to HealthRequest. */
export class ServiceHealthReply {
  @IsIn(SERVICE_NAMES)
  service!: ServiceName;

  /** Unique per process; distinguishes replicas. */
  @IsString()
  @Length(1, 200)
  instanceId!: string;

  @IsIn(HEALTH_STATUSES)
  status!: HealthStatus;

  @IsString()
  @Length(1, 100)
  version!: string;

  @IsISO8601()
  startedAt!: string;

  @IsInt()
  @Min(0)
  uptimeMs!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => ServiceHealthChecks)
  checks!: ServiceHealthChecks;
}
