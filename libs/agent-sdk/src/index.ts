/**
 * @swarm-mesh/agent-sdk — write Swarm Mesh agents in TypeScript: register capabilities, receive
 * tasks, report progress, checkpoints and results, share facts on the swarm channels.
 * No NestJS; depends on @swarm-mesh/contracts, @swarm-mesh/messaging and @swarm-mesh/telemetry.
 */
export * from './options';
export * from './errors';
export * from './context';
export * from './events';
export * from './channels';
export * from './agent';
export * from './outcome';
export * from './mock-context';
export { AttemptSubtasks } from './subtasks';
export * from './client';
export { registerForSignals, unregisterForSignals } from './signals';
export { Batcher, backoffDelay, CpuMeter } from './batcher';
export { ProcessStats, type ProcessFigures } from './process-stats';

// Re-exported from the contracts so an agent needs only this package for everyday work.
export {
  AGENT_DOMAINS,
  AGENT_TIERS,
  ALL_CHANNELS,
  Channels,
  ChannelPayload,
  SwarmError,
  type AgentDomain,
  type AgentTier,
  type AgentControlMessage,
  type AgentHeartbeat,
  type AgentRegisterReply,
  type AttemptResultDto,
  type DispatchedTaskDto,
  type MessageDefinition,
  type Priority,
  type TaskErrorDto,
  type UsageDto,
  type SpawnTaskDto,
  type TaskTier,
} from '@swarm-mesh/contracts';
export { createLogger, silentLogger, startTelemetry, type Logger, type LogLevel, type TelemetryOptions } from '@swarm-mesh/telemetry';
