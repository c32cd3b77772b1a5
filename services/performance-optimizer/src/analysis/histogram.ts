/**
 * Log-scale histograms of durations. Bin b holds values in [G^b − 1, G^(b+1) − 1) ms with
 * G = 1.05, so any percentile read from a histogram is within ±2.5 % of the exact one, and a
 * histogram of a whole day of samples has at most ~350 bins. Stored sparse (`{bin: count}`,
 * jsonb in `performance.sample_rollups`) and merged by addition, so rollups of any
 * granularity add up exactly.
 */
export const HIST_GROWTH = 1.05;
const LOG_G = Math.log(HIST_GROWTH);

/** A sparse histogram: bin → count. */
export type Hist = Map<number, number>;

export function binOf(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.floor(Math.log1p(ms) / LOG_G);
}

/** The representative value of a bin (geometric middle of its bounds). */
export function binValue(bin: number): number {
  if (bin <= 0) return 0;
  return Math.exp((bin + 0.5) * LOG_G) - 1;
}

export function histAdd(h: Hist, bin: number, count = 1): void {
  h.set(bin, (h.get(bin) ?? 0) + count);
}

export function histMerge(into: Hist, from: Hist): Hist {
  for (const [b, c] of from) into.set(b, (into.get(b) ?? 0) + c);
  return into;
}

export function histCount(h: Hist): number {
  let n = 0;
  for (const c of h.values()) n += c;
  return n;
}

/** From the jsonb form (`{"12": 3}`). */
export function histFromJson(v: unknown): Hist {
  const h: Hist = new Map();
  if (typeof v !== 'object' || v === null) return h;
  for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
    const b = Number(k);
    const n = Number(c);
    if (Number.isInteger(b) && Number.isFinite(n) && n > 0) h.set(b, n);
  }
  return h;
}

export function histToJson(h: Hist): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [b, c] of h) if (c > 0) out[String(b)] = c;
  return out;
}

/** Nearest-rank quantile (0..1) of the histogram; null when empty. */
export function histQuantile(h: Hist, q: number): number | null {
  const n = histCount(h);
  if (n === 0) return null;
  const bins = [...h.keys()].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (const b of bins) {
    seen += h.get(b)!;
    if (seen >= rank) return binValue(b);
  }
  return binValue(bins[bins.length - 1]!);
}

export function histMax(h: Hist): number | null {
  let max = -1;
  for (const [b, c] of h) if (c > 0 && b > max) max = b;
  return max < 0 ? null : binValue(max);
}

/** Mean and standard deviation of ln(value) over the histogram (for the routing bandit). */
export function histLogMoments(h: Hist): { n: number; mean: number; sd: number } {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (const [b, c] of h) {
    const x = Math.log(Math.max(binValue(b), 0.5));
    n += c;
    sum += c * x;
    sq += c * x * x;
  }
  if (n === 0) return { n: 0, mean: 0, sd: 0 };
  const mean = sum / n;
  const variance = Math.max(0, sq / n - mean * mean);
  return { n, mean, sd: Math.sqrt(variance) };
}

/** Rounds for display: 2 decimals. */
export function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
