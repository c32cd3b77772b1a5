import { histLogMoments, histQuantile, round2 } from './histogram';
import { type Agg, successRate } from './rollups';
import { betaDraw, hashString, normalDraw, seededRandom } from './stats';

// ── dynamic timeouts ────────────────────────────────────────────────────────

export interface TimeoutRule {
  k: number;
  floorMs: number;
  ceilingMs: number;
  minSamples: number;
  hysteresis: number;
}

export interface TimeoutProposal {
  startToCloseMs: number;
  p99Ms: number;
  samples: number;
}

/** clamp(p99 × k, floor, ceiling) of the successful run times, once there are enough of them. */
export function proposeTimeout(run: Agg, rule: TimeoutRule): TimeoutProposal | null {
  if (run.runN < rule.minSamples) return null;
  const p99 = histQuantile(run.runHist, 0.99);
  if (p99 === null) return null;
  const ms = Math.round(Math.min(rule.ceilingMs, Math.max(rule.floorMs, p99 * rule.k)));
  return { startToCloseMs: ms, p99Ms: round2(p99), samples: run.runN };
}

/** Whether the proposal differs enough from what is in force (null = nothing) to change it. */
export function timeoutChangeWanted(current: number | null, proposed: number, hysteresis: number): boolean {
  if (current === null) return true;
  return Math.abs(proposed - current) / current > hysteresis;
}

// ── routing weights (bandit) ─────────────────────────────────────────────────

export interface RoutingRule {
  minSamples: number;
  exploration: number;
  costWeight: number;
}

/** What the bandit knows of one pool of a capability. */
export interface PoolArm {
  pool: string;
  attempts: number;
  successes: number;
  failures: number;
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Mean run time of successful attempts (exact). */
  meanMs: number | null;
  meanLogMs: number;
  sdLogMs: number;
  runN: number;
  costPerTaskUsd: number | null;
}

export function armOf(pool: string, a: Agg): PoolArm {
  const m = histLogMoments(a.runHist);
  const p50 = histQuantile(a.runHist, 0.5);
  const p95 = histQuantile(a.runHist, 0.95);
  return {
    pool,
    attempts: a.succeeded + a.failed + a.timedOut,
    successes: a.succeeded,
    failures: a.failed + a.timedOut,
    successRate: successRate(a),
    p50Ms: p50 === null ? null : round2(p50),
    p95Ms: p95 === null ? null : round2(p95),
    meanMs: a.runN > 0 ? round2(a.runSum / a.runN) : null,
    meanLogMs: m.mean,
    sdLogMs: m.sd,
    runN: m.n,
    costPerTaskUsd: a.costN > 0 ? a.costSum / a.costN : null,
  };
}

export interface PoolWeight {
  pool: string;
  weight: number;
  /** Probability that this pool is the best one (Thompson sampling). */
  pBest: number;
}

const DRAWS = 2000;
/** Evidence from this many attempts at most: the posterior stays wide enough to follow change. */
const MAX_EFFECTIVE_N = 200;

/**
 * Thompson-sampling bandit over the pools of one capability. Each pool's utility is
 * `success × 1 / run time × 1 / (1 + costWeight × cost / cheapest cost)`, with a Beta
 * posterior on success and a normal posterior on the mean log run time; a pool's weight is the
 * probability that it is the best, mixed with `exploration` (every pool keeps a least share,
 * so a degraded pool's recovery is seen). Deterministic for a given input (seeded draws).
 */
export function banditWeights(arms: readonly PoolArm[], rule: RoutingRule, seedKey: string): PoolWeight[] {
  const random = seededRandom(hashString(seedKey));
  const costs = arms.map((a) => a.costPerTaskUsd).filter((c): c is number => c !== null && c > 0);
  const cheapest = costs.length > 0 ? Math.min(...costs) : null;
  const wins = new Array<number>(arms.length).fill(0);
  for (let d = 0; d < DRAWS; d++) {
    let best = -1;
    let bestU = -Infinity;
    arms.forEach((a, i) => {
      const ns = Math.min(a.successes, MAX_EFFECTIVE_N);
      const nf = Math.min(a.failures, MAX_EFFECTIVE_N);
      const s = betaDraw(1 + ns, 1 + nf, random);
      const n = Math.max(1, Math.min(a.runN, MAX_EFFECTIVE_N));
      const sd = Math.max(a.sdLogMs, 0.05) / Math.sqrt(n);
      const mu = a.runN > 0 ? a.meanLogMs + sd * normalDraw(random) : Math.log(1e6);
      const costFactor = cheapest !== null && a.costPerTaskUsd !== null ? 1 + rule.costWeight * (a.costPerTaskUsd / cheapest - 1) : 1;
      const u = s / Math.exp(mu) / costFactor;
      if (u > bestU) {
        bestU = u;
        best = i;
      }
    });
    if (best >= 0) wins[best]!++;
  }
  const k = arms.length;
  const explore = Math.min(rule.exploration, 1 / k);
  return arms.map((a, i) => {
    const pBest = wins[i]! / DRAWS;
    return { pool: a.pool, pBest: round4(pBest), weight: round4(explore + (1 - k * explore) * pBest) };
  });
}

/** Largest per-pool difference between two weight sets (missing pools count as 0; null = uniform). */
export function maxWeightChange(current: ReadonlyArray<{ pool: string; weight: number }> | null, next: readonly PoolWeight[]): number {
  const before = new Map<string, number>();
  if (current) for (const p of current) before.set(p.pool, p.weight);
  else for (const p of next) before.set(p.pool, 1 / next.length);
  let max = 0;
  const pools = new Set([...before.keys(), ...next.map((p) => p.pool)]);
  for (const pool of pools) {
    const a = before.get(pool) ?? 0;
    const b = next.find((p) => p.pool === pool)?.weight ?? 0;
    max = Math.max(max, Math.abs(a - b));
  }
  return max;
}

/**
 * Expected mean run time, success rate and cost per task of a traffic split (null weights =
 * an even split). Means, not medians: a pool that turned slow for part of the window shows in its
 * mean before it shows in its median.
 */
export function expectedOf(
  weights: ReadonlyArray<{ pool: string; weight: number }> | null,
  arms: readonly PoolArm[],
): { meanRunMs: number | null; successRate: number | null; costPerTaskUsd: number | null } {
  const w = (pool: string): number => (weights ? (weights.find((p) => p.pool === pool)?.weight ?? 0) : 1 / arms.length);
  let total = 0;
  let mean = 0;
  let success = 0;
  let cost = 0;
  let costW = 0;
  for (const a of arms) {
    const x = w(a.pool);
    if (x <= 0 || a.meanMs === null) continue;
    total += x;
    mean += x * a.meanMs;
    success += x * (a.successRate ?? 0);
    if (a.costPerTaskUsd !== null) {
      cost += x * a.costPerTaskUsd;
      costW += x;
    }
  }
  if (total === 0) return { meanRunMs: null, successRate: null, costPerTaskUsd: null };
  return {
    meanRunMs: round2(mean / total),
    successRate: round4(success / total),
    costPerTaskUsd: costW > 0 ? Math.round((cost / costW) * 1e6) / 1e6 : null,
  };
}

function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

// ── scaling ──────────────────────────────────────────────────────────────────

export interface ScaleInput {
  queued: number;
  oldestQueuedAgeMs: number | null;
  freeSlots: number;
  running: number;
  agents: number;
  slots: number;
  /** Attempts completed per second recently. */
  throughputPerS: number;
  meanRunMs: number;
  targetUtilisation: number;
}

export interface ScaleProposal {
  addAgents: number;
  targetAgents: number;
  estimatedArrivalPerS: number;
  capacityPerS: number;
  utilisationNow: number;
  utilisationAfter: number;
  drainSeconds: number | null;
}

/**
 * A capability is saturated when work waits while no slot is free. Arrival rate ≈ what it
 * completes + the backlog built up over the age of the oldest queued task; agents needed so
 * that arrivals use `targetUtilisation` of the slots (Little's law: busy slots = rate × run time).
 */
export function proposeScaleUp(s: ScaleInput): ScaleProposal | null {
  if (s.queued <= 0 || s.freeSlots > 0 || s.agents <= 0 || s.slots <= 0 || s.meanRunMs <= 0) return null;
  const backlogAgeS = Math.max((s.oldestQueuedAgeMs ?? 0) / 1000, 1);
  const arrival = s.throughputPerS + s.queued / backlogAgeS;
  const slotsPerAgent = s.slots / s.agents;
  const busyNeeded = arrival * (s.meanRunMs / 1000);
  const targetAgents = Math.ceil(busyNeeded / (s.targetUtilisation * slotsPerAgent));
  const addAgents = Math.max(1, targetAgents - s.agents);
  const capacityPerS = s.slots / (s.meanRunMs / 1000);
  const newCapacity = ((s.agents + addAgents) * slotsPerAgent) / (s.meanRunMs / 1000);
  return {
    addAgents,
    targetAgents: s.agents + addAgents,
    estimatedArrivalPerS: round2(arrival),
    capacityPerS: round2(capacityPerS),
    utilisationNow: round2(Math.min(arrival / capacityPerS, 99)),
    utilisationAfter: round2(Math.min(arrival / newCapacity, 99)),
    drainSeconds: newCapacity > arrival ? round2(s.queued / (newCapacity - arrival)) : null,
  };
}
