/** REST client of the gateway (no NATS, no NestJS): `import { SwarmClient } from '@swarm-mesh/agent-sdk'`. */
export { SwarmClient, isTerminalState } from './swarm-client';
export { SwarmApiError, SwarmBatchSubmitError } from './errors';
export type {
  AgentFilters,
  AgentHealth,
  CallOptions,
  DeadLetterFilters,
  MeshHealthReport,
  Page,
  PageFilters,
  ServiceHealthEntry,
  SwarmClientOptions,
  TaskFilters,
  WaitOptions,
  WorkflowFilters,
  WorkflowWaitOptions,
} from './types';
