import { defineMessage } from '../definitions/definitions';
import { MeshEventBatch } from '../dto/event.dto';
import { eventSubject, STREAMS } from '../subjects/subjects';

/** Facts published through each service's outbox onto the EVENTS stream. */
export const EventMessages = {
  tasks: defineMessage({
    name: 'events.tasks',
    subject: eventSubject('task', 'batch'),
    payload: MeshEventBatch,
    stream: STREAMS.EVENTS,
    maxPayloadBytes: 8 * 1024 * 1024,
    traced: false,
    description: 'Task lifecycle events (task.submitted, task.dispatched, task.running, task.succeeded, …).',
  }),
  agents: defineMessage({
    name: 'events.agents',
    subject: eventSubject('agent', 'batch'),
    payload: MeshEventBatch,
    stream: STREAMS.EVENTS,
    maxPayloadBytes: 8 * 1024 * 1024,
    traced: false,
    description: 'Agent events (agent.registered, agent.state_changed, …).',
  }),
  workflows: defineMessage({
    name: 'events.workflows',
    subject: eventSubject('workflow', 'batch'),
    payload: MeshEventBatch,
    stream: STREAMS.EVENTS,
    maxPayloadBytes: 8 * 1024 * 1024,
    traced: false,
    description: 'Workflow events (workflow.submitted, workflow.succeeded, workflow.failed, workflow.cancelled).',
  }),
} as const;
