import { ERROR_CODES, type ErrorCode, isErrorCode } from './error-codes';

/** The error shape that crosses every wire: NATS error replies and REST error bodies. */
export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  retryable: boolean;
}

/** Base class of every error the mesh raises on purpose. Carries a stable code and a retryable flag. */
export class SwarmError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, retryable?: boolean) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
    this.retryable = retryable ?? ERROR_CODES[code].retryable;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details !== undefined) wire.details = this.details;
    return wire;
  }

  /**
   * Rebuilds an error received over the wire. The result is a SwarmError carrying the
   * remote code, message, details and retryable flag; match on `code`, not on the class.
   */
  static fromWire(wire: unknown): SwarmError {
    if (typeof wire !== 'object' || wire === null) return new InternalError('malformed error reply');
    const w = wire as Partial<WireError>;
    const code = isErrorCode(w.code) ? w.code : 'INTERNAL';
    const message = typeof w.message === 'string' ? w.message : 'unknown error';
    const details = typeof w.details === 'object' && w.details !== null ? w.details : undefined;
    const retryable = typeof w.retryable === 'boolean' ? w.retryable : undefined;
    return new SwarmError(code, message, details, retryable);
  }
}

/** Thrown when a payload cannot be parsed as JSON. */
export class MalformedJsonError extends SwarmError {
  constructor(message = 'payload is not valid JSON', details?: Record<string, unknown>) {
    super('MALFORMED_JSON', message, details);
  }
}

/** One field-level validation failure. `path` is dotted (`tasks.3.priority`). */
export interface FieldViolation {
  path: string;
  message: string;
  constraint?: string;
}

/** Thrown when a payload does not match its message schema (wrong types, missing or unknown fields). */
export class ValidationError extends SwarmError {
  constructor(message: string, violations: FieldViolation[] = []) {
    super('VALIDATION_FAILED', message, { violations });
  }
}

/** Thrown when a payload is larger than its subject or route allows. */
export class PayloadTooLargeError extends SwarmError {
  constructor(sizeBytes: number, limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `payload is ${sizeBytes} bytes; the limit is ${limitBytes}`, { sizeBytes, limitBytes });
  }
}

/** Thrown when the AgentMessage envelope is missing or invalid. */
export class InvalidEnvelopeError extends SwarmError {
  constructor(message: string, violations: FieldViolation[] = []) {
    super('INVALID_ENVELOPE', message, { violations });
  }
}

/** Thrown when a message is handled after its ttl ran out. */
export class MessageExpiredError extends SwarmError {
  constructor(messageId: string, ageMs: number, ttlMs: number) {
    super('MESSAGE_EXPIRED', `message ${messageId} is ${ageMs} ms old; its ttl is ${ttlMs} ms`, { messageId, ageMs, ttlMs });
  }
}

/** Thrown when a resource named by id does not exist (for the caller's tenant). */
export class NotFoundError extends SwarmError {
  constructor(kind: string, id: string, code?: ErrorCode) {
    const byKind: Record<string, ErrorCode> = {
      task: 'TASK_NOT_FOUND',
      agent: 'AGENT_NOT_FOUND',
      'dead-letter': 'DEAD_LETTER_NOT_FOUND',
      workflow: 'WORKFLOW_NOT_FOUND',
      template: 'TEMPLATE_NOT_FOUND',
    };
    super(code ?? byKind[kind] ?? 'NOT_FOUND', `${kind} ${id} not found`, { kind, id });
  }
}

/** Thrown when an operation is not allowed in the resource's current state. */
export class InvalidStateTransitionError extends SwarmError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_STATE_TRANSITION', message, details);
  }
}

/** Thrown when a request conflicts with existing state (e.g. an agent id owned by another tenant). */
export class ConflictError extends SwarmError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}

/** Thrown when a reservation overlaps another of the same owner on the same pool, or exceeds the pool. */
export class ReservationConflictError extends SwarmError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('RESERVATION_CONFLICT', message, details);
  }
}

/** Thrown when a budget is exhausted and its policy rejects further work. */
export class BudgetExceededError extends SwarmError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('BUDGET_EXCEEDED', message, details);
  }
}

/** Thrown when a task is submitted with an idempotency key that is already taken. */
export class DuplicateIdempotencyKeyError extends SwarmError {
  constructor(idempotencyKey: string, existingTaskId: string) {
    super('DUPLICATE_IDEMPOTENCY_KEY', `idempotency key "${idempotencyKey}" already names task ${existingTaskId}`, {
      idempotencyKey,
      existingTaskId,
    });
  }
}

/** Thrown when a pagination cursor is malformed or belongs to another query. */
export class InvalidCursorError extends SwarmError {
  constructor(cursor: string) {
    super('INVALID_CURSOR', `invalid cursor "${cursor.slice(0, 40)}"`);
  }
}

/** Thrown when a task asks for a capability no agent has ever registered. */
export class UnknownCapabilityError extends SwarmError {
  constructor(capabilities: string[]) {
    super('UNKNOWN_CAPABILITY', `unknown capabilit${capabilities.length === 1 ? 'y' : 'ies'}: ${capabilities.join(', ')}`, {
      capabilities,
    });
  }
}

/** Thrown when a report carries a lease epoch older than the task's current one. */
export class StaleLeaseError extends SwarmError {
  constructor(taskId: string, epoch: number, currentEpoch: number) {
    super('STALE_LEASE', `task ${taskId}: epoch ${epoch} is superseded by ${currentEpoch}`, { taskId, epoch, currentEpoch });
  }
}

/** Thrown when no service instance answers a request (no responders on the subject). */
export class ServiceUnavailableError extends SwarmError {
  constructor(target: string, details?: Record<string, unknown>) {
    super('SERVICE_UNAVAILABLE', `${target} is not available`, { target, ...details });
  }
}

/** Thrown when a request gets no reply before its deadline. */
export class TimeoutError extends SwarmError {
  constructor(target: string, timeoutMs: number) {
    super('TIMEOUT', `${target} did not answer within ${timeoutMs} ms`, { target, timeoutMs });
  }
}

/** Thrown when Postgres cannot be reached or a transaction fails transiently. */
export class DatabaseUnavailableError extends SwarmError {
  constructor(message: string) {
    super('DATABASE_UNAVAILABLE', message);
  }
}

/** Thrown when no valid API key was presented. */
export class UnauthenticatedError extends SwarmError {
  constructor(message = 'a valid API key is required (Authorization: Bearer <key> or x-api-key)') {
    super('UNAUTHENTICATED', message);
  }
}

/** Thrown when the caller's role does not allow the operation. */
export class ForbiddenError extends SwarmError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** Thrown when a caller exceeds its rate limit. */
export class RateLimitedError extends SwarmError {
  constructor(retryAfterMs: number) {
    super('RATE_LIMITED', `rate limit exceeded; retry after ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });
  }
}

/** Thrown for unexpected failures; never carries internals beyond a trace id. */
export class InternalError extends SwarmError {
  constructor(message = 'internal error', details?: Record<string, unknown>) {
    super('INTERNAL', message, details);
  }
}

/** Turns anything thrown into a SwarmError; unknown errors become INTERNAL without leaking internals. */
export function toSwarmError(err: unknown): SwarmError {
  if (err instanceof SwarmError) return err;
  return new InternalError('internal error');
}
