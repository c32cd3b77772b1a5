import { pickPoolByWeight, type RoutingStrategy } from '@swarm-mesh/contracts';
import { type AgentRecord, freeSlots } from './agent-record';
import type { TaskRecord } from './task-record';

/** FNV-1a of a string, unsigned 32-bit. */
export function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** A pool's share of a capability's traffic (the optimizer's routing weights). */
export interface PoolWeight {
  readonly pool: string;
  readonly weight: number;
}

/**
 * The pool (provider) an agent stands for: `metadata.pool`, else `metadata.provider`, as the
 * agent declared at registration (the demo swarm sets `provider`). Undefined = none.
 */
export function agentPool(a: AgentRecord): string | undefined {
  const v = a.metadata.pool ?? a.metadata.provider;
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * Picks an agent for a task among `candidates` (already filtered: dispatchable, with the
 * capability, free slots > 0). A retry prefers an agent that has not run the task before.
 *
 * With routing `weights` for the task's capability (docs/ROUTING-WEIGHTS.md), the candidates
 * are first narrowed to one pool, chosen with probability proportional to its weight among the
 * pools that have a candidate now (a full pool is not eligible: its share goes to the others);
 * the strategy then picks within that pool. Pinned and affinity-keyed tasks ignore weights.
 */
export function pickAgent(
  task: TaskRecord,
  candidates: AgentRecord[],
  strategy: RoutingStrategy,
  rrCounter: { n: number },
  weights?: readonly PoolWeight[],
  random: () => number = Math.random,
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
  if (weights !== undefined && weights.length > 0 && pool.length > 1 && !(strategy === 'affinity' && task.options.routing?.affinityKey)) {
    pool = byWeight(pool, weights, random);
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

/** The candidates of the pool chosen by weight; all of them when no weighted pool has one. */
function byWeight(candidates: AgentRecord[], weights: readonly PoolWeight[], random: () => number): AgentRecord[] {
  const groups = new Map<string, AgentRecord[]>();
  for (const a of candidates) {
    const p = agentPool(a);
    if (p === undefined) continue;
    const g = groups.get(p);
    if (g) g.push(a);
    else groups.set(p, [a]);
  }
  if (groups.size === 0) return candidates;
  const chosen = pickPoolByWeight(weights, random(), (p) => groups.has(p));
  return chosen === undefined ? candidates : groups.get(chosen)!;
}
