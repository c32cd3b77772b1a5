import { ERROR_CODES, type ErrorCode, SwarmError, InternalError } from '@swarm-mesh/contracts';

/** The REST error body: `{code, message, details}` (CONTRACT.md). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

interface FrameworkError {
  code?: unknown;
  statusCode?: unknown;
  status?: unknown;
  message?: unknown;
  getStatus?: () => number;
  getResponse?: () => unknown;
}

/** Maps anything thrown while serving a request to an HTTP status and error body. */
export function toErrorResponse(err: unknown, traceId?: string): { status: number; body: ErrorBody } {
  if (err instanceof SwarmError) {
    return { status: err.httpStatus, body: { code: err.code, message: err.message, details: err.details ?? {} } };
  }
  const e = (err ?? {}) as FrameworkError;
  const status =
    typeof e.getStatus === 'function'
      ? e.getStatus()
      : typeof e.statusCode === 'number'
        ? e.statusCode
        : typeof e.status === 'number'
          ? e.status
          : 500;
  const fwCode = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : 'error';
  let code: ErrorCode;
  if (fwCode === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) code = 'PAYLOAD_TOO_LARGE';
  else if (fwCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) code = 'VALIDATION_FAILED';
  else if (fwCode.startsWith('FST_ERR_CTP') || (status === 400 && /JSON/i.test(message))) code = 'MALFORMED_JSON';
  else if (status === 404) code = 'ROUTE_NOT_FOUND';
  else if (status === 401) code = 'UNAUTHENTICATED';
  else if (status === 403) code = 'FORBIDDEN';
  else if (status === 429) code = 'RATE_LIMITED';
  else if (status >= 400 && status < 500) code = 'VALIDATION_FAILED';
  else {
    const internal = new InternalError('internal error', traceId ? { traceId } : undefined);
    return { status: 500, body: { code: internal.code, message: internal.message, details: internal.details ?? {} } };
  }
  const httpStatus = code === 'VALIDATION_FAILED' && status === 415 ? 415 : ERROR_CODES[code].httpStatus;
  return { status: httpStatus, body: { code, message, details: {} } };
}
