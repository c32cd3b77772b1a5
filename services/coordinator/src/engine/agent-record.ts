import type { AgentDomain, AgentDto, AgentState, AgentTier, BreakerState } from '@swarm-mesh/contracts';

/** Liveness derived from heartbeat age. */
export type Liveness = 'healthy' | 'degraded' | 'unresponsive' | 'dead';

/** The coordinator's view of one agent. */
export interface AgentRecord {
  id: string;
  tenantId: string;
  name: string;
  domain: AgentDomain;
  tier: AgentTier;
  capabilities: string[];
  concurrency: number;
  instanceId: string;
  version: string | null;
  metadata: Record<string, unknown>;
  registeredAt: number;
  lastHeartbeatAt: number | null;
  liveness: Liveness;
  /** Agent says it is draining (SIGTERM, restart). */
  agentDraining: boolean;
  /** An operator drained it. */
  operatorDrain: boolean;
  /** Attempts assigned to it: taskId → epoch. */
  assigned: Map<string, number>;
  heartbeatSeq: number;
  cpuPercent: number | null;
  memoryRssBytes: number | null;
  succeeded: number;
  failed: number;
  consecutiveFailures: number;
  breaker: { state: BreakerState; openedAt: number | null; retryAt: number | null; cooldownMs: number; trialTaskId: string | null };
  /** Needs writing to Postgres at the next flush. */
  dirty: boolean;
  /** Last state written/announced (for state-change events). */
  announcedState: AgentState;
}

/** The state shown to users: liveness, then quarantine, then draining. */
export function agentState(a: AgentRecord): AgentState {
  if (a.liveness === 'dead' || a.liveness === 'unresponsive') return a.liveness;
  if (a.breaker.state === 'open') return 'quarantined';
  if (a.operatorDrain || a.agentDraining) return 'draining';
  return a.liveness;
}

export function freeSlots(a: AgentRecord): number {
  return Math.max(0, a.concurrency - a.assigned.size);
}

/** Whether new work may go to the agent now (half-open breakers take one trial task). */
export function dispatchable(a: AgentRecord, now: number): boolean {
  if (a.liveness !== 'healthy' && a.liveness !== 'degraded') return false;
  if (a.operatorDrain || a.agentDraining) return false;
  if (a.breaker.state === 'open') {
    if (a.breaker.retryAt !== null && now >= a.breaker.retryAt) {
      a.breaker.state = 'half_open';
      a.dirty = true;
    } else return false;
  }
  if (a.breaker.state === 'half_open' && a.breaker.trialTaskId !== null) return false;
  return freeSlots(a) > 0;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toAgentDto(a: AgentRecord): AgentDto {
  const state = agentState(a);
  return {
    id: a.id,
    tenantId: a.tenantId,
    name: a.name,
    domain: a.domain,
    tier: a.tier,
    capabilities: [...a.capabilities],
    concurrency: a.concurrency,
    state,
    instanceId: a.instanceId,
    version: a.version,
    // slots new work can use: none while it is dead, unresponsive or draining
    load: { running: a.assigned.size, freeSlots: state === 'dead' || state === 'unresponsive' || state === 'draining' ? 0 : freeSlots(a) },
    stats: {
      ...(a.cpuPercent !== null ? { cpuPercent: a.cpuPercent } : {}),
      ...(a.memoryRssBytes !== null ? { memoryRssBytes: a.memoryRssBytes } : {}),
      succeeded: a.succeeded,
      failed: a.failed,
      consecutiveFailures: a.consecutiveFailures,
    },
    breaker: { state: a.breaker.state, openedAt: iso(a.breaker.openedAt), retryAt: iso(a.breaker.retryAt) },
    lastHeartbeatAt: iso(a.lastHeartbeatAt),
    registeredAt: new Date(a.registeredAt).toISOString(),
    metadata: a.metadata,
  };
}
