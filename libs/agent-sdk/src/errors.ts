import { SwarmError, type TaskErrorDto } from '@swarm-mesh/contracts';
import { storableJson, storableText } from './storable';

/** Error codes the SDK itself puts on failed attempts. */
export const SDK_ERROR_CODES = {
  /** The attempt ran longer than the task's `startToCloseMs`; retryable. */
  START_TO_CLOSE_TIMEOUT: 'START_TO_CLOSE_TIMEOUT',
  /** The agent stopped (shutdown/restart) before the attempt finished; outcome `cancelled`, retryable. */
  AGENT_SHUTDOWN: 'AGENT_SHUTDOWN',
  /** The handler returned something other than a JSON object, or one holding a string Postgres cannot store (U+0000, an unpaired surrogate); not retryable. */
  INVALID_RESULT: 'INVALID_RESULT',
  /** The task input failed the handler's input class validation; not retryable. */
  INVALID_INPUT: 'INVALID_INPUT',
  /** The agent has no handler for the dispatched capability; retryable (elsewhere). */
  NO_HANDLER: 'NO_HANDLER',
  /** The result was too large to publish; not retryable. */
  RESULT_TOO_LARGE: 'RESULT_TOO_LARGE',
  /** A plain `Error` without a code was thrown; retryable. */
  HANDLER_ERROR: 'HANDLER_ERROR',
} as const;

export type SdkErrorCode = (typeof SDK_ERROR_CODES)[keyof typeof SDK_ERROR_CODES];

/** Options of `TaskError`. */
export interface TaskErrorOptions {
  /** Stable code, e.g. `PROVIDER_TIMEOUT` (1–200 characters). Default none. */
  code?: string;
  /** May a later attempt succeed? Default true. */
  retryable?: boolean;
  /** JSON object with more context (≤ 16 KiB). Default none. */
  details?: Record<string, unknown>;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * Throw from a handler to fail the attempt with a code, a retryable flag and details. Plain
 * `Error`s are retryable too; throw `NonRetryableError` (or `retryable: false`) when no later
 * attempt can succeed (bad input, permanent refusal).
 */
export class TaskError extends Error {
  readonly code: string | undefined;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: TaskErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = options.code;
    this.retryable = options.retryable ?? true;
    this.details = options.details;
  }
}

/**
 * A child task did not succeed (`handle.result()`). Not retryable by default: a new attempt of
 * the parent would get the same child back.
 */
export class ChildTaskFailedError extends TaskError {
  constructor(readonly child: { id: string; key: string | null; capability: string; state: string; error: TaskErrorDto | null }) {
    super(`subtask ${child.key ?? child.id} (${child.capability}) ended ${child.state}${child.error ? `: ${child.error.message}` : ''}`, {
      code: 'CHILD_TASK_FAILED',
      retryable: false,
      details: { childId: child.id, key: child.key, state: child.state, ...(child.error?.code ? { childError: child.error.code } : {}) },
    });
  }
}

/** A `TaskError` that is never retried. */
export class NonRetryableError extends TaskError {
  constructor(message: string, options: Omit<TaskErrorOptions, 'retryable'> = {}) {
    super(message, { ...options, retryable: false });
  }
}

const MAX_MESSAGE = 8000;
const MAX_DETAILS_BYTES = 16 * 1024;

function safeDetails(details: unknown): Record<string, unknown> | undefined {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return undefined;
  try {
    const json = JSON.stringify(details);
    if (Buffer.byteLength(json) > MAX_DETAILS_BYTES) return { truncated: true };
    // a JSON round trip drops what cannot cross the wire (functions, class prototypes) and
    // repairs strings Postgres cannot store
    return JSON.parse(storableJson(json)) as Record<string, unknown>;
  } catch {
    return { unserialisable: true };
  }
}

function safeCode(code: unknown): string | undefined {
  if (typeof code !== 'string' || code.length === 0) return undefined;
  return storableText(code.length > 200 ? code.slice(0, 200) : code);
}

/**
 * Turns anything a handler threw into the wire error of an attempt: `TaskError` keeps its
 * code/retryable/details, a `SwarmError` (e.g. from a mesh request) its code and retryable
 * flag, any other error is retryable with its `code` property (when a string) or
 * `HANDLER_ERROR`.
 */
export function toTaskErrorDto(err: unknown, attempt: number, at: string = new Date().toISOString()): TaskErrorDto {
  let message: string;
  let code: string | undefined;
  let retryable = true;
  let details: Record<string, unknown> | undefined;
  if (err instanceof TaskError) {
    message = err.message;
    code = err.code;
    retryable = err.retryable;
    details = safeDetails(err.details);
  } else if (err instanceof SwarmError) {
    message = err.message;
    code = err.code;
    retryable = err.retryable;
    details = safeDetails(err.details);
  } else if (err instanceof Error) {
    message = err.message || err.name;
    code = safeCode((err as Error & { code?: unknown }).code) ?? SDK_ERROR_CODES.HANDLER_ERROR;
  } else {
    message = typeof err === 'string' ? err : `non-error thrown: ${safeString(err)}`;
    code = SDK_ERROR_CODES.HANDLER_ERROR;
  }
  message = storableText(message);
  const dto: TaskErrorDto = {
    message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
    retryable,
    attempt,
    at,
  };
  const c = safeCode(code);
  if (c !== undefined) dto.code = c;
  if (details !== undefined) dto.details = details;
  return dto;
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
