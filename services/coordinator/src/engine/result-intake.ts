import { AGENT_ID_RE, type ResultBatch, SwarmError } from '@swarm-mesh/contracts';
import type { BatchItem } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';
import type { CoordinatorEngine } from './coordinator-engine';

/** Delivery of a results message on which a refusal with INTERNAL makes it a poison message. */
export const POISON_RESULT_DELIVERY = 3;

/**
 * Applies one batch of results messages from the RESULTS stream (the consumer acks the batch
 * when this resolves, naks it for redelivery when this throws).
 *
 * A message the engine refuses with INTERNAL (a bug applying it) is redelivered like any other
 * failure, but from its POISON_RESULT_DELIVERY-th delivery on it is given up: the attempts it
 * reports end failed with code INTERNAL (not retried) and the message is terminated — else it
 * would come back every few hundred milliseconds forever. Any other failure (Postgres down, the
 * engine stopping) fails the batch for redelivery; messages already applied are idempotent.
 */
export async function applyResultItems(
  engine: Pick<CoordinatorEngine, 'applyResults' | 'abandonResults'>,
  items: ReadonlyArray<BatchItem<ResultBatch>>,
  logger: Logger,
): Promise<void> {
  const settled = await Promise.allSettled(items.map((it) => engine.applyResults(it.body)));
  let retry: unknown;
  for (let i = 0; i < items.length; i++) {
    const outcome = settled[i]!;
    if (outcome.status === 'fulfilled') continue;
    const it = items[i]!;
    const err: unknown = outcome.reason;
    const poison = err instanceof SwarmError && err.code === 'INTERNAL' && it.msg.info.deliveryCount >= POISON_RESULT_DELIVERY;
    if (!poison) {
      retry ??= err;
      continue;
    }
    try {
      await engine.abandonResults(
        it.body,
        `the coordinator could not apply this result (internal error on ${it.msg.info.deliveryCount} deliveries, logged)`,
      );
      it.msg.term();
      logger.error('results message refused on every delivery; its attempts failed (INTERNAL) and the message was dropped', {
        agentId: it.body.agentId,
        tasks: it.body.results.map((r) => r.taskId),
        deliveries: it.msg.info.deliveryCount,
      });
    } catch (abandonErr) {
      retry ??= abandonErr;
    }
  }
  if (retry !== undefined) throw retry;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The most attempts one refused results message may fail (a batch holds at most 1,000). */
const MAX_REFUSED_ATTEMPTS = 1000;

/**
 * What a results message that failed validation still says reliably: the agent it came from
 * (the subject, `swarm.agent.<id>.results`, which NATS permissions tie to the agent) and the
 * attempts it reports (`taskId` + `epoch` of each result, where those two are well-formed).
 * Read leniently (plain `JSON.parse`, only those fields), so the coordinator can fail those
 * attempts with INVALID_RESULT at once; `null` when not even that can be read.
 */
export function refusedResultAttempts(
  data: Uint8Array,
  subject: string,
): { agentId: string; attempts: Array<{ taskId: string; epoch: number }> } | null {
  const parts = subject.split('.');
  const at = parts.lastIndexOf('results');
  const agentId = at >= 2 && parts[at - 2] === 'agent' ? parts[at - 1] : undefined;
  if (agentId === undefined || !AGENT_ID_RE.test(agentId)) return null;
  let env: unknown;
  try {
    env = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  const body = typeof env === 'object' && env !== null ? (env as { body?: unknown }).body : undefined;
  const results = typeof body === 'object' && body !== null ? (body as { results?: unknown }).results : undefined;
  if (!Array.isArray(results)) return null;
  const attempts: Array<{ taskId: string; epoch: number }> = [];
  const seen = new Set<string>();
  for (const r of results.slice(0, MAX_REFUSED_ATTEMPTS) as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const { taskId, epoch } = r as { taskId?: unknown; epoch?: unknown };
    if (typeof taskId !== 'string' || !UUID_RE.test(taskId) || typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1)
      continue;
    if (seen.has(taskId)) continue;
    seen.add(taskId);
    attempts.push({ taskId, epoch });
  }
  return attempts.length > 0 ? { agentId, attempts } : null;
}
