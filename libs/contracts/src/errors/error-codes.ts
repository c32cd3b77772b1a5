/**
 * Stable error codes. A code is part of the public contract: clients switch on it, so it
 * never changes meaning. `retryable` says whether the same request may succeed later
 * unchanged; `httpStatus` is what the gateway answers with.
 */
export interface ErrorCodeInfo {
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly description: string;
}

const code = (httpStatus: number, retryable: boolean, description: string): ErrorCodeInfo => ({
  httpStatus,
  retryable,
  description,
});

export const ERROR_CODES = {
  // ── input ──────────────────────────────────────────────────────────────
  MALFORMED_JSON: code(400, false, 'The payload is not valid JSON.'),
  VALIDATION_FAILED: code(400, false, 'The payload does not match the message schema (wrong types, missing or unknown fields).'),
  PAYLOAD_TOO_LARGE: code(413, false, 'The payload exceeds the size limit of its subject or route.'),
  INVALID_ENVELOPE: code(400, false, 'The message envelope (AgentMessage) is missing or invalid.'),
  MESSAGE_EXPIRED: code(400, false, 'The message outlived its ttl before it was handled.'),
  UNKNOWN_CAPABILITY: code(422, false, 'No agent has ever registered the requested capability.'),
  INVALID_CURSOR: code(400, false, 'The pagination cursor is malformed or from another query.'),
  // ── state ──────────────────────────────────────────────────────────────
  NOT_FOUND: code(404, false, 'The requested resource does not exist.'),
  ROUTE_NOT_FOUND: code(404, false, 'No route matches the request.'),
  TASK_NOT_FOUND: code(404, false, 'No task with this id exists for the caller’s tenant.'),
  AGENT_NOT_FOUND: code(404, false, 'No agent with this id exists for the caller’s tenant.'),
  DEAD_LETTER_NOT_FOUND: code(404, false, 'No dead letter with this id exists for the caller’s tenant.'),
  DUPLICATE_IDEMPOTENCY_KEY: code(409, false, 'A task with this idempotency key already exists; details.existingTaskId names it.'),
  INVALID_STATE_TRANSITION: code(409, false, 'The resource is in a state that does not allow this operation.'),
  STALE_LEASE: code(409, false, 'The result or report comes from a superseded attempt (older lease epoch).'),
  CONFLICT: code(409, false, 'The request conflicts with the current state.'),
  POOL_NOT_FOUND: code(404, false, 'No resource pool with this id (or name) exists for the caller’s tenant.'),
  RESERVATION_NOT_FOUND: code(404, false, 'No reservation with this id exists for the caller’s tenant.'),
  BUDGET_NOT_FOUND: code(404, false, 'No budget with this id exists for the caller’s tenant.'),
  CONFLICT_NOT_FOUND: code(404, false, 'No conflict with this id exists for the caller’s tenant.'),
  ALLOCATION_NOT_FOUND: code(404, false, 'No explicit allocation with this id exists for the caller’s tenant.'),
  RESERVATION_CONFLICT: code(409, false, 'The reservation overlaps another of the same owner on the pool, or the pool cannot hold it.'),
  BUDGET_EXCEEDED: code(422, false, 'The tenant’s or workflow’s budget is exhausted and its policy rejects further work.'),
  WORKFLOW_NOT_FOUND: code(404, false, 'No workflow with this id exists for the caller’s tenant.'),
  TEMPLATE_NOT_FOUND: code(404, false, 'No workflow template with this name exists for the caller’s tenant.'),
  WORKFLOW_CYCLE: code(422, false, 'The workflow’s dependencies form a cycle; details.cycle names it (e.g. ["a", "b", "a"]).'),
  UNKNOWN_DEPENDENCY: code(
    422,
    false,
    'A node depends on (or maps the output of) a node the workflow does not declare; details.path names it.',
  ),
  INVALID_WORKFLOW: code(
    422,
    false,
    'The workflow is malformed (duplicate node keys, bad input mapping, requirement naming no node…); details.path names it.',
  ),
  INVALID_TEMPLATE_PARAMS: code(422, false, 'Template parameters are missing, unknown or of the wrong type; details.problems lists them.'),
  SUBTASK_LIMIT_EXCEEDED: code(
    422,
    false,
    'Spawning these subtasks would exceed the depth, fan-out or tree-size limit; details.limit names it.',
  ),
  NOT_AN_APPROVER: code(403, false, 'The task names its approvers and the caller is not one of them.'),
  // ── auth ───────────────────────────────────────────────────────────────
  UNAUTHENTICATED: code(401, false, 'No valid API key was presented.'),
  FORBIDDEN: code(403, false, 'The API key’s role does not allow this operation.'),
  RATE_LIMITED: code(429, true, 'Too many requests for this API key; retry after the Retry-After delay.'),
  // ── infrastructure ─────────────────────────────────────────────────────
  SERVICE_UNAVAILABLE: code(503, true, 'A service needed for this request did not answer (no responders).'),
  TIMEOUT: code(504, true, 'A service did not answer within the deadline.'),
  DATABASE_UNAVAILABLE: code(503, true, 'Postgres could not be reached or the transaction failed transiently.'),
  OVERLOADED: code(503, true, 'The service is shedding load; retry with backoff.'),
  INTERNAL: code(500, false, 'An unexpected error; the trace id in details locates it.'),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}
