/**
 * Enumerations shared by every service, agent and client. String values are part of the
 * public contract (REST, NATS payloads, CLI output): never rename one, only add.
 */

/** Message and task priority, lowest first. */
export const PRIORITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Priority = (typeof PRIORITIES)[number];
/** Numeric rank of a priority: LOW = 0 … CRITICAL = 3. */
export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 3 };

/** Task lifecycle states (CONTRACT.md). */
export const TASK_STATES = [
  'pending',
  'queued',
  'dispatched',
  'running',
  'succeeded',
  'failed',
  'retry_scheduled',
  'timed_out',
  'cancelled',
  'preempted',
  'dead_lettered',
  'needs_review',
] as const;
export type TaskState = (typeof TASK_STATES)[number];
/** States a task never leaves on its own (a dead letter leaves only by an explicit replay). */
export const TERMINAL_TASK_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled', 'dead_lettered', 'timed_out'];

/** How one attempt ended. `superseded`: fenced off by a newer lease epoch (agent lost or task moved). */
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'preempted', 'lost', 'superseded'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Load-balancing strategies for picking an agent among those with the capability. */
export const ROUTING_STRATEGIES = ['least_loaded', 'round_robin', 'affinity'] as const;
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

/** Per-agent circuit breaker states. */
export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/** Operator actions on an agent. */
export const AGENT_ACTIONS = ['drain', 'resume', 'restart'] as const;
export type AgentAction = (typeof AGENT_ACTIONS)[number];

/** Agent health and control states. */
export const AGENT_STATES = ['healthy', 'degraded', 'unresponsive', 'dead', 'draining', 'quarantined'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** The swarm's domains: one channel family each. */
export const AGENT_DOMAINS = ['data', 'content', 'intel', 'quality', 'infra'] as const;
export type AgentDomain = (typeof AGENT_DOMAINS)[number];

/** Tiers of the seeds' hierarchy (orchestrator → masters → specialists → microtasks). */
export const AGENT_TIERS = ['master', 'specialist', 'microtask'] as const;
export type AgentTier = (typeof AGENT_TIERS)[number];

/**
 * Tier of a task in a subtask tree (the seeds' orchestrator → master → specialist → microtask
 * hierarchy). A submitted task is an `orchestrator` unless it says otherwise; each spawned
 * generation goes one tier down by default.
 */
export const TASK_TIERS = ['orchestrator', 'master', 'specialist', 'microtask'] as const;
export type TaskTier = (typeof TASK_TIERS)[number];

/** Workflow lifecycle: `running` until every node ended (or the failure policy stopped it). */
export const WORKFLOW_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];

/**
 * What a workflow does when a node fails: `fail_fast` cancels everything still pending or running
 * and fails the workflow; `continue` cancels only the failed node's dependants and lets
 * independent branches finish.
 */
export const FAILURE_POLICIES = ['fail_fast', 'continue'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** Where a node of a workflow stands (its task state, plus the approval gate). */
export const WORKFLOW_NODE_STATES = [...TASK_STATES, 'awaiting_approval', 'rejected'] as const;
export type WorkflowNodeState = (typeof WORKFLOW_NODE_STATES)[number];

/**
 * Human decisions on a task: an approval gate after success, or the review of a result that
 * failed its checks. `withdrawn`: the request ended undecided (the task was cancelled, or its
 * workflow ended while the gate waited); it can no longer be approved or rejected.
 */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'withdrawn'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** Coverage of one declared requirement of a workflow. */
export const REQUIREMENT_STATUSES = ['covered', 'failed', 'pending'] as const;
export type RequirementStatus = (typeof REQUIREMENT_STATUSES)[number];

/** Delivery status carried in every envelope (the seeds' MessageDeliveryStatus). */
export const DELIVERY_STATUSES = ['pending', 'sent', 'delivered', 'acknowledged', 'failed', 'expired'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The five services of the mesh; the name is also the NATS queue group and the Postgres schema owner. */
export const SERVICE_NAMES = ['gateway', 'coordinator', 'resource-allocator', 'conflict-resolver', 'performance-optimizer'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/**
 * Services whose state lives in one process: one replica is active (it holds a lease in NATS KV),
 * the others stand by and take over when the lease lapses. The others scale out.
 */
export const SINGLETON_SERVICES: readonly ServiceName[] = ['coordinator', 'resource-allocator', 'conflict-resolver'];

/** Postgres schema owned by each service. No service touches another's schema. */
export const SERVICE_SCHEMAS: Readonly<Record<ServiceName, string>> = {
  gateway: 'gateway',
  coordinator: 'coordinator',
  'resource-allocator': 'resources',
  'conflict-resolver': 'conflicts',
  'performance-optimizer': 'performance',
};

/** Default HTTP port of each service (health + metrics; the gateway also serves the REST API). */
export const SERVICE_DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  gateway: 3000,
  coordinator: 3001,
  'resource-allocator': 3002,
  'conflict-resolver': 3003,
  'performance-optimizer': 3004,
};

/** Health status of a component. */
export const HEALTH_STATUSES = ['ok', 'degraded', 'down'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];
