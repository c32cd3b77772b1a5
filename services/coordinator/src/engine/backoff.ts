/** Delay before retry number `failures` (1-based): the list's entry, the last one repeating, ± jitter. */
export function backoffDelay(backoffMs: readonly number[], failures: number, jitter: number, random: () => number = Math.random): number {
  if (backoffMs.length === 0) return 0;
  const base = backoffMs[Math.min(Math.max(failures, 1), backoffMs.length) - 1]!;
  if (jitter <= 0 || base === 0) return base;
  const spread = base * jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
