import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { APPROVAL_STATUSES, type ApprovalStatus } from '../enums';
import { IsPlainObject, MaxJsonBytes } from '../validation/validators';

/**
 * A path into a task's result (or input): dot-separated keys, array indexes as numbers
 * (`records.0.title`). No wildcards.
 */
export const FIELD_PATH_RE = /^[A-Za-z0-9_$-]{1,128}(\.[A-Za-z0-9_$-]{1,128}){0,31}$/;

/** What happens to a result that still fails its checks after the validation retries. */
export const VALIDATION_FAILURE_POLICIES = ['needs_review', 'fail'] as const;
export type ValidationFailurePolicy = (typeof VALIDATION_FAILURE_POLICIES)[number];

/**
 * Patterns a result may not contain unless `forbiddenPatterns` says otherwise: the seeds' worst
 * failure was a run that "completed" with placeholder files. A pattern is a regular expression
 * source (case-sensitive) or a `/source/flags` literal.
 */
export const DEFAULT_FORBIDDEN_PATTERNS: readonly string[] = ['\\bTODO\\b', '\\bTBD\\b', '/lorem ipsum/i', '/\\bplaceholder\\b/i'];

/** Validation retries after a result failed its checks, unless the task says otherwise. */
export const DEFAULT_VALIDATION_RETRIES = 2;

/**
 * Output checks of a task (a validation checkpoint). Applied by the coordinator to every result
 * an attempt reports as succeeded: a failing result fails the attempt with code
 * `VALIDATION_FAILED` (the failures in `details.failures`), the next attempt receives it in
 * `previousErrors` (the SDK's `ctx.feedback`), and after `maxValidationRetries` the task goes to
 * `needs_review` (a human approves or rejects the result) or `failed`, per `onFailure`.
 */
export class ValidationSpecDto {
  /** JSON Schema (draft 2020-12 / draft-07 keywords) the whole result must satisfy. */
  @IsOptional()
  @IsPlainObject()
  @MaxJsonBytes(32 * 1024)
  jsonSchema?: Record<string, unknown>;

  /** Paths that must be present (not undefined or null), e.g. `body`, `records.0.title`. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(FIELD_PATH_RE, { each: true, message: 'each requiredFields entry must be a dotted path such as records.0.title' })
  requiredFields?: string[];

  /**
   * Paths that must be non-empty: a string with a non-blank character, an array with an element,
   * an object with a key (numbers and booleans always count as non-empty).
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(FIELD_PATH_RE, { each: true, message: 'each nonEmpty entry must be a dotted path such as body' })
  nonEmpty?: string[];

  /** Smallest acceptable result, in bytes of JSON (catches the "4-line placeholder"). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(512 * 1024)
  minSize?: number;

  /**
   * Patterns no string in the result may match: regular expression sources (case-sensitive) or
   * `/source/flags` literals. Default DEFAULT_FORBIDDEN_PATTERNS (TODO, TBD, lorem ipsum,
   * placeholder); `[]` turns the check off.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Length(1, 500, { each: true })
  forbiddenPatterns?: string[];

  /** After the validation retries: `needs_review` (default) or `fail`. */
  @IsOptional()
  @IsIn(VALIDATION_FAILURE_POLICIES)
  onFailure?: ValidationFailurePolicy;

  /** Attempts re-run after a failing result (each also counts against retry.maxAttempts). Default 2. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(20)
  maxValidationRetries?: number;
}

/** A human approval gate: after the task succeeds, its dependants wait until someone approves. */
export class ApprovalSpecDto {
  @IsBoolean()
  required!: boolean;

  /**
   * Who may decide: API key ids, key names or actors (`api-key:<id>`). Default: any key of the
   * tenant allowed to mutate (operator or admin).
   */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  approvers?: string[];
}

/** Kinds of human decision on a task. */
export const APPROVAL_KINDS = ['approval', 'review'] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

/**
 * The human decision on a task, as read back. `kind` `approval`: the task succeeded and its
 * declared approval gate holds its dependants; `review`: the result failed its validation checks
 * and the task waits in `needs_review`.
 */
export class TaskApprovalDto {
  @IsIn(APPROVAL_KINDS)
  kind!: ApprovalKind;

  @IsIn(APPROVAL_STATUSES)
  status!: ApprovalStatus;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  approvers?: string[];

  @IsISO8601()
  requestedAt!: string;

  /** Actor who decided (`api-key:<id>`). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  decidedBy?: string | null;

  /** Name of the key that decided, when it has one. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  decidedByName?: string | null;

  @IsOptional()
  @IsISO8601()
  decidedAt?: string | null;

  @IsOptional()
  @IsString()
  @Length(0, 2000)
  comment?: string | null;
}

/** One check a result failed. */
export class ValidationFailureDto {
  /** `jsonSchema`, `requiredFields`, `nonEmpty`, `minSize` or `forbiddenPatterns`. */
  @IsString()
  @Length(1, 50)
  check!: string;

  /** Where in the result (dotted path; empty for the whole result). */
  @IsString()
  @Length(0, 500)
  path!: string;

  @IsString()
  @Length(1, 1000)
  message!: string;
}

/** The outcome of a task's checks (terminal task events carry it as `validation`). */
export class ValidationReportDto {
  @IsBoolean()
  passed!: boolean;

  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => ValidationFailureDto)
  failures!: ValidationFailureDto[];
}
