import { performance } from 'node:perf_hooks';
import { CardinalityGuard } from './cardinality-guard';
import { onExchangeEnd } from './exchange';
import { RollingWindow, type WindowStats } from './rolling-window';
import type { Exchange } from './types';

/**
 * Options of `TrafficWindows` (and of the process-wide `trafficWindows()`).
 *
 * @example
 * ```ts
 * const options: TrafficWindowsOptions = { windowsMs: [60_000, 300_000], apdexThresholdMs: 300 };
 * ```
 */
export interface TrafficWindowsOptions {
  /** Window lengths in ms (default 1 m, 5 m, 1 h). */
  windowsMs?: number[];
  /** Buckets per window (default 12). */
  buckets?: number;
  /** Apdex target T in ms (default 500). */
  apdexThresholdMs?: number;
  /** Most routes tracked one by one; the rest share `other` (default 500). */
  maxRoutes?: number;
  /** Relative accuracy of the latency sketches (default 0.01). */
  relativeAccuracy?: number;
  /** Clock in epoch ms, for tests. */
  now?: () => number;
}

/**
 * Windows of one key (a route, or everything). Only the shortest window is recorded into; the
 * longer ones are fed its buckets (`RollingWindow.feedFrom`), so a request costs one sketch
 * insertion per key, not one per window.
 */
class KeyWindows {
  readonly windows: RollingWindow[];
  private readonly finest: RollingWindow;
  constructor(lengths: number[], options: TrafficWindowsOptions) {
    this.windows = lengths.map(
      (windowMs) => new RollingWindow({ windowMs, buckets: options.buckets, apdexThresholdMs: options.apdexThresholdMs, relativeAccuracy: options.relativeAccuracy, now: options.now }),
    );
    this.finest = this.windows[0];
    for (let i = 1; i < this.windows.length; i++) this.windows[i].feedFrom(this.finest);
  }
  record(durationMs: number, error: boolean, at: number): void {
    this.finest.record(durationMs, error, at);
  }
}

/**
 * Rolling windows per route and overall: recent rates, error ratios, latency quantiles and
 * Apdex. Alerts and the dashboard read them; metrics' `apdex()` and `percentiles()` too.
 *
 * @example
 * ```ts
 * const t = new TrafficWindows({ windowsMs: [60_000] });
 * t.record('/users/:id', 12.5, false);
 * t.overall(60_000).ratePerSec;
 * t.route('/users/:id', 60_000)?.p95;
 * ```
 */
export class TrafficWindows {
  /** The window lengths, ms, shortest first. */
  readonly windowsMs: readonly number[];
  readonly apdexThresholdMs: number;
  private readonly options: TrafficWindowsOptions;
  private readonly all: KeyWindows;
  private readonly byRoute = new Map<string, KeyWindows>();
  private readonly guard: CardinalityGuard;
  private readonly now: () => number;

  constructor(options: TrafficWindowsOptions = {}) {
    const lengths = [...(options.windowsMs ?? [60_000, 300_000, 3_600_000])].sort((a, b) => a - b);
    if (lengths.length === 0) throw new TypeError('vigil: TrafficWindows needs at least one window');
    this.windowsMs = lengths;
    this.apdexThresholdMs = options.apdexThresholdMs ?? 500;
    this.options = { ...options, apdexThresholdMs: this.apdexThresholdMs };
    this.now = options.now ?? Date.now;
    this.guard = new CardinalityGuard({ limit: options.maxRoutes ?? 500 });
    this.all = new KeyWindows(lengths, this.options);
  }

  /** Records one request. `at` in epoch ms (default now). */
  record(route: string, durationMs: number, error: boolean, at: number = this.now()): void {
    this.all.record(durationMs, error, at);
    let keyed = this.byRoute.get(route);
    if (keyed === undefined) {
      const admitted = this.guard.admit(route);
      keyed = this.byRoute.get(admitted);
      if (keyed === undefined) {
        keyed = new KeyWindows(this.windowsMs as number[], this.options);
        this.byRoute.set(admitted, keyed);
      }
    }
    keyed.record(durationMs, error, at);
  }

  /** Records a completed exchange (probes marked `quiet` are left out). */
  recordExchange(ex: Exchange): void {
    if (ex.quiet) return;
    this.record(ex.route, ex.durationMs, ex.outcome !== 'ok', performance.timeOrigin + ex.startTime + ex.durationMs);
  }

  private pick(keyed: KeyWindows, windowMs: number): RollingWindow {
    const i = this.windowsMs.indexOf(windowMs);
    if (i === -1) throw new RangeError(`vigil: no ${windowMs} ms window (have ${this.windowsMs.join(', ')})`);
    return keyed.windows[i];
  }

  /** Stats over every request in the window (default: the shortest window). */
  overall(windowMs: number = this.windowsMs[0]): WindowStats {
    return this.pick(this.all, windowMs).stats();
  }

  /** Stats of one route (`undefined` if it was never seen). */
  route(route: string, windowMs: number = this.windowsMs[0]): WindowStats | undefined {
    const keyed = this.byRoute.get(route);
    return keyed === undefined ? undefined : this.pick(keyed, windowMs).stats();
  }

  /** A latency quantile (ms) of one route, or of everything when `route` is undefined. */
  quantile(q: number, route?: string, windowMs: number = this.windowsMs[0]): number {
    const keyed = route === undefined ? this.all : this.byRoute.get(route);
    return keyed === undefined ? Number.NaN : this.pick(keyed, windowMs).quantile(q);
  }

  /** Every route seen so far (at most `maxRoutes` plus `other`). */
  routes(): string[] {
    return [...this.byRoute.keys()];
  }
}

let shared: TrafficWindows | undefined;
let sharedOptions = '';

/**
 * The process-wide traffic windows, fed by every completed exchange. The first call creates them
 * with `options` and subscribes to the core; later calls return the same instance (their options
 * are ignored). Packages that read windows (metrics, alerts, dashboard) call this in their factory.
 *
 * @example
 * ```ts
 * const windows = trafficWindows();
 * setInterval(() => console.log(windows.overall().p95), 1000);
 * ```
 */
export function trafficWindows(options?: TrafficWindowsOptions): TrafficWindows {
  if (shared === undefined) {
    const created = new TrafficWindows(options);
    shared = created;
    sharedOptions = JSON.stringify(options ?? {});
    onExchangeEnd((ex) => created.recordExchange(ex));
  } else if (options !== undefined && JSON.stringify(options) !== sharedOptions) {
    process.emitWarning(
      `vigil: trafficWindows() already exists with ${sharedOptions}; options ${JSON.stringify(options)} are ignored (set them in the first package created)`,
      { code: 'VIGIL_WINDOWS_OPTIONS_IGNORED' },
    );
  }
  return shared;
}
