/** Small statistics for the benchmark's samples. */

/** The middle value (mean of the two middle values for an even count); NaN for none. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The q-quantile by linear interpolation between closest ranks (q in [0, 1]). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

/**
 * A distribution-free 95 % confidence interval of the median: the order statistics at ranks
 * n/2 ∓ 1.96·√n/2 (the binomial sign-test interval). It says how far the reported median can be
 * trusted on a noisy machine; [NaN, NaN] below 6 values, where no such interval exists.
 */
export function medianInterval(values: number[]): [number, number] {
  const n = values.length;
  if (n < 6) return [Number.NaN, Number.NaN];
  const sorted = [...values].sort((a, b) => a - b);
  const half = (1.96 * Math.sqrt(n)) / 2;
  const low = Math.max(0, Math.floor(n / 2 - half) - 1);
  const high = Math.min(n - 1, Math.ceil(n / 2 + half));
  return [sorted[low], sorted[high]];
}
