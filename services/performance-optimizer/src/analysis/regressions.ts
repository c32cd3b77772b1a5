import type { RegressionEvidenceDto, Severity } from '@swarm-mesh/contracts';
import { histCount, histQuantile, round2 } from './histogram';
import type { Agg } from './rollups';
import { failureRateIncrease, mannWhitneyGreater } from './stats';

/** Thresholds of the regression tests (OPTIMIZER_REGRESSION_*). */
export interface RegressionOptions {
  recentSamples: number;
  minBaseline: number;
  alpha: number;
  minEffect: number;
  minRateDrop: number;
}

/** The newest attempts of one key (newest first). */
export interface RecentWindow {
  /** Run times of the newest successful attempts. */
  runMs: number[];
  runFrom: number;
  runTo: number;
  /** Outcomes of the newest attempts that succeeded, failed or timed out. */
  attempts: number;
  failures: number;
  attemptsFrom: number;
  attemptsTo: number;
  /** Older successful run times of the key among the samples read ([ms, at]), newest first: part of the baseline. */
  olderRuns: Array<[number, number]>;
  /** Older attempts of the key among the samples read ([succeeded, at]), newest first. */
  olderAttempts: Array<[boolean, number]>;
}

export interface Verdict {
  /** Significant and large enough: a regression. */
  regressed: boolean;
  /** Clearly back to normal (an active regression resolves). */
  recovered: boolean;
  severity: Severity;
  evidence: RegressionEvidenceDto;
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Run time: one-sided Mann–Whitney U of the newest `recentSamples` successful run times
 * against the baseline's histogram, plus an effect-size gate (ratio of means ≥ minEffect), so
 * a tiny but significant drift on a busy capability is not flagged. Null without enough data.
 */
export function checkRunTime(
  recent: RecentWindow,
  baseline: Agg,
  baselineFrom: number,
  baselineTo: number,
  o: RegressionOptions,
): Verdict | null {
  if (recent.runMs.length < o.recentSamples || baseline.runN < o.minBaseline || histCount(baseline.runHist) === 0) return null;
  const values = recent.runMs.slice(0, o.recentSamples);
  const mw = mannWhitneyGreater(values, baseline.runHist);
  if (!mw) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const recentMean = values.reduce((s, v) => s + v, 0) / values.length;
  const baselineMean = baseline.runSum / baseline.runN;
  const effect = baselineMean > 0 ? recentMean / baselineMean : recentMean > 0 ? Infinity : 1;
  const regressed = mw.pValue < o.alpha && effect >= o.minEffect;
  const recovered = mw.pValue >= 0.05 || effect < 1 + (o.minEffect - 1) / 2;
  return {
    regressed,
    recovered,
    severity: effect >= 3 ? 'high' : effect >= 2 ? 'medium' : 'low',
    evidence: {
      test: 'mann-whitney-u',
      recentSamples: values.length,
      baselineSamples: mw.n2,
      recentValue: round2(exactQuantile(sorted, 0.5)),
      baselineValue: round2(histQuantile(baseline.runHist, 0.5) ?? 0),
      recentP95Ms: round2(exactQuantile(sorted, 0.95)),
      baselineP95Ms: round2(histQuantile(baseline.runHist, 0.95) ?? 0),
      effect: Number.isFinite(effect) ? round2(effect) : 1e9,
      probabilityOfSuperiority: Math.round(mw.probabilityOfSuperiority * 10_000) / 10_000,
      statistic: round2(mw.u),
      z: round2(mw.z),
      pValue: clampP(mw.pValue),
      alpha: o.alpha,
      recentFrom: new Date(recent.runFrom).toISOString(),
      recentTo: new Date(recent.runTo).toISOString(),
      baselineFrom: new Date(baselineFrom).toISOString(),
      baselineTo: new Date(baselineTo).toISOString(),
    },
  };
}

/**
 * Success rate: one-sided two-proportion z test of the newest `recentSamples` attempts
 * against the baseline, plus a gate on the drop (≥ minRateDrop).
 */
export function checkSuccessRate(
  recent: RecentWindow,
  baseline: Agg,
  baselineFrom: number,
  baselineTo: number,
  o: RegressionOptions,
): Verdict | null {
  const baseN = baseline.succeeded + baseline.failed + baseline.timedOut;
  if (recent.attempts < o.recentSamples || baseN < o.minBaseline) return null;
  const baseFailures = baseline.failed + baseline.timedOut;
  const test = failureRateIncrease(recent.failures, recent.attempts, baseFailures, baseN);
  if (!test) return null;
  const recentRate = 1 - recent.failures / recent.attempts;
  const baseRate = 1 - baseFailures / baseN;
  const drop = baseRate - recentRate;
  const regressed = test.pValue < o.alpha && drop >= o.minRateDrop;
  const recovered = test.pValue >= 0.05 || drop < o.minRateDrop / 2;
  return {
    regressed,
    recovered,
    severity: drop >= 0.5 ? 'high' : drop >= 0.25 ? 'medium' : 'low',
    evidence: {
      test: 'two-proportion-z',
      recentSamples: recent.attempts,
      baselineSamples: baseN,
      recentValue: Math.round(recentRate * 10_000) / 10_000,
      baselineValue: Math.round(baseRate * 10_000) / 10_000,
      effect: Math.round(drop * 10_000) / 10_000,
      statistic: recent.failures,
      z: round2(test.z),
      pValue: clampP(test.pValue),
      alpha: o.alpha,
      recentFrom: new Date(recent.attemptsFrom).toISOString(),
      recentTo: new Date(recent.attemptsTo).toISOString(),
      baselineFrom: new Date(baselineFrom).toISOString(),
      baselineTo: new Date(baselineTo).toISOString(),
    },
  };
}

function clampP(p: number): number {
  if (!Number.isFinite(p)) return 1;
  return Math.min(1, Math.max(0, Number(p.toPrecision(4))));
}

/** Builds the recent windows of each key from the newest raw samples (newest first). */
export function recentWindows<K>(
  samples: ReadonlyArray<{ outcome: string; runMs: number | null; at: number }>,
  keyOf: (i: number) => K | undefined,
  size: number,
): Map<K, RecentWindow> {
  const out = new Map<K, RecentWindow>();
  samples.forEach((s, i) => {
    const k = keyOf(i);
    if (k === undefined) return;
    let w = out.get(k);
    if (!w) {
      w = {
        runMs: [],
        runFrom: s.at,
        runTo: s.at,
        attempts: 0,
        failures: 0,
        attemptsFrom: s.at,
        attemptsTo: s.at,
        olderRuns: [],
        olderAttempts: [],
      };
      out.set(k, w);
    }
    if (s.outcome === 'succeeded' && s.runMs !== null) {
      if (w.runMs.length < size) {
        if (w.runMs.length === 0) w.runTo = s.at;
        w.runMs.push(s.runMs);
        w.runFrom = s.at;
      } else {
        w.olderRuns.push([s.runMs, s.at]);
      }
    }
    if (s.outcome === 'succeeded' || s.outcome === 'failed' || s.outcome === 'timed_out') {
      if (w.attempts < size) {
        if (w.attempts === 0) w.attemptsTo = s.at;
        w.attempts++;
        if (s.outcome !== 'succeeded') w.failures++;
        w.attemptsFrom = s.at;
      } else {
        w.olderAttempts.push([s.outcome === 'succeeded', s.at]);
      }
    }
  });
  return out;
}
