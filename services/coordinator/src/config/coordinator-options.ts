import { ROUTING_STRATEGIES, type RoutingStrategy } from '@swarm-mesh/contracts';
import { bool, type EnvSpec, type EnvValues, int, num, oneOf, str } from '@swarm-mesh/service-kit';

/**
 * Every coordinator setting, documented once, with its default. All times are milliseconds so
 * tests can shrink them (TESTING.md: no test waits for a default of seconds).
 */
export const COORDINATOR_ENV = {
  AGENT_HEARTBEAT_INTERVAL_MS: int('How often agents heartbeat (told to them at registration)', { default: 1000, min: 10, max: 600_000 }),
  AGENT_DEGRADED_AFTER_MS: int('Heartbeat silence after which an agent is degraded (0 = 2 × interval)', { default: 0, min: 0 }),
  AGENT_UNRESPONSIVE_AFTER_MS: int('Heartbeat silence after which an agent gets no new work (0 = 3 × interval)', { default: 0, min: 0 }),
  AGENT_DEAD_AFTER_MS: int('Heartbeat silence after which an agent is dead and its tasks are requeued', { default: 10_000, min: 50 }),
  DISPATCH_ACK_TIMEOUT_MS: int('A dispatched attempt neither started nor held by its agent after this is requeued', {
    default: 10_000,
    min: 50,
  }),
  SWEEP_INTERVAL_MS: int('Period of the timeout/health sweep', { default: 100, min: 5, max: 10_000 }),
  AGING_STEP_MS: int('Queue wait that raises a task one priority level for ordering (LOW never starves)', { default: 10_000, min: 1 }),
  DEFAULT_MAX_ATTEMPTS: int('Attempts per task unless the task says otherwise', { default: 4, min: 1, max: 100 }),
  DEFAULT_BACKOFF_MS: str('Retry delays, comma-separated (the last repeats)', {
    default: '5000,15000,30000',
    pattern: /^\d+(,\d+)*$/,
    patternHint: 'comma-separated integers',
  }),
  DEFAULT_BACKOFF_JITTER: num('Random spread of each retry delay (0.1 = ±10 %)', { default: 0.1, min: 0, max: 1 }),
  DEFAULT_ROUTING_STRATEGY: oneOf('Agent selection unless the task says otherwise', ROUTING_STRATEGIES, { default: 'least_loaded' }),
  BREAKER_FAILURE_THRESHOLD: int('Consecutive failed attempts that quarantine an agent', { default: 5, min: 1 }),
  BREAKER_COOLDOWN_MS: int('How long a quarantined agent waits before a trial task', { default: 30_000, min: 1 }),
  STUCK_AFTER_MS: int('A running attempt heart-beating without progress for this long is stuck (0 = off)', { default: 1_800_000, min: 0 }),
  MAX_LOST_ATTEMPTS: int('Attempts lost to dead agents before a task is dead-lettered (poison-pill guard)', { default: 5, min: 1 }),
  REJECT_UNKNOWN_CAPABILITIES: bool('Reject tasks whose capability no agent of the tenant ever registered', { default: true }),
  TICK_MAX_OPS: int('Most operations folded into one transaction', { default: 5000, min: 1 }),
  EVENTS_MAX_AGE_MS: int('How long the EVENTS stream keeps facts', { default: 24 * 3600 * 1000, min: 1000 }),
  LAZY_WRITE_MS: int('Dispatched/running transitions are written this late unless the task finishes first (0 = write at once)', {
    default: 100,
    min: 0,
    max: 10_000,
  }),
  RESULTS_ACK_WAIT_MS: int('Results handed to a coordinator that died are redelivered after this', { default: 5000, min: 100 }),
  AGENT_FLUSH_INTERVAL_MS: int('How often live agent figures (heartbeat time, load) are written to Postgres', { default: 5000, min: 10 }),
  SUBTASK_MAX_DEPTH: int(
    'How many levels of subtasks may hang below a submitted task (3: orchestrator → master → specialist → microtask)',
    {
      default: 3,
      min: 1,
      max: 32,
    },
  ),
  SUBTASK_MAX_CHILDREN: int('Most subtasks one task may spawn (fan-out)', { default: 100, min: 1, max: 10_000 }),
  SUBTASK_MAX_TREE: int('Most tasks in one subtask tree (below its root)', { default: 1000, min: 1, max: 100_000 }),
} satisfies EnvSpec;

export type CoordinatorEnv = EnvValues<typeof COORDINATOR_ENV>;

/** Resolved coordinator options. */
export interface CoordinatorOptions {
  heartbeatIntervalMs: number;
  degradedAfterMs: number;
  unresponsiveAfterMs: number;
  deadAfterMs: number;
  dispatchAckTimeoutMs: number;
  sweepIntervalMs: number;
  agingStepMs: number;
  defaultMaxAttempts: number;
  defaultBackoffMs: number[];
  defaultJitter: number;
  defaultRouting: RoutingStrategy;
  breakerThreshold: number;
  breakerCooldownMs: number;
  stuckAfterMs: number;
  maxLostAttempts: number;
  rejectUnknownCapabilities: boolean;
  tickMaxOps: number;
  eventsMaxAgeMs: number;
  agentFlushIntervalMs: number;
  resultsAckWaitMs: number;
  lazyWriteMs: number;
  subtaskMaxDepth: number;
  subtaskMaxChildren: number;
  subtaskMaxTree: number;
}

export function resolveCoordinatorOptions(env: CoordinatorEnv): CoordinatorOptions {
  const hb = env.AGENT_HEARTBEAT_INTERVAL_MS;
  const degraded = env.AGENT_DEGRADED_AFTER_MS || 2 * hb;
  const unresponsive = env.AGENT_UNRESPONSIVE_AFTER_MS || 3 * hb;
  const dead = Math.max(env.AGENT_DEAD_AFTER_MS, unresponsive + 1);
  return {
    heartbeatIntervalMs: hb,
    degradedAfterMs: degraded,
    unresponsiveAfterMs: Math.max(unresponsive, degraded),
    deadAfterMs: dead,
    dispatchAckTimeoutMs: env.DISPATCH_ACK_TIMEOUT_MS,
    sweepIntervalMs: env.SWEEP_INTERVAL_MS,
    agingStepMs: env.AGING_STEP_MS,
    defaultMaxAttempts: env.DEFAULT_MAX_ATTEMPTS,
    defaultBackoffMs: env.DEFAULT_BACKOFF_MS.split(',').map(Number),
    defaultJitter: env.DEFAULT_BACKOFF_JITTER,
    defaultRouting: env.DEFAULT_ROUTING_STRATEGY as RoutingStrategy,
    breakerThreshold: env.BREAKER_FAILURE_THRESHOLD,
    breakerCooldownMs: env.BREAKER_COOLDOWN_MS,
    stuckAfterMs: env.STUCK_AFTER_MS,
    maxLostAttempts: env.MAX_LOST_ATTEMPTS,
    rejectUnknownCapabilities: env.REJECT_UNKNOWN_CAPABILITIES,
    tickMaxOps: env.TICK_MAX_OPS,
    eventsMaxAgeMs: env.EVENTS_MAX_AGE_MS,
    agentFlushIntervalMs: env.AGENT_FLUSH_INTERVAL_MS,
    resultsAckWaitMs: env.RESULTS_ACK_WAIT_MS,
    lazyWriteMs: env.LAZY_WRITE_MS,
    subtaskMaxDepth: env.SUBTASK_MAX_DEPTH,
    subtaskMaxChildren: env.SUBTASK_MAX_CHILDREN,
    subtaskMaxTree: env.SUBTASK_MAX_TREE,
  };
}
