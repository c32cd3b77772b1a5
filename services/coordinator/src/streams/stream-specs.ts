import { AgentProtocol, EVENTS_WILDCARD, STREAMS } from '@swarm-mesh/contracts';
import type { StreamSpec } from '@swarm-mesh/messaging';

/** Durable name of the coordinator's consumer on RESULTS (shared by its replicas). */
export const RESULTS_CONSUMER = 'coordinator_results';

/** The streams the coordinator owns. */
export function coordinatorStreams(eventsMaxAgeMs: number): StreamSpec[] {
  return [
    { name: STREAMS.DISPATCH, subjects: [AgentProtocol.dispatch.subject], retention: 'workqueue', maxAgeMs: 24 * 3600 * 1000 },
    { name: STREAMS.RESULTS, subjects: [AgentProtocol.results.subject], retention: 'workqueue', maxAgeMs: 7 * 24 * 3600 * 1000 },
    { name: STREAMS.EVENTS, subjects: [EVENTS_WILDCARD], retention: 'limits', maxAgeMs: eventsMaxAgeMs },
  ];
}
