import { defineCommand, defineMessage } from '../definitions/definitions';
import { MeshEventBatch } from '../dto/event.dto';
import {
  AnalyzeReply,
  AnalyzeRequest,
  BaselinesDto,
  BaselinesRequest,
  BottlenecksDto,
  PerformanceOverviewDto,
  PerformanceWindowRequest,
  RecommendationActionRequest,
  RecommendationDto,
  RecommendationPageDto,
  RecommendationsRequest,
  RegressionPageDto,
  RegressionsRequest,
  SlaReportDto,
  type PoolWeightDto,
} from '../dto/performance.dto';
import { eventSubject, KV_BUCKETS, STREAMS } from '../subjects/subjects';

/** Queries and actions answered by the performance optimizer (`swarm.cmd.performance-optimizer.perf.*`). */
export const PerformanceCommands = {
  baselines: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.baselines',
    request: BaselinesRequest,
    reply: BaselinesDto,
    timeoutMs: 10_000,
    description: 'Baselines (p50/p95/p99 run time, success rate, cost per task) per capability × provider × agent over a sliding window.',
  }),
  regressions: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.regressions',
    request: RegressionsRequest,
    reply: RegressionPageDto,
    description: 'Detected regressions with their statistical evidence, newest first.',
  }),
  bottlenecks: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.bottlenecks',
    request: PerformanceWindowRequest,
    reply: BottlenecksDto,
    timeoutMs: 10_000,
    description: 'Where time goes per capability and workflow; saturated capabilities and pools; slow or failing agents.',
  }),
  sla: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.sla',
    request: PerformanceWindowRequest,
    reply: SlaReportDto,
    timeoutMs: 10_000,
    description: 'Deadline compliance per tenant, capability and workflow; the latest misses, explained.',
  }),
  recommendations: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.recommendations.list',
    request: RecommendationsRequest,
    reply: RecommendationPageDto,
    description: 'Recommendations (open, applied, reverted, …), newest first.',
  }),
  recommendation: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.recommendations.get',
    request: RecommendationActionRequest,
    reply: RecommendationDto,
    description: 'Read one recommendation.',
  }),
  apply: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.recommendations.apply',
    request: RecommendationActionRequest,
    reply: RecommendationDto,
    timeoutMs: 10_000,
    description: 'Apply an open recommendation; the change is recorded with its before/after.',
  }),
  revert: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.recommendations.revert',
    request: RecommendationActionRequest,
    reply: RecommendationDto,
    timeoutMs: 10_000,
    description: 'Undo an applied recommendation: restore what was in force before it.',
  }),
  analyze: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.analyze',
    request: AnalyzeRequest,
    reply: AnalyzeReply,
    timeoutMs: 30_000,
    description: 'Run one analysis cycle now (baselines, regressions, recommendations, tuning) and report what it found.',
  }),
  overview: defineCommand({
    service: 'performance-optimizer',
    command: 'perf.overview',
    request: PerformanceWindowRequest,
    reply: PerformanceOverviewDto,
    description: 'Real-time throughput, latency and success from the events ingested in the last window (default 60 s).',
  }),
} as const;

/**
 * Facts from the optimizer on the EVENTS stream (`performance.regression_detected`,
 * `performance.regression_resolved`, `performance.recommendation_created`,
 * `performance.change_applied`, `performance.change_reverted`).
 */
export const PerformanceEventMessages = {
  facts: defineMessage({
    name: 'events.performance',
    subject: eventSubject('performance', 'batch'),
    payload: MeshEventBatch,
    stream: STREAMS.EVENTS,
    maxPayloadBytes: 1024 * 1024,
    traced: true,
    description: 'Performance optimizer facts: regressions, recommendations, applied and reverted changes.',
  }),
} as const;

/**
 * Where the optimizer publishes its tuning (NATS KV, namespaced like every bucket; one key
 * per tenant, value = JSON of the DTO). See docs/ROUTING-WEIGHTS.md.
 */
export const TUNING_KV = {
  /** `TimeoutTableDto`, watched by the coordinator (TaskTuning). */
  timeouts: KV_BUCKETS.TIMEOUTS,
  /** `RoutingWeightsDto`, watched by the coordinator (pool choice among same-capability pools and agents). */
  routingWeights: KV_BUCKETS.ROUTING_WEIGHTS,
} as const;

/**
 * Picks a pool by weight (what a consumer of `RoutingWeightsDto` does among the pools that
 * can take the task now). `eligible` filters pools (capacity, quota); weights of the remaining
 * pools are renormalised; undefined when none remains. `random` in [0, 1).
 */
export function pickPoolByWeight(
  pools: readonly Pick<PoolWeightDto, 'pool' | 'weight'>[],
  random: number,
  eligible: (pool: string) => boolean = () => true,
): string | undefined {
  let total = 0;
  for (const p of pools) if (p.weight > 0 && eligible(p.pool)) total += p.weight;
  if (total <= 0) return undefined;
  let x = random * total;
  let last: string | undefined;
  for (const p of pools) {
    if (p.weight <= 0 || !eligible(p.pool)) continue;
    last = p.pool;
    x -= p.weight;
    if (x < 0) return p.pool;
  }
  return last;
}
