import { defineCommand, defineMessage } from '../definitions/definitions';
import {
  AgentControlMessage,
  AgentHeartbeat,
  AgentRegisterReply,
  AgentRegistration,
  AgentReportBatch,
  CheckpointReply,
  CheckpointRequest,
  DispatchBatch,
  ResultBatch,
} from '../dto/agent.dto';
import { AwaitChildrenReply, AwaitChildrenRequest, SpawnReply, SpawnRequest } from '../dto/subtask.dto';
import { agentInboxSubject, agentSubject, STREAMS } from '../subjects/subjects';

/**
 * The agent protocol (SDK ↔ coordinator). Agent → mesh subjects sit under the agent's own id
 * (`swarm.agent.<id>.<verb>`), mesh → agent under its inbox (`swarm.agent.<id>.inbox.<verb>`),
 * so NATS permissions can confine an agent to its own subjects.
 */
export const AgentProtocol = {
  /** Request/reply; handled by the coordinator's queue group. */
  register: defineCommand({
    service: 'coordinator',
    command: 'agent.register',
    subject: { pattern: agentSubject('*', 'register'), build: (agentId: string) => agentSubject(agentId, 'register') },
    request: AgentRegistration,
    reply: AgentRegisterReply,
    timeoutMs: 10_000,
    maxPayloadBytes: 64 * 1024,
    description: 'An agent process announces itself (at start and after reconnecting).',
  }),
  /** Request/reply; the reply comes after the checkpoint is durable. */
  checkpoint: defineCommand({
    service: 'coordinator',
    command: 'agent.checkpoint',
    subject: { pattern: agentSubject('*', 'checkpoint'), build: (agentId: string) => agentSubject(agentId, 'checkpoint') },
    request: CheckpointRequest,
    reply: CheckpointReply,
    timeoutMs: 10_000,
    maxPayloadBytes: 300 * 1024,
    description: 'Save a running attempt’s checkpoint (fenced by lease epoch).',
  }),
  /** Request/reply; the children are durable before the reply. */
  spawn: defineCommand({
    service: 'coordinator',
    command: 'agent.spawn',
    subject: { pattern: agentSubject('*', 'spawn'), build: (agentId: string) => agentSubject(agentId, 'spawn') },
    request: SpawnRequest,
    reply: SpawnReply,
    timeoutMs: 30_000,
    maxPayloadBytes: 8 * 1024 * 1024,
    description: 'A running attempt spawns subtasks (fenced by lease epoch; depth and fan-out limited).',
  }),
  /** Request/reply, long poll: answered when the awaited children are done or after `waitMs`. */
  children: defineCommand({
    service: 'coordinator',
    command: 'agent.children',
    subject: { pattern: agentSubject('*', 'children'), build: (agentId: string) => agentSubject(agentId, 'children') },
    request: AwaitChildrenRequest,
    reply: AwaitChildrenReply,
    timeoutMs: 70_000,
    maxPayloadBytes: 256 * 1024,
    description: 'A running attempt waits for its subtasks (states, results and errors).',
  }),
  heartbeat: defineMessage({
    name: 'agent.heartbeat',
    subject: agentSubject('*', 'heartbeat'),
    subjectFor: (agentId: string) => agentSubject(agentId, 'heartbeat'),
    payload: AgentHeartbeat,
    maxPayloadBytes: 1024 * 1024,
    traced: false,
    description: 'Liveness, free slots, running attempts and process figures.',
  }),
  reports: defineMessage({
    name: 'agent.reports',
    subject: agentSubject('*', 'reports'),
    subjectFor: (agentId: string) => agentSubject(agentId, 'reports'),
    payload: AgentReportBatch,
    maxPayloadBytes: 1024 * 1024,
    traced: false,
    description: 'Batched started/progress reports.',
  }),
  results: defineMessage({
    name: 'agent.results',
    subject: agentSubject('*', 'results'),
    subjectFor: (agentId: string) => agentSubject(agentId, 'results'),
    payload: ResultBatch,
    stream: STREAMS.RESULTS,
    maxPayloadBytes: 8 * 1024 * 1024,
    traced: false,
    description: 'Batched attempt results (JetStream, de-duplicated by batch id).',
  }),
  dispatch: defineMessage({
    name: 'agent.dispatch',
    subject: agentInboxSubject('*', 'dispatch'),
    subjectFor: (agentId: string) => agentInboxSubject(agentId, 'dispatch'),
    payload: DispatchBatch,
    stream: STREAMS.DISPATCH,
    maxPayloadBytes: 8 * 1024 * 1024,
    traced: false,
    description: 'Tasks assigned to one agent (JetStream, per-agent subject).',
  }),
  control: defineMessage({
    name: 'agent.control',
    subject: agentInboxSubject('*', 'control'),
    subjectFor: (agentId: string) => agentInboxSubject(agentId, 'control'),
    payload: AgentControlMessage,
    maxPayloadBytes: 1024 * 1024,
    description: 'Cancel attempts, drain, resume, restart.',
  }),
} as const;
