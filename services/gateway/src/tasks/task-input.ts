import { MAX_TASK_INPUT_BYTES, type SubmitTaskDto, SwarmError } from '@swarm-mesh/contracts';

/**
 * Rejects a task whose input is larger than MAX_TASK_INPUT_BYTES of JSON (413 PAYLOAD_TOO_LARGE)
 * before it is forwarded. `index` names the task in a batch. Returns the input's JSON size (UTF-16
 * code units: exact for ASCII, a close estimate otherwise).
 */
export function assertTaskInputSize(task: SubmitTaskDto, index?: number): number {
  if (task.input === undefined || task.input === null) return 2;
  const json = JSON.stringify(task.input);
  // a UTF-16 code unit encodes to at most 3 UTF-8 bytes: small inputs need no exact count
  if (json.length * 3 <= MAX_TASK_INPUT_BYTES) return json.length;
  const sizeBytes = Buffer.byteLength(json);
  if (sizeBytes <= MAX_TASK_INPUT_BYTES) return sizeBytes;
  const path = index === undefined ? 'input' : `tasks.${index}.input`;
  throw new SwarmError('PAYLOAD_TOO_LARGE', `${path} is ${sizeBytes} bytes of JSON; the limit is ${MAX_TASK_INPUT_BYTES}`, {
    path,
    sizeBytes,
    limitBytes: MAX_TASK_INPUT_BYTES,
  });
}

/**
 * A submit larger than the NATS server's max_payload (1 MiB by default) can never reach the
 * coordinator: nats.js refuses it before sending, which the bus reports as a retryable
 * SERVICE_UNAVAILABLE. Answer 413 PAYLOAD_TOO_LARGE instead (not retryable: the client must
 * split the batch); nothing was sent, so nothing was written. Other errors are rethrown.
 */
export function rethrowOversizedSubmit(
  err: unknown,
  requestBody: unknown,
  maxPayload: number | undefined,
  what: { path: string; advice: string } = { path: 'tasks', advice: 'submit fewer or smaller tasks per batch' },
): never {
  if (err instanceof SwarmError && err.code === 'SERVICE_UNAVAILABLE' && err.details?.reason === 'MAX_PAYLOAD_EXCEEDED') {
    const sizeBytes = Buffer.byteLength(JSON.stringify(requestBody));
    throw new SwarmError(
      'PAYLOAD_TOO_LARGE',
      `the request is ${sizeBytes} bytes of JSON; the mesh carries at most ${maxPayload ?? 'max_payload'} bytes per message: ${what.advice}`,
      { path: what.path, sizeBytes, ...(maxPayload !== undefined ? { limitBytes: maxPayload } : {}) },
    );
  }
  throw err;
}

/** rethrowOversizedSubmit for a workflow or a template (one message carries every node). */
export const OVERSIZED_WORKFLOW = { path: 'nodes', advice: 'make the node inputs smaller (or pass large data by reference)' };
