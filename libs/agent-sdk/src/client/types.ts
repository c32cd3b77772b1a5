import type {
  AgentBreakerDto,
  AgentDomain,
  AgentLoadDto,
  AgentState,
  AgentStatsDto,
  ComponentHealth,
  HealthStatus,
  Priority,
  ServiceName,
  TaskDto,
  TaskState,
  WorkflowDto,
  WorkflowState,
} from '@swarm-mesh/contracts';

/** Options of SwarmClient; every field has a default. */
export interface SwarmClientOptions {
  /** Gateway base URL. Default: `SWARM_URL`, else `http://127.0.0.1:3000`. */
  url?: string;
  /** API key. Default: `SWARM_API_KEY`. */
  apiKey?: string;
  /** Deadline of one HTTP attempt. Default 30 000 ms. */
  timeoutMs?: number;
  /**
   * Extra attempts after a retryable failure. GETs retry on network errors, 429, 502, 503 and
   * 504; mutations only on 429 and 503 (refused before being applied), a single submit whose task
   * has an idempotency key also on network errors and 502/504. Default 3.
   */
  retries?: number;
  /** First retry delay; doubles per attempt (with jitter), at most 5 s. Default 200 ms. */
  retryDelayMs?: number;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Environment to read SWARM_URL / SWARM_API_KEY from. Default process.env. */
  env?: Record<string, string | undefined>;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's per-attempt timeout. */
  timeoutMs?: number;
}

/** A page of a list endpoint. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageFilters {
  /** Page size (server default 50, at most 500). */
  limit?: number;
  cursor?: string;
}

export interface TaskFilters extends PageFilters {
  state?: TaskState;
  capability?: string;
  priority?: Priority;
  agentId?: string;
}

export interface AgentFilters extends PageFilters {
  state?: AgentState;
  capability?: string;
  domain?: AgentDomain;
}

export interface DeadLetterFilters extends PageFilters {
  capability?: string;
  includeReplayed?: boolean;
}

/** `GET /api/v1/agents/{id}/health`. */
export interface AgentHealth {
  id: string;
  state: AgentState;
  lastHeartbeatAt: string | null;
  load: AgentLoadDto;
  stats: AgentStatsDto;
  breaker: AgentBreakerDto;
}

/** One service in `GET /api/v1/health`. */
export interface ServiceHealthEntry {
  status: HealthStatus;
  instanceId?: string;
  version?: string;
  uptimeMs?: number;
  latencyMs?: number;
  error?: string;
  checks?: { postgres: ComponentHealth; nats: ComponentHealth };
}

/** `GET /api/v1/health` (answered with 200 when ok, 503 otherwise; the client returns both). */
export interface MeshHealthReport {
  status: HealthStatus;
  services: Record<ServiceName, ServiceHealthEntry>;
  nats: ComponentHealth;
  postgres: ComponentHealth;
  checkedAt: string;
}

/** Options of `waitFor`. */
export interface WaitOptions {
  /** Give up (SwarmApiError WAIT_TIMEOUT) after this long. Default: wait forever. */
  timeoutMs?: number;
  /** Delay between polls. Default 500 ms. */
  pollMs?: number;
  /** Called with the first snapshot and every one that differs (state, attempt, progress, update time). */
  onUpdate?: (task: TaskDto, previous: TaskDto | undefined) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface WorkflowFilters extends PageFilters {
  state?: WorkflowState;
}

/** Options of `workflows.waitFor`. */
export interface WorkflowWaitOptions {
  /** Give up (SwarmApiError WAIT_TIMEOUT) after this long. Default: wait forever. */
  timeoutMs?: number;
  /** Delay between polls. Default 500 ms. */
  pollMs?: number;
  /** Called with the first snapshot and every one whose node states changed. */
  onUpdate?: (workflow: WorkflowDto, previous: WorkflowDto | undefined) => void | Promise<void>;
  signal?: AbortSignal;
}
