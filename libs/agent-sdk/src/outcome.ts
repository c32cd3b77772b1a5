import { MAX_TASK_RESULT_BYTES } from '@swarm-mesh/contracts';
import type { AttemptResultDto, TaskErrorDto } from '@swarm-mesh/contracts';
import { type AbortReason, hasUsage, isJsonObject, type TaskUsage } from './context';
import { SDK_ERROR_CODES, toTaskErrorDto } from './errors';
import { hasUnstorableJson } from './storable';

/** How a handler call ended. */
export interface HandlerSettlement {
  threw: boolean;
  value?: unknown;
  error?: unknown;
  /** Why the attempt's signal fired, if it did. */
  abortReason: AbortReason | undefined;
}

/** The attempt being settled. */
export interface SettledAttemptInfo {
  taskId: string;
  attempt: number;
  epoch: number;
  capability: string;
  startToCloseMs?: number | undefined;
  startedAt: string;
  usage: TaskUsage;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain'} object`;
  return `a ${typeof v}`;
}

/** The error of an attempt stopped by the agent's shutdown (retryable). */
export function shutdownError(agentId: string, attempt: number, at: string): TaskErrorDto {
  return {
    message: `agent ${agentId} stopped before the attempt finished`,
    code: SDK_ERROR_CODES.AGENT_SHUTDOWN,
    retryable: true,
    attempt,
    at,
  };
}

/** The JSON text of a result, or null when it has none (cycles, BigInt). */
function jsonText(v: unknown): string | null {
  try {
    return JSON.stringify(v);
  } catch {
    return null;
  }
}

/**
 * The result an attempt reports, from how its handler ended:
 * - start-to-close timeout → `failed` START_TO_CLOSE_TIMEOUT (retryable), whatever the handler did;
 * - threw after a cancel → `cancelled`; after a shutdown abort → `cancelled` with error AGENT_SHUTDOWN (retryable);
 * - threw otherwise → `failed` with the error mapped by `toTaskErrorDto`;
 * - returned a JSON object → `succeeded` (over MAX_TASK_RESULT_BYTES: RESULT_TOO_LARGE; holding a string Postgres
 *   cannot store: INVALID_RESULT); anything else → `failed` INVALID_RESULT (not retryable).
 * Usage reported through the context is attached in every case.
 */
export function settleAttempt(
  info: SettledAttemptInfo,
  s: HandlerSettlement,
  agentId: string,
  finishedAt = new Date().toISOString(),
): AttemptResultDto {
  const result: AttemptResultDto = {
    taskId: info.taskId,
    attempt: info.attempt,
    epoch: info.epoch,
    outcome: 'succeeded',
    startedAt: info.startedAt,
    finishedAt,
  };
  if (s.abortReason === 'timeout') {
    result.outcome = 'failed';
    result.error = {
      message: `attempt exceeded startToCloseMs (${info.startToCloseMs ?? '?'} ms)`,
      code: SDK_ERROR_CODES.START_TO_CLOSE_TIMEOUT,
      retryable: true,
      attempt: info.attempt,
      at: finishedAt,
    };
  } else if (s.threw && s.abortReason === 'cancelled') {
    result.outcome = 'cancelled';
  } else if (s.threw && s.abortReason === 'shutdown') {
    // the agent gave up on the attempt, not the task: the coordinator requeues it without counting a failure
    result.outcome = 'cancelled';
    result.error = shutdownError(agentId, info.attempt, finishedAt);
  } else if (s.threw) {
    result.outcome = 'failed';
    result.error = toTaskErrorDto(s.error, info.attempt, finishedAt);
  } else if (isJsonObject(s.value)) {
    const json = jsonText(s.value);
    const size = json === null ? Number.POSITIVE_INFINITY : Buffer.byteLength(json);
    if (json !== null && hasUnstorableJson(json)) {
      result.outcome = 'failed';
      result.error = {
        message: `the result of "${info.capability}" holds a string with U+0000 (NUL) or an unpaired UTF-16 surrogate, which cannot be stored`,
        code: SDK_ERROR_CODES.INVALID_RESULT,
        retryable: false,
        attempt: info.attempt,
        at: finishedAt,
      };
    } else if (size > MAX_TASK_RESULT_BYTES) {
      result.outcome = 'failed';
      result.error = {
        message: `the result of "${info.capability}" is ${size} bytes of JSON; the limit is ${MAX_TASK_RESULT_BYTES}`,
        code: SDK_ERROR_CODES.RESULT_TOO_LARGE,
        retryable: false,
        attempt: info.attempt,
        at: finishedAt,
      };
    } else result.result = s.value;
  } else {
    result.outcome = 'failed';
    result.error = {
      message: `the handler of "${info.capability}" returned ${describeValue(s.value)}; a handler must return a JSON object`,
      code: SDK_ERROR_CODES.INVALID_RESULT,
      retryable: false,
      attempt: info.attempt,
      at: finishedAt,
    };
  }
  if (hasUsage(info.usage)) result.usage = { ...info.usage };
  return result;
}
