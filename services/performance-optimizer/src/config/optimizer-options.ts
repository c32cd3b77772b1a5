import { bool, type EnvSpec, type EnvValues, int, num } from '@swarm-mesh/service-kit';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Every optimizer setting, with its default. Times are milliseconds so tests can shrink them
 * (TESTING.md). The statistical settings are documented in services/performance-optimizer/README.md.
 */
export const OPTIMIZER_ENV = {
  OPTIMIZER_INGEST_MAX_BATCH: int('Event batches (JetStream messages) folded into one Postgres write', { default: 64, min: 1, max: 5000 }),
  OPTIMIZER_INGEST_GATHER_MS: int(
    'How long an ingest batch waits for more event batches before it is written (less CPU and fewer commits at moderate load; 0 = at once)',
    { default: 100, min: 0, max: 10_000 },
  ),
  OPTIMIZER_INGEST_ACK_WAIT_MS: int('Event batches handed to an optimizer that died are redelivered after this', {
    default: 30_000,
    min: 100,
  }),
  OPTIMIZER_TRACE_SAMPLES: bool('Add a span per ingested sample to the task’s trace (when the event carries a sampled traceparent)', {
    default: true,
  }),
  OPTIMIZER_ROLLUP_BUCKET_MS: int('Width of one rollup bucket (baselines and tuning read rollups)', {
    default: 60_000,
    min: 100,
    max: HOUR,
  }),
  OPTIMIZER_SAMPLE_RETENTION_MS: int('How long raw execution samples are kept', { default: 2 * DAY, min: 1000 }),
  OPTIMIZER_ROLLUP_RETENTION_MS: int('How long rollups are kept', { default: 30 * DAY, min: 1000 }),
  OPTIMIZER_RETENTION_INTERVAL_MS: int('Period of the retention sweep', { default: 60_000, min: 100 }),
  OPTIMIZER_ANALYZE_INTERVAL_MS: int('Period of the analysis cycle (0 = only on demand: perf.analyze)', { default: 10_000, min: 0 }),
  OPTIMIZER_BASELINE_WINDOW_MS: int('Sliding window of baselines and of the regression baseline', { default: HOUR, min: 1000 }),
  OPTIMIZER_ANALYSIS_WINDOW_MS: int('Default window of bottleneck and SLA reports', { default: 15 * 60_000, min: 1000 }),
  OPTIMIZER_OVERVIEW_WINDOW_MS: int('Window of the real-time overview (/swarm/metrics), at most 300 000', {
    default: 60_000,
    min: 1000,
    max: 300_000,
  }),
  OPTIMIZER_REGRESSION_RECENT_SAMPLES: int('Newest samples compared with the baseline', { default: 20, min: 8, max: 1000 }),
  OPTIMIZER_REGRESSION_MIN_BASELINE: int('Samples the baseline needs before a comparison is made', { default: 50, min: 8 }),
  OPTIMIZER_REGRESSION_ALPHA: num('Significance level of the one-sided tests', { default: 0.001, min: 1e-12, max: 0.2 }),
  OPTIMIZER_REGRESSION_MIN_EFFECT: num('Smallest ratio of mean run times (recent / baseline) flagged', { default: 1.3, min: 1 }),
  OPTIMIZER_REGRESSION_MIN_RATE_DROP: num('Smallest success-rate drop flagged (0.1 = 10 points)', { default: 0.1, min: 0, max: 1 }),
  OPTIMIZER_TIMEOUT_K: num('Learned timeout = p99 run time × k …', { default: 3, min: 1, max: 100 }),
  OPTIMIZER_TIMEOUT_FLOOR_MS: int('… never below this …', { default: 1000, min: 1 }),
  OPTIMIZER_TIMEOUT_CEILING_MS: int('… never above this', { default: HOUR, min: 1 }),
  OPTIMIZER_TIMEOUT_MIN_SAMPLES: int('Successful attempts in the baseline window before a timeout is learned', { default: 200, min: 10 }),
  OPTIMIZER_TIMEOUT_HYSTERESIS: num('Relative change needed before a learned timeout is changed', { default: 0.1, min: 0, max: 10 }),
  OPTIMIZER_ROUTING_WINDOW_MS: int('Window the routing bandit learns from', { default: 5 * 60_000, min: 1000 }),
  OPTIMIZER_ROUTING_MIN_SAMPLES: int('Attempts a pool needs in the routing window to be weighed', { default: 30, min: 1 }),
  OPTIMIZER_ROUTING_EXPLORATION: num('Least weight of a pool (keeps sampling a degraded pool so recovery is seen)', {
    default: 0.05,
    min: 0,
    max: 0.5,
  }),
  OPTIMIZER_ROUTING_MIN_CHANGE: num('Largest per-pool weight change needed before weights are republished or recommended', {
    default: 0.15,
    min: 0,
    max: 1,
  }),
  OPTIMIZER_ROUTING_COST_WEIGHT: num('How much cost per task counts against a pool (0 = latency and success only)', {
    default: 0.5,
    min: 0,
    max: 10,
  }),
  OPTIMIZER_SCALE_TARGET_UTILISATION: num('Slot utilisation a scale-up recommendation aims at', { default: 0.7, min: 0.1, max: 1 }),
  OPTIMIZER_RECOMMENDATION_EXPIRY_MS: int('An open recommendation whose condition was not seen for this long expires', {
    default: 10 * 60_000,
    min: 100,
  }),
  OPTIMIZER_REVERT_COOLDOWN_MS: int('After a revert, the same target is neither re-applied nor re-recommended for this long', {
    default: HOUR,
    min: 0,
  }),
} satisfies EnvSpec;

export type OptimizerEnv = EnvValues<typeof OPTIMIZER_ENV>;

/** Resolved optimizer options. */
export interface OptimizerOptions {
  ingestMaxBatch: number;
  ingestAckWaitMs: number;
  /** OPTIMIZER_INGEST_GATHER_MS: a batch's wait for company (0 = at once). */
  ingestGatherMs: number;
  traceSamples: boolean;
  rollupBucketMs: number;
  sampleRetentionMs: number;
  rollupRetentionMs: number;
  retentionIntervalMs: number;
  analyzeIntervalMs: number;
  baselineWindowMs: number;
  analysisWindowMs: number;
  overviewWindowMs: number;
  regression: { recentSamples: number; minBaseline: number; alpha: number; minEffect: number; minRateDrop: number };
  timeouts: { k: number; floorMs: number; ceilingMs: number; minSamples: number; hysteresis: number };
  routing: { windowMs: number; minSamples: number; exploration: number; minChange: number; costWeight: number };
  scaleTargetUtilisation: number;
  recommendationExpiryMs: number;
  revertCooldownMs: number;
}

export function resolveOptimizerOptions(env: OptimizerEnv): OptimizerOptions {
  return {
    ingestMaxBatch: env.OPTIMIZER_INGEST_MAX_BATCH,
    ingestAckWaitMs: env.OPTIMIZER_INGEST_ACK_WAIT_MS,
    ingestGatherMs: env.OPTIMIZER_INGEST_GATHER_MS,
    traceSamples: env.OPTIMIZER_TRACE_SAMPLES,
    rollupBucketMs: env.OPTIMIZER_ROLLUP_BUCKET_MS,
    sampleRetentionMs: env.OPTIMIZER_SAMPLE_RETENTION_MS,
    rollupRetentionMs: Math.max(env.OPTIMIZER_ROLLUP_RETENTION_MS, env.OPTIMIZER_ROLLUP_BUCKET_MS),
    retentionIntervalMs: env.OPTIMIZER_RETENTION_INTERVAL_MS,
    analyzeIntervalMs: env.OPTIMIZER_ANALYZE_INTERVAL_MS,
    baselineWindowMs: env.OPTIMIZER_BASELINE_WINDOW_MS,
    analysisWindowMs: env.OPTIMIZER_ANALYSIS_WINDOW_MS,
    overviewWindowMs: env.OPTIMIZER_OVERVIEW_WINDOW_MS,
    regression: {
      recentSamples: env.OPTIMIZER_REGRESSION_RECENT_SAMPLES,
      minBaseline: env.OPTIMIZER_REGRESSION_MIN_BASELINE,
      alpha: env.OPTIMIZER_REGRESSION_ALPHA,
      minEffect: env.OPTIMIZER_REGRESSION_MIN_EFFECT,
      minRateDrop: env.OPTIMIZER_REGRESSION_MIN_RATE_DROP,
    },
    timeouts: {
      k: env.OPTIMIZER_TIMEOUT_K,
      floorMs: env.OPTIMIZER_TIMEOUT_FLOOR_MS,
      ceilingMs: Math.max(env.OPTIMIZER_TIMEOUT_CEILING_MS, env.OPTIMIZER_TIMEOUT_FLOOR_MS),
      minSamples: env.OPTIMIZER_TIMEOUT_MIN_SAMPLES,
      hysteresis: env.OPTIMIZER_TIMEOUT_HYSTERESIS,
    },
    routing: {
      windowMs: env.OPTIMIZER_ROUTING_WINDOW_MS,
      minSamples: env.OPTIMIZER_ROUTING_MIN_SAMPLES,
      exploration: env.OPTIMIZER_ROUTING_EXPLORATION,
      minChange: env.OPTIMIZER_ROUTING_MIN_CHANGE,
      costWeight: env.OPTIMIZER_ROUTING_COST_WEIGHT,
    },
    scaleTargetUtilisation: env.OPTIMIZER_SCALE_TARGET_UTILISATION,
    recommendationExpiryMs: env.OPTIMIZER_RECOMMENDATION_EXPIRY_MS,
    revertCooldownMs: env.OPTIMIZER_REVERT_COOLDOWN_MS,
  };
}
