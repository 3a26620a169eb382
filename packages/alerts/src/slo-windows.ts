import { performance } from 'node:perf_hooks';
import { onExchangeEnd, type Exchange } from '@vigil/core';

/**
 * Options of `SloWindows`.
 *
 * @example
 * ```ts
 * const o: SloWindowsOptions = { maxWindowMs: 3 * 86_400_000, fineBucketMs: 10_000 };
 * ```
 */
export interface SloWindowsOptions {
  /** Longest window that can be read, ms (default 3 days). */
  maxWindowMs?: number;
  /** Bucket size of the fine ring (windows up to `fineSpanMs`), ms (default 10 s). */
  fineBucketMs?: number;
  /** Longest window read from the fine ring, ms (default 6 h). */
  fineSpanMs?: number;
  /** Bucket size of the coarse ring (longer windows), ms (default 5 min). */
  coarseBucketMs?: number;
  /** Most routes tracked on their own (default 50); only routes a rule names are tracked. */
  maxRoutes?: number;
  /** Clock in epoch ms (default `Date.now`). */
  now?: () => number;
}

/**
 * Counts of a window.
 *
 * @example
 * ```ts
 * const c: WindowCounts = slo.counts(3_600_000); // { count: 1200, errors: 3, errorRatio: 0.0025 }
 * ```
 */
export interface WindowCounts {
  count: number;
  errors: number;
  /** errors / count, 0 when empty. */
  errorRatio: number;
}

/** Requests and errors per time slot in a fixed ring: memory does not depend on traffic. */
class CountRing {
  private readonly periods: Float64Array;
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  constructor(readonly bucketMs: number, readonly slots: number) {
    this.periods = new Float64Array(slots).fill(-1);
    this.counts = new Float64Array(slots);
    this.errors = new Float64Array(slots);
  }
  record(error: boolean, at: number): void {
    const period = Math.floor(at / this.bucketMs);
    const i = period % this.slots;
    if (this.periods[i] !== period) {
      if (this.periods[i] > period) return;
      this.periods[i] = period;
      this.counts[i] = 0;
      this.errors[i] = 0;
    }
    this.counts[i]++;
    if (error) this.errors[i]++;
  }
  sum(windowMs: number, at: number, out: WindowCounts): WindowCounts {
    const current = Math.floor(at / this.bucketMs);
    const span = Math.min(this.slots, Math.max(1, Math.ceil(windowMs / this.bucketMs)));
    let count = 0;
    let errors = 0;
    for (let p = current - span + 1; p <= current; p++) {
      const i = ((p % this.slots) + this.slots) % this.slots;
      if (this.periods[i] === p) {
        count += this.counts[i];
        errors += this.errors[i];
      }
    }
    out.count = count;
    out.errors = errors;
    out.errorRatio = count === 0 ? 0 : errors / count;
    return out;
  }
}

class KeyRings {
  readonly fine: CountRing;
  readonly coarse: CountRing;
  constructor(o: Required<Omit<SloWindowsOptions, 'now' | 'maxRoutes'>>) {
    this.fine = new CountRing(o.fineBucketMs, Math.ceil(o.fineSpanMs / o.fineBucketMs));
    this.coarse = new CountRing(o.coarseBucketMs, Math.ceil(o.maxWindowMs / o.coarseBucketMs));
  }
  record(error: boolean, at: number): void {
    this.fine.record(error, at);
    this.coarse.record(error, at);
  }
}

/**
 * Long rolling windows of request and error counts (no latency), for error budgets: burn rates
 * over 5 m … 3 d. The core `trafficWindows()` keep latency sketches over short windows (1 m, 5 m,
 * 1 h); keeping sketches for days would cost memory for nothing a burn rate needs, so alerts
 * keeps these counters itself. Two fixed rings per key: 10 s slots up to 6 h, 5 min slots up to
 * 3 d (about 50 KB per key). All traffic is one key; a route gets its own only when a rule names
 * it (`track`). Quiet exchanges (health probes) are left out, and an error is any outcome that is
 * not `ok`, exactly as in the core windows.
 *
 * @example
 * ```ts
 * const slo = new SloWindows();
 * const stop = slo.attach();            // fed by core onExchangeEnd
 * slo.counts(6 * 3_600_000).errorRatio; // error ratio over the last 6 hours
 * stop();
 * ```
 */
export class SloWindows {
  readonly maxWindowMs: number;
  private readonly options: Required<Omit<SloWindowsOptions, 'now' | 'maxRoutes'>>;
  private readonly now: () => number;
  private readonly all: KeyRings;
  private readonly routes = new Map<string, KeyRings>();
  private readonly maxRoutes: number;
  private readonly scratch: WindowCounts = { count: 0, errors: 0, errorRatio: 0 };

  constructor(options: SloWindowsOptions = {}) {
    const maxWindowMs = options.maxWindowMs ?? 3 * 86_400_000;
    const fineBucketMs = options.fineBucketMs ?? 10_000;
    const fineSpanMs = Math.min(options.fineSpanMs ?? 6 * 3_600_000, maxWindowMs);
    const coarseBucketMs = options.coarseBucketMs ?? 300_000;
    for (const [k, v] of Object.entries({ maxWindowMs, fineBucketMs, fineSpanMs, coarseBucketMs })) {
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new TypeError(`vigil alerts: SloWindows ${k} must be a positive number, got ${v}`);
    }
    if (fineBucketMs > fineSpanMs || coarseBucketMs > maxWindowMs) throw new TypeError('vigil alerts: SloWindows bucket sizes must be smaller than the windows they serve');
    this.maxWindowMs = maxWindowMs;
    this.options = { maxWindowMs, fineBucketMs, fineSpanMs, coarseBucketMs };
    this.now = options.now ?? Date.now;
    this.maxRoutes = options.maxRoutes ?? 50;
    this.all = new KeyRings(this.options);
  }

  /** Keeps counts for `route` on its own from now on (at most `maxRoutes`; returns `false` past it). */
  track(route: string): boolean {
    if (this.routes.has(route)) return true;
    if (this.routes.size >= this.maxRoutes) return false;
    this.routes.set(route, new KeyRings(this.options));
    return true;
  }

  /** Records one request at `at` (epoch ms, default now). */
  record(route: string, error: boolean, at: number = this.now()): void {
    this.all.record(error, at);
    if (this.routes.size > 0) this.routes.get(route)?.record(error, at);
  }

  /** Records a completed exchange (quiet probes are left out). */
  recordExchange(ex: Exchange): void {
    if (ex.quiet) return;
    this.record(ex.route, ex.outcome !== 'ok', performance.timeOrigin + ex.startTime + ex.durationMs);
  }

  /** Subscribes to core `onExchangeEnd`; returns the unsubscribe function. */
  attach(): () => void {
    return onExchangeEnd((ex) => this.recordExchange(ex));
  }

  /**
   * Counts over the last `windowMs` (of all traffic, or of a tracked route). A route never
   * tracked gives `undefined`.
   */
  counts(windowMs: number, route?: string, at: number = this.now()): WindowCounts | undefined {
    if (!(windowMs > 0) || windowMs > this.maxWindowMs) throw new RangeError(`vigil alerts: window ${windowMs} ms is outside (0, ${this.maxWindowMs}]`);
    const rings = route === undefined ? this.all : this.routes.get(route);
    if (rings === undefined) return undefined;
    const ring = windowMs <= this.options.fineSpanMs ? rings.fine : rings.coarse;
    return { ...ring.sum(windowMs, at, this.scratch) };
  }
}
