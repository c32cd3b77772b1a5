import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsEmail,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsPlainObject, TENANT_ID_RE } from '../validation/validators';

/**
 * DTOs of the gateway's own resources: API keys, runtime flags, the audit log and alerts
 * (REST bodies and answers under /api/v1/api-keys, /flags, /audit, /alerts).
 */

// ── API keys ───────────────────────────────────────────────────────────────

/** Roles of an API key, weakest first: viewer (read) < operator (submit, cancel, drain…) < admin (keys, flags, audit, alerts). */
export const API_KEY_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** `sm_<8-char prefix>_<secret>`: the prefix is stored in clear and finds the row; the whole key is stored hashed. */
export const API_KEY_FORMAT_RE = /^sm_([a-z0-9]{8})_([A-Za-z0-9_-]{16,256})$/;
export const API_KEY_PREFIX_RE = /^[a-z0-9]{8}$/;

/** `POST /api-keys` body. */
export class CreateApiKeyDto {
  @IsString()
  @Length(1, 100)
  name!: string;

  @IsIn(API_KEY_ROLES)
  role!: ApiKeyRole;

  /** Tenant of the new key. Default: the caller's tenant; only the bootstrap admin key may name another. */
  @IsOptional()
  @Matches(TENANT_ID_RE)
  tenantId?: string;

  /** Requests per rate window for this key (default: the gateway's GATEWAY_RATE_LIMIT). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  rateLimit?: number;
}

/** A stored key as listed: never the secret. */
export class ApiKeyDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsString()
  @Length(1, 100)
  name!: string;

  @IsIn(API_KEY_ROLES)
  role!: ApiKeyRole;

  /** The clear part of the key (`sm_<prefix>_…`), to recognise it. */
  @Matches(API_KEY_PREFIX_RE)
  prefix!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  rateLimit!: number | null;

  /** Who created it (`api-key:<id>`, `api-key:bootstrap`). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  createdBy!: string | null;

  @IsISO8601()
  createdAt!: string;

  @IsOptional()
  @IsISO8601()
  lastUsedAt!: string | null;

  @IsOptional()
  @IsISO8601()
  revokedAt!: string | null;

  /** The key this one replaced (rotation). */
  @IsOptional()
  @IsUUID()
  rotatedFrom!: string | null;
}

/** `GET /api-keys`. */
export class ApiKeyPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ApiKeyDto)
  items!: ApiKeyDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** Answer of create and rotate: the secret key, shown this once, and its record. */
export class ApiKeySecretDto {
  @Matches(API_KEY_FORMAT_RE)
  key!: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => ApiKeyDto)
  apiKey!: ApiKeyDto;
}

// ── runtime flags ──────────────────────────────────────────────────────────

export const FLAG_NAME_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/** One runtime flag (`GET /flags`). */
export class FlagDto {
  @Matches(FLAG_NAME_RE)
  @Length(1, 100)
  name!: string;

  @IsBoolean()
  enabled!: boolean;

  /** Value when never set. */
  @IsBoolean()
  default!: boolean;

  /** True when the value comes from the KV bucket, false when it is the default. */
  @IsBoolean()
  set!: boolean;

  @IsOptional()
  @IsISO8601()
  updatedAt!: string | null;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  updatedBy!: string | null;

  @IsString()
  @Length(0, 1000)
  description!: string;
}

export class FlagListDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FlagDto)
  items!: FlagDto[];

  /** Cursor of the next page (`?cursor=`), null on the last one. Set by the gateway, which pages the list. */
  @IsOptional()
  @IsString()
  nextCursor?: string | null;
}

/** `PUT /flags/{name}` body. */
export class SetFlagDto {
  @IsBoolean()
  enabled!: boolean;
}

// ── audit log ──────────────────────────────────────────────────────────────

/** `pending` until the effect's outcome is known; `denied` = refused by role. */
export const AUDIT_OUTCOMES = ['pending', 'succeeded', 'failed', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One mutating call: who, tenant, action, target, outcome, time, trace id. */
export class AuditEntryDto {
  @IsUUID()
  id!: string;

  @IsISO8601()
  at!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  /** `api-key:<id>` (or `api-key:bootstrap`) with the key's name. */
  @IsString()
  @Length(1, 300)
  actor!: string;

  /** `POST /api/v1/tasks/:id/cancel`: method and route. */
  @IsString()
  @Length(1, 300)
  action!: string;

  /** First path segment after /api/v1 (`tasks`, `agents`, `api-keys`, `flags`…). */
  @IsOptional()
  @IsString()
  @Length(1, 100)
  targetType!: string | null;

  @IsOptional()
  @IsString()
  @Length(1, 300)
  targetId!: string | null;

  @IsIn(AUDIT_OUTCOMES)
  outcome!: AuditOutcome;

  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(599)
  httpStatus!: number | null;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  traceId!: string | null;

  /** e.g. the error code of a failure, the number of tasks of a batch. */
  @IsOptional()
  @IsPlainObject()
  details!: Record<string, unknown> | null;

  @IsOptional()
  @IsISO8601()
  completedAt!: string | null;
}

export class AuditPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AuditEntryDto)
  items!: AuditEntryDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

// ── alerts ─────────────────────────────────────────────────────────────────

/**
 * What an alert rule watches. Evaluated by the gateway from the EVENTS stream (see
 * ALERT_SOURCE_EVENTS in catalog/alert-events.ts for the facts each kind needs):
 * - dead_letter_growth: ≥ threshold (default 1) tasks dead-lettered within windowMs
 * - agent_died: an agent became `dead`
 * - error_rate: failed attempts / finished attempts ≥ threshold (0..1, default 0.5) within windowMs (≥ 10 attempts)
 * - pool_exhausted: a resource pool reported no capacity left
 * - regression_detected: the performance optimizer detected a regression
 * - budget_near_limit: a cost budget reached threshold (0..1, default 0.9) of its limit
 * - sla_missed: a task finished after its deadline, or took longer than threshold ms
 */
export const ALERT_KINDS = [
  'dead_letter_growth',
  'agent_died',
  'error_rate',
  'pool_exhausted',
  'regression_detected',
  'budget_near_limit',
  'sla_missed',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** webhook: generic JSON POST; slack: Slack-compatible `{text}` POST; email: SMTP. */
export const ALERT_CHANNEL_TYPES = ['webhook', 'slack', 'email'] as const;
export type AlertChannelType = (typeof ALERT_CHANNEL_TYPES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type AlertDeliveryState = (typeof ALERT_DELIVERY_STATES)[number];

/** Where an alert goes: `url` for webhook/slack, `to` for email. */
export class AlertChannelDto {
  @IsIn(ALERT_CHANNEL_TYPES)
  type!: AlertChannelType;

  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @Length(1, 2000)
  url?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsEmail({}, { each: true })
  to?: string[];
}

/** `POST /alerts/rules` body. */
export class CreateAlertRuleDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @IsIn(ALERT_KINDS)
  kind!: AlertKind;

  /** Meaning depends on the kind (count, ratio 0..1, or ms); default per kind. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1e12)
  threshold?: number;

  /** Sliding window of counting kinds. Default 300 000 ms. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 3600 * 1000)
  windowMs?: number;

  /** No second alert of this rule (for the same subject) within this. Default 300 000 ms. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(7 * 24 * 3600 * 1000)
  cooldownMs?: number;

  @IsOptional()
  @IsIn(ALERT_SEVERITIES)
  severity?: AlertSeverity;

  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => AlertChannelDto)
  channels!: AlertChannelDto[];

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** `PATCH /alerts/rules/{id}` body: any subset. */
export class UpdateAlertRuleDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1e12)
  threshold?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 3600 * 1000)
  windowMs?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(7 * 24 * 3600 * 1000)
  cooldownMs?: number;

  @IsOptional()
  @IsIn(ALERT_SEVERITIES)
  severity?: AlertSeverity;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => AlertChannelDto)
  channels?: AlertChannelDto[];

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class AlertRuleDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsIn(ALERT_KINDS)
  kind!: AlertKind;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  threshold!: number | null;

  @IsInt()
  @Min(1)
  windowMs!: number;

  @IsInt()
  @Min(0)
  cooldownMs!: number;

  @IsIn(ALERT_SEVERITIES)
  severity!: AlertSeverity;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AlertChannelDto)
  channels!: AlertChannelDto[];

  @IsBoolean()
  enabled!: boolean;

  @IsISO8601()
  createdAt!: string;

  @IsISO8601()
  updatedAt!: string;

  @IsOptional()
  @IsISO8601()
  lastFiredAt!: string | null;
}

export class AlertRulePageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AlertRuleDto)
  items!: AlertRuleDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** One delivery of a fired alert to one channel, retried with backoff. */
export class AlertDeliveryDto {
  @IsIn(ALERT_CHANNEL_TYPES)
  channel!: AlertChannelType;

  /** URL or comma-separated addresses. */
  @IsString()
  @Length(1, 4000)
  target!: string;

  @IsIn(ALERT_DELIVERY_STATES)
  state!: AlertDeliveryState;

  @IsInt()
  @Min(0)
  attempts!: number;

  @IsOptional()
  @IsString()
  @Length(0, 2000)
  lastError!: string | null;

  @IsOptional()
  @IsISO8601()
  deliveredAt!: string | null;
}

/** A fired alert. */
export class AlertDto {
  @IsUUID()
  id!: string;

  /** Null for an alert not raised by a stored rule. */
  @IsOptional()
  @IsUUID()
  ruleId!: string | null;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsIn(ALERT_KINDS)
  kind!: AlertKind;

  @IsIn(ALERT_SEVERITIES)
  severity!: AlertSeverity;

  @IsString()
  @Length(1, 500)
  title!: string;

  @IsString()
  @Length(0, 4000)
  message!: string;

  @IsPlainObject()
  data!: Record<string, unknown>;

  @IsISO8601()
  firedAt!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AlertDeliveryDto)
  deliveries!: AlertDeliveryDto[];
}

export class AlertPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => AlertDto)
  items!: AlertDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** `GET /auth/whoami`: the caller as the gateway sees it. */
export class WhoAmIDto {
  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsIn(API_KEY_ROLES)
  role!: ApiKeyRole;

  /** `bootstrap` for SWARM_ADMIN_API_KEY, else the key's id. */
  @IsString()
  @Length(1, 100)
  keyId!: string;

  @IsOptional()
  @IsString()
  @Length(1, 100)
  name!: string | null;
}
