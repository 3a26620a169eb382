import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { apdexScore } from './stats';

/**
 * Options of a `RollingWindow`.
 *
 * @example
 * ```ts
 * const options: RollingWindowOptions = { windowMs: 60_000, buckets: 12, apdexThresholdMs: 300 };
 * ```
 */
export interface RollingWindowOptions {
  /** Length of the window in milliseconds (default 60 000). */
  windowMs?: number;
  /** Number of time buckets the window is made of (default 12: 5 s each for 1 minute). */
  buckets?: number;
  /** Relative accuracy of the latency sketch (default 0.01, i.e. 1 %). */
  relativeAccuracy?: number;
  /** Apdex target T in milliseconds (default 500). */
  apdexThresholdMs?: number;
  /** Clock in epoch milliseconds (default `Date.now`), for tests. */
  now?: () => number;
}

/**
 * What a window saw: counts, rates, latency quantiles (ms) and Apdex.
 *
 * @example
 * ```ts
 * const s: WindowStats = window.stats();
 * console.log(s.ratePerSec, s.errorRatio, s.p95, s.apdex);
 * ```
 */
export interface WindowStats {
  windowMs: number;
  count: number;
  errors: number;
  /** Requests per second over the part of the window that has elapsed since the window started. */
  ratePerSec: number;
  /** errors / count (0 when empty). */
  errorRatio: number;
  p50: number;
  p95: number;
  p99: number;
  meanMs: number;
  maxMs: number;
  /** Apdex over the window (1 when empty). */
  apdex: number;
}

type Sketch = LogCollapsingLowestDenseDDSketch;

interface Bucket {
  /** Which bucket period this slot holds (epoch ms / bucketMs), -1 when empty. */
  period: number;
  count: number;
  errors: number;
  satisfied: number;
  tolerating: number;
  sum: number;
  max: number;
  sketch: Sketch | undefined;
}

/** Empties a bucket slot for a new period. */
function resetBucket(bucket: Bucket, period: number): void {
  bucket.period = period;
  bucket.count = 0;
  bucket.errors = 0;
  bucket.satisfied = 0;
  bucket.tolerating = 0;
  bucket.sum = 0;
  bucket.max = 0;
  bucket.sketch = undefined;
}

/** Bins kept per sketch before the lowest are collapsed: bounds memory whatever the traffic. */
const SKETCH_BIN_LIMIT = 1024;

/**
 * Counts and a latency sketch over a sliding window, in fixed time buckets (memory does not grow
 * with traffic). Quantiles come from a DDSketch (`@datadog/sketches-js`) with bounded relative
 * error; Apdex from exact satisfied/tolerating counts.
 *
 * @example
 * ```ts
 * const w = new RollingWindow({ windowMs: 60_000, apdexThresholdMs: 500 });
 * w.record(120, false);
 * w.record(900, true);
 * w.stats().p95;        // ≈ 900
 * w.quantile(0.5);      // ≈ 120
 * ```
 */
export class RollingWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly apdexThresholdMs: number;
  private readonly relativeAccuracy: number;
  private readonly now: () => number;
  private readonly buckets: Bucket[];
  private readonly createdAt: number;
  /** A finer window whose buckets this one absorbs when they are evicted (see `feedFrom`). */
  private feeder: RollingWindow | undefined;
  /** Coarser windows fed by this one. */
  private readonly fed: RollingWindow[] = [];

  constructor(options: RollingWindowOptions = {}) {
    const windowMs = options.windowMs ?? 60_000;
    const bucketCount = options.buckets ?? 12;
    const accuracy = options.relativeAccuracy ?? 0.01;
    const apdexT = options.apdexThresholdMs ?? 500;
    if (!(windowMs > 0)) throw new TypeError(`vigil: RollingWindow windowMs must be positive, got ${windowMs}`);
    if (!Number.isInteger(bucketCount) || bucketCount < 1) throw new TypeError(`vigil: RollingWindow buckets must be a positive integer, got ${bucketCount}`);
    if (!(accuracy > 0 && accuracy < 1)) throw new TypeError(`vigil: RollingWindow relativeAccuracy must be in (0, 1), got ${accuracy}`);
    if (!(apdexT > 0)) throw new TypeError(`vigil: RollingWindow apdexThresholdMs must be positive, got ${apdexT}`);
    this.windowMs = windowMs;
    this.bucketMs = windowMs / bucketCount;
    this.relativeAccuracy = accuracy;
    this.apdexThresholdMs = apdexT;
    this.now = options.now ?? Date.now;
    this.createdAt = this.now();
    this.buckets = Array.from({ length: bucketCount }, () => ({
      period: -1, count: 0, errors: 0, satisfied: 0, tolerating: 0, sum: 0, max: 0, sketch: undefined,
    }));
  }

  /**
   * Records one observation. `at` is its time in epoch ms (default: now); pass it when you already
   * have it, to save a clock read.
   */
  record(durationMs: number, error: boolean, at: number = this.now()): void {
    if (!(durationMs >= 0)) return;
    const period = Math.floor(at / this.bucketMs);
    const bucket = this.buckets[period % this.buckets.length];
    if (bucket.period !== period) {
      if (bucket.period > period) return; // older than what this slot holds now: outside the window
      if (bucket.count > 0 && this.fed.length > 0) this.handDown(bucket);
      resetBucket(bucket, period);
    }
    bucket.count++;
    if (error) bucket.errors++;
    if (durationMs <= this.apdexThresholdMs) bucket.satisfied++;
    else if (durationMs <= 4 * this.apdexThresholdMs) bucket.tolerating++;
    bucket.sum += durationMs;
    if (durationMs > bucket.max) bucket.max = durationMs;
    let sketch = bucket.sketch;
    if (sketch === undefined) {
      sketch = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: this.relativeAccuracy, binLimit: SKETCH_BIN_LIMIT });
      bucket.sketch = sketch;
    }
    sketch.accept(durationMs);
  }

  /**
   * Makes this (longer) window take its observations from `finer` instead of from `record`: each
   * of `finer`'s buckets is folded into this window when `finer` reuses its slot, and until then
   * this window reads it where it lies. One observation then costs one sketch insertion however
   * many windows see it. This window's edges become accurate to one bucket of `finer` (exact when
   * its bucket length is a multiple of `finer`'s, as with the default 1 m / 5 m / 1 h windows).
   * @internal used by `TrafficWindows`; a window fed this way must not also be recorded into.
   */
  feedFrom(finer: RollingWindow): void {
    if (!(finer.bucketMs <= this.bucketMs)) throw new RangeError('vigil: a RollingWindow can only be fed by one with shorter buckets');
    this.feeder = finer;
    finer.fed.push(this);
  }

  /** Folds an evicted bucket into every fed window; the first takes its sketch as it is. */
  private handDown(bucket: Bucket): void {
    const startMs = bucket.period * this.bucketMs;
    for (let i = 0; i < this.fed.length; i++) this.fed[i].absorb(bucket, startMs, i === 0);
  }

  private absorb(from: Bucket, startMs: number, takeSketch: boolean): void {
    const period = Math.floor(startMs / this.bucketMs);
    const bucket = this.buckets[period % this.buckets.length];
    if (bucket.period > period) return; // the slot already holds later data: outside the window
    if (bucket.period !== period) resetBucket(bucket, period);
    bucket.count += from.count;
    bucket.errors += from.errors;
    bucket.satisfied += from.satisfied;
    bucket.tolerating += from.tolerating;
    bucket.sum += from.sum;
    if (from.max > bucket.max) bucket.max = from.max;
    if (from.sketch === undefined) return;
    if (bucket.sketch === undefined && takeSketch) bucket.sketch = from.sketch;
    else {
      if (bucket.sketch === undefined) bucket.sketch = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: this.relativeAccuracy, binLimit: SKETCH_BIN_LIMIT });
      bucket.sketch.merge(from.sketch);
    }
  }

  private liveBuckets(at: number): Bucket[] {
    const current = Math.floor(at / this.bucketMs);
    const oldest = current - this.buckets.length + 1;
    const live = this.buckets.filter((b) => b.period >= oldest && b.period <= current && b.count > 0);
    const feeder = this.feeder;
    if (feeder !== undefined) {
      // the finer window's buckets not yet folded in, inside this window's span
      const fromMs = oldest * this.bucketMs;
      for (const b of feeder.buckets) {
        const startMs = b.period * feeder.bucketMs;
        if (b.count > 0 && startMs >= fromMs && startMs <= at) live.push(b);
      }
    }
    return live;
  }

  private mergedSketch(live: Bucket[]): Sketch | undefined {
    let merged: Sketch | undefined;
    for (const b of live) {
      if (b.sketch === undefined) continue;
      if (merged === undefined) {
        merged = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: this.relativeAccuracy, binLimit: SKETCH_BIN_LIMIT });
      }
      merged.merge(b.sketch);
    }
    return merged;
  }

  /** One latency quantile in ms over the window (`NaN` when empty). */
  quantile(q: number, at: number = this.now()): number {
    const sketch = this.mergedSketch(this.liveBuckets(at));
    return sketch === undefined || sketch.count === 0 ? Number.NaN : sketch.getValueAtQuantile(Math.min(1, Math.max(0, q)));
  }

  /** Everything the window saw, at time `at` (default now). */
  stats(at: number = this.now()): WindowStats {
    const live = this.liveBuckets(at);
    let count = 0;
    let errors = 0;
    let satisfied = 0;
    let tolerating = 0;
    let sum = 0;
    let max = 0;
    for (const b of live) {
      count += b.count;
      errors += b.errors;
      satisfied += b.satisfied;
      tolerating += b.tolerating;
      sum += b.sum;
      if (b.max > max) max = b.max;
    }
    const sketch = count > 0 ? this.mergedSketch(live) : undefined;
    const q = (p: number): number => (sketch === undefined ? Number.NaN : sketch.getValueAtQuantile(p));
    const elapsedMs = Math.min(this.windowMs, Math.max(1000, at - this.createdAt));
    return {
      windowMs: this.windowMs,
      count,
      errors,
      ratePerSec: count / (elapsedMs / 1000),
      errorRatio: count === 0 ? 0 : errors / count,
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      meanMs: count === 0 ? Number.NaN : sum / count,
      maxMs: count === 0 ? Number.NaN : max,
      apdex: apdexScore(satisfied, tolerating, count),
    };
  }
}
