/**
 * Quantiles of a list of numbers by the nearest-rank method on the sorted values: the q-quantile
 * is the value at rank ⌈q·n⌉ (1-based), so it is always one of the inputs. `q` is clamped to
 * [0, 1]; an empty list gives `NaN` for every quantile. The input is not modified.
 *
 * @example
 * ```ts
 * quantiles([0.1, 0.2, 0.15, 0.8, 0.3, 0.5, 1.2, 0.4], [0.5, 0.95, 0.99]); // [0.3, 1.2, 1.2]
 * ```
 */
export function quantiles(values: readonly number[], qs: readonly number[]): number[] {
  if (values.length === 0) return qs.map(() => Number.NaN);
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return qs.map((q) => {
    const clamped = Math.min(1, Math.max(0, q));
    const rank = Math.max(1, Math.ceil(clamped * n));
    return sorted[rank - 1];
  });
}

/**
 * Apdex score of response times against a target `T` (same unit as the samples): satisfied
 * (≤ T) count fully, tolerating (≤ 4T) count half, frustrated count nothing.
 * `score = (satisfied + tolerating / 2) / total`; no samples gives 1.
 *
 * @example
 * ```ts
 * apdex([0.1, 0.2, 0.15, 0.8, 0.3, 0.5, 1.2, 0.4], 0.5); // 0.875
 * ```
 */
export function apdex(samples: readonly number[], T: number): number {
  if (!(T > 0)) throw new TypeError(`vigil: apdex threshold must be a positive number, got ${T}`);
  if (samples.length === 0) return 1;
  let satisfied = 0;
  let tolerating = 0;
  const frustratedAbove = 4 * T;
  for (const t of samples) {
    if (t <= T) satisfied++;
    else if (t <= frustratedAbove) tolerating++;
  }
  return apdexScore(satisfied, tolerating, samples.length);
}

/** Apdex from counts; 1 when there is nothing to judge. */
export function apdexScore(satisfied: number, tolerating: number, total: number): number {
  return total === 0 ? 1 : (satisfied + tolerating / 2) / total;
}
