import type { SubmittedTaskDto } from '@swarm-mesh/contracts';

/**
 * An error answered by the gateway (`{code, message, details}` with an HTTP status), or a
 * client-side failure with `status` 0: `CONNECTION_FAILED` (gateway unreachable), `TIMEOUT` (no
 * answer within the client's timeout), `WAIT_TIMEOUT` (waitFor gave up), `INVALID_RESPONSE`.
 */
export class SwarmApiError extends Error {
  /** HTTP status, or 0 when no HTTP answer was received. */
  readonly status: number;
  /** Stable UPPER_SNAKE code from the API (e.g. TASK_NOT_FOUND), or a client-side code. */
  readonly code: string;
  readonly details: Record<string, unknown>;
  /** `x-trace-id` of the failed response, when there was one. */
  readonly traceId: string | undefined;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}, traceId?: string) {
    super(message);
    this.name = 'SwarmApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.traceId = traceId;
  }

  /** Whether the same request may succeed later unchanged (the server refused it before applying it). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** A `submitBatch` chunk failed after earlier chunks were accepted: `submitted` holds those tasks. */
export class SwarmBatchSubmitError extends SwarmApiError {
  readonly submitted: SubmittedTaskDto[];

  constructor(cause: SwarmApiError, submitted: SubmittedTaskDto[]) {
    super(
      cause.status,
      cause.code,
      `${cause.message} (after ${submitted.length} task${submitted.length === 1 ? '' : 's'} had been submitted)`,
      cause.details,
      cause.traceId,
    );
    this.name = 'SwarmBatchSubmitError';
    this.submitted = submitted;
  }
}
