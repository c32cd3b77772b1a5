import { type ResultBatch, SwarmError } from '@swarm-mesh/contracts';
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
