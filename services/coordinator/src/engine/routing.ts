import type { RoutingStrategy } from '@swarm-mesh/contracts';
import { type AgentRecord, freeSlots } from './agent-record';
import type { TaskRecord } from './task-record';

function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/**
 * Picks an agent for a task among `candidates` (already filtered: dispatchable, with the
 * capability, free slots > 0). A retry prefers an agent that has not run the task before.
 */
export function pickAgent(
  task: TaskRecord,
  candidates: AgentRecord[],
  strategy: RoutingStrategy,
  rrCounter: { n: number },
): AgentRecord | undefined {
  if (candidates.length === 0) return undefined;
  const pinned = task.options.routing?.agentId;
  if (pinned) return candidates.find((a) => a.id === pinned);
  let pool = candidates;
  if (task.attempts.length > 0) {
    const used = new Set(task.attempts.map((a) => a.agentId));
    const fresh = candidates.filter((a) => !used.has(a.id));
    if (fresh.length > 0) pool = fresh;
  }
  if (pool.length === 1) return pool[0];
  switch (strategy) {
    case 'round_robin': {
      const i = rrCounter.n++ % pool.length;
      return pool[i];
    }
    case 'affinity': {
      const key = task.options.routing?.affinityKey;
      if (key) {
        let best: AgentRecord | undefined;
        let bestScore = -1;
        for (const a of pool) {
          const score = hash32(`${key}\u0000${a.id}`);
          if (score > bestScore) {
            best = a;
            bestScore = score;
          }
        }
        return best;
      }
      return leastLoaded(pool, rrCounter);
    }
    case 'least_loaded':
    default:
      return leastLoaded(pool, rrCounter);
  }
}

function leastLoaded(pool: AgentRecord[], rrCounter: { n: number }): AgentRecord | undefined {
  let best: AgentRecord | undefined;
  let bestLoad = Infinity;
  let bestFree = -1;
  // start at a rotating offset so equal agents share work
  const start = rrCounter.n++ % pool.length;
  for (let k = 0; k < pool.length; k++) {
    const a = pool[(start + k) % pool.length]!;
    const load = a.assigned.size / a.concurrency;
    const free = freeSlots(a);
    if (load < bestLoad || (load === bestLoad && free > bestFree)) {
      best = a;
      bestLoad = load;
      bestFree = free;
    }
  }
  return best;
}
