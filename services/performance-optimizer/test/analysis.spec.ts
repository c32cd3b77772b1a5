import { binOf, binValue, type Hist, histAdd, histQuantile } from '../src/analysis/histogram';
import { checkRunTime, checkSuccessRate, type RecentWindow, recentWindows } from '../src/analysis/regressions';
import { type Agg, emptyAgg } from '../src/analysis/rollups';
import { mannWhitneyGreater, normalSf, seededRandom } from '../src/analysis/stats';
import { armOf, banditWeights, maxWeightChange, proposeScaleUp, proposeTimeout, timeoutChangeWanted } from '../src/analysis/tuning-rules';

const OPTS = { recentSamples: 20, minBaseline: 50, alpha: 0.001, minEffect: 1.3, minRateDrop: 0.1 };

function histOf(values: number[]): Hist {
  const h: Hist = new Map();
  for (const v of values) histAdd(h, binOf(v));
  return h;
}

function aggOf(values: number[], failures = 0): Agg {
  const a = emptyAgg();
  a.runHist = histOf(values);
  a.runN = values.length;
  a.runSum = values.reduce((s, v) => s + v, 0);
  a.succeeded = values.length;
  a.failed = failures;
  a.attempts = values.length + failures;
  return a;
}

function uniform(random: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + random() * (hi - lo));
}

function recentOf(values: number[], failures = 0): RecentWindow {
  return {
    runMs: values,
    runFrom: 1000,
    runTo: 2000,
    attempts: values.length + failures,
    failures,
    attemptsFrom: 1000,
    attemptsTo: 2000,
    olderRuns: [],
    olderAttempts: [],
  };
}

describe('log-scale histograms', () => {
  it('read percentiles within 2.5 % of the exact ones', () => {
    const random = seededRandom(7);
    const values = uniform(random, 5000, 20, 2000).sort((a, b) => a - b);
    const h = histOf(values);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      expect(Math.abs(histQuantile(h, q)! - exact) / exact).toBeLessThan(0.025);
    }
  });

  it('maps a value into the bin whose value is closest in ratio', () => {
    for (const v of [1, 9, 100, 12_345, 3_600_000]) expect(Math.abs(binValue(binOf(v)) - v) / v).toBeLessThan(0.05);
    expect(binOf(0)).toBe(0);
  });
});

describe('statistics', () => {
  it('normal upper tail', () => {
    expect(normalSf(0)).toBeCloseTo(0.5, 6);
    expect(normalSf(1.959964)).toBeCloseTo(0.025, 5);
    expect(normalSf(-1.959964)).toBeCloseTo(0.975, 5);
    expect(normalSf(3.090232)).toBeCloseTo(0.001, 5);
  });

  it('Mann–Whitney U matches the textbook normal approximation', () => {
    const base = Array.from({ length: 10 }, (_, i) => 100 * (i + 1)); // 100..1000
    const slow = Array.from({ length: 10 }, (_, i) => 1000 + 100 * (i + 1)); // 1100..2000
    const r = mannWhitneyGreater(slow, histOf(base))!;
    expect(r.u).toBe(100);
    expect(r.probabilityOfSuperiority).toBe(1);
    // z = (100 − 50 − 0.5) / sqrt(10·10·21/12)
    expect(r.z).toBeCloseTo(49.5 / Math.sqrt(175), 3);
    expect(r.pValue).toBeCloseTo(normalSf(49.5 / Math.sqrt(175)), 6);
    expect(mannWhitneyGreater(base, histOf(slow))!.pValue).toBeGreaterThan(0.99);
  });
});

describe('regression detection', () => {
  const random = seededRandom(42);
  const baseline = aggOf(uniform(random, 300, 50, 150));

  it('flags no regression on an unchanged distribution (200 trials at α = 0.001)', () => {
    let flagged = 0;
    for (let t = 0; t < 200; t++) {
      const v = checkRunTime(recentOf(uniform(random, 20, 50, 150)), baseline, 0, 1, OPTS)!;
      if (v.regressed) flagged++;
    }
    expect(flagged).toBe(0);
  });

  it('flags a 3× slowdown within the recent window, with its evidence', () => {
    // slow samples arrive one by one into the newest-first window of 20
    let detectedAfter: number | null = null;
    for (let k = 1; k <= 20 && detectedAfter === null; k++) {
      const window = [...uniform(random, k, 150, 450), ...uniform(random, 20 - k, 50, 150)];
      if (checkRunTime(recentOf(window), baseline, 0, 1, OPTS)!.regressed) detectedAfter = k;
    }
    expect(detectedAfter).not.toBeNull();
    expect(detectedAfter!).toBeLessThanOrEqual(14);
    const all = checkRunTime(recentOf(uniform(random, 20, 150, 450)), baseline, 0, 1, OPTS)!;
    expect(all.regressed).toBe(true);
    expect(all.severity).toBe('high');
    expect(all.evidence).toMatchObject({ test: 'mann-whitney-u', recentSamples: 20, baselineSamples: 300, alpha: 0.001 });
    expect(all.evidence.pValue).toBeLessThan(1e-6);
    expect(all.evidence.effect).toBeGreaterThan(2.5);
    expect(all.evidence.recentValue / all.evidence.baselineValue).toBeGreaterThan(2.5);
  });

  it('does not flag a significant but small slowdown (effect-size gate)', () => {
    const v = checkRunTime(recentOf(uniform(random, 20, 60, 180)), baseline, 0, 1, OPTS)!;
    expect(v.evidence.effect).toBeLessThan(1.5);
    expect(v.regressed).toBe(false);
  });

  it('needs enough samples on both sides', () => {
    expect(checkRunTime(recentOf(uniform(random, 10, 150, 450)), baseline, 0, 1, OPTS)).toBeNull();
    expect(checkRunTime(recentOf(uniform(random, 20, 150, 450)), aggOf(uniform(random, 30, 50, 150)), 0, 1, OPTS)).toBeNull();
  });

  it('flags a success-rate drop with a two-proportion test', () => {
    const base = aggOf(uniform(random, 300, 50, 150), 3);
    const bad = checkSuccessRate(recentOf(uniform(random, 10, 50, 150), 10), base, 0, 1, OPTS)!;
    expect(bad.regressed).toBe(true);
    expect(bad.evidence.test).toBe('two-proportion-z');
    expect(bad.evidence.recentValue).toBe(0.5);
    expect(checkSuccessRate(recentOf(uniform(random, 19, 50, 150), 1), base, 0, 1, OPTS)!.regressed).toBe(false);
  });

  it('builds per-key recent windows from newest-first samples', () => {
    const samples = [
      { outcome: 'succeeded', runMs: 10, at: 5, k: 'a' },
      { outcome: 'failed', runMs: 3, at: 4, k: 'a' },
      { outcome: 'succeeded', runMs: 20, at: 3, k: 'b' },
      { outcome: 'succeeded', runMs: 30, at: 2, k: 'a' },
      { outcome: 'lost', runMs: null, at: 1, k: 'a' },
    ];
    const w = recentWindows(samples, (i) => samples[i]!.k, 2);
    expect(w.get('a')).toEqual({
      runMs: [10, 30],
      runFrom: 2,
      runTo: 5,
      attempts: 2,
      failures: 1,
      attemptsFrom: 4,
      attemptsTo: 5,
      olderRuns: [],
      olderAttempts: [[true, 2]],
    });
    expect(w.get('b')!.runMs).toEqual([20]);
  });
});

describe('tuning rules', () => {
  const random = seededRandom(3);
  const rule = { k: 3, floorMs: 100, ceilingMs: 10_000, minSamples: 200, hysteresis: 0.1 };

  it('learns clamp(p99 × k, floor, ceiling) once there are enough samples', () => {
    const values = uniform(random, 1000, 50, 200).sort((a, b) => a - b);
    const exactP99 = values[Math.ceil(0.99 * values.length) - 1]!;
    const p = proposeTimeout(aggOf(values), rule)!;
    expect(Math.abs(p.startToCloseMs - exactP99 * 3) / (exactP99 * 3)).toBeLessThan(0.03);
    expect(proposeTimeout(aggOf(values.slice(0, 100)), rule)).toBeNull();
    expect(proposeTimeout(aggOf(uniform(random, 300, 1, 5)), rule)!.startToCloseMs).toBe(100);
    expect(proposeTimeout(aggOf(uniform(random, 300, 9000, 9500)), rule)!.startToCloseMs).toBe(10_000);
    expect(timeoutChangeWanted(null, 500, 0.1)).toBe(true);
    expect(timeoutChangeWanted(500, 540, 0.1)).toBe(false);
    expect(timeoutChangeWanted(500, 600, 0.1)).toBe(true);
  });

  it('routes traffic away from a slow pool, keeping an exploration share', () => {
    const fast = armOf('sim-a', aggOf(uniform(random, 200, 50, 150)));
    const slow = armOf('sim-b', aggOf(uniform(random, 40, 150, 450)));
    const w = banditWeights([fast, slow], { minSamples: 10, exploration: 0.05, costWeight: 0.5 }, 'x');
    expect(w.find((x) => x.pool === 'sim-a')!.weight).toBeGreaterThanOrEqual(0.9);
    expect(w.find((x) => x.pool === 'sim-b')!.weight).toBeCloseTo(0.05, 2);
    expect(w.reduce((s, x) => s + x.weight, 0)).toBeCloseTo(1, 3);
    expect(maxWeightChange(null, w)).toBeGreaterThan(0.4);
  });

  it('splits evenly-ish between equal pools and prefers the cheaper of two equally fast ones', () => {
    const a = armOf('a', aggOf(uniform(random, 200, 50, 150)));
    const b = armOf('b', aggOf(uniform(random, 200, 50, 150)));
    const even = banditWeights([a, b], { minSamples: 10, exploration: 0.05, costWeight: 0.5 }, 'y');
    for (const x of even) expect(x.weight).toBeGreaterThan(0.15);
    const cheap = { ...a, costPerTaskUsd: 0.001 };
    const dear = { ...b, meanLogMs: a.meanLogMs, sdLogMs: a.sdLogMs, costPerTaskUsd: 0.004 };
    const w = banditWeights([cheap, dear], { minSamples: 10, exploration: 0.05, costWeight: 0.5 }, 'z');
    expect(w[0]!.weight).toBeGreaterThan(0.9);
  });

  it('sizes a scale-up from arrivals, run time and the target utilisation', () => {
    const p = proposeScaleUp({
      queued: 50,
      oldestQueuedAgeMs: 2000,
      freeSlots: 0,
      running: 8,
      agents: 2,
      slots: 8,
      throughputPerS: 20,
      meanRunMs: 400,
      targetUtilisation: 0.7,
    })!;
    // arrivals 20 + 50/2 = 45/s; busy slots 45 × 0.4 = 18; 18 / (0.7 × 4) → 7 agents
    expect(p).toMatchObject({ addAgents: 5, targetAgents: 7, estimatedArrivalPerS: 45, capacityPerS: 20 });
    expect(p.utilisationAfter).toBeLessThanOrEqual(0.7);
    expect(
      proposeScaleUp({
        queued: 50,
        oldestQueuedAgeMs: 1,
        freeSlots: 2,
        running: 6,
        agents: 2,
        slots: 8,
        throughputPerS: 1,
        meanRunMs: 10,
        targetUtilisation: 0.7,
      }),
    ).toBeNull();
  });
});
