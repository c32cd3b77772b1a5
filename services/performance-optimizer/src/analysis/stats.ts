import { binOf, type Hist } from './histogram';

/** Upper tail of the standard normal distribution, P(Z > z) (Abramowitz–Stegun 7.1.26 on erfc, |error| < 1.5e-7). */
export function normalSf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = poly * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** Result of a one-sided Mann–Whitney U test "recent is stochastically greater than baseline". */
export interface MannWhitneyResult {
  /** U of the recent sample. */
  u: number;
  z: number;
  pValue: number;
  /** U / (n₁ n₂): probability that a recent value exceeds a baseline value (ties count half). */
  probabilityOfSuperiority: number;
  n1: number;
  n2: number;
}

/**
 * One-sided Mann–Whitney U test on binned data: the recent values (binned like the baseline)
 * against the baseline histogram. Ties (same bin) count half; the variance carries the tie
 * correction and z the continuity correction. Normal approximation: use with n₁, n₂ ≥ 8.
 */
export function mannWhitneyGreater(recent: readonly number[], baseline: Hist): MannWhitneyResult | null {
  const n1 = recent.length;
  let n2 = 0;
  for (const c of baseline.values()) n2 += c;
  if (n1 === 0 || n2 === 0) return null;
  const r: Hist = new Map();
  for (const v of recent) {
    const b = binOf(v);
    r.set(b, (r.get(b) ?? 0) + 1);
  }
  const bins = [...new Set([...r.keys(), ...baseline.keys()])].sort((a, b) => a - b);
  let below = 0;
  let u = 0;
  let ties = 0;
  for (const b of bins) {
    const rc = r.get(b) ?? 0;
    const bc = baseline.get(b) ?? 0;
    u += rc * (below + bc / 2);
    below += bc;
    const t = rc + bc;
    ties += t * t * t - t;
  }
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  const sd = Math.sqrt(Math.max(variance, 0));
  const z = sd > 0 ? (u - mean - 0.5) / sd : 0;
  return { u, z, pValue: sd > 0 ? normalSf(z) : 1, probabilityOfSuperiority: u / (n1 * n2), n1, n2 };
}

/** One-sided two-proportion z test "recent failure rate is higher than baseline". */
export function failureRateIncrease(
  recentFailures: number,
  recentN: number,
  baselineFailures: number,
  baselineN: number,
): { z: number; pValue: number } | null {
  if (recentN === 0 || baselineN === 0) return null;
  const p1 = recentFailures / recentN;
  const p2 = baselineFailures / baselineN;
  const pooled = (recentFailures + baselineFailures) / (recentN + baselineN);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / recentN + 1 / baselineN));
  if (se === 0) return { z: 0, pValue: p1 > p2 ? 0 : 1 };
  const z = (p1 - p2) / se;
  return { z, pValue: normalSf(z) };
}

/** A small seeded PRNG (mulberry32): the bandit's draws are reproducible per key and cycle. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Standard normal draw (Box–Muller). */
export function normalDraw(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) draw (Marsaglia–Tsang; shape < 1 boosted). */
export function gammaDraw(shape: number, random: () => number): number {
  if (shape < 1) return gammaDraw(shape + 1, random) * Math.pow(Math.max(random(), 1e-12), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normalDraw(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(Math.max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) draw. */
export function betaDraw(a: number, b: number, random: () => number): number {
  const x = gammaDraw(a, random);
  const y = gammaDraw(b, random);
  return x / (x + y);
}
