import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { CheckDefinition, CheckResult } from './types';

/**
 * Options of `eventLoopLagCheck`.
 *
 * @example
 * ```ts
 * eventLoopLagCheck(200, { warnMs: 50, percentile: 99 });
 * ```
 */
export interface EventLoopLagCheckOptions {
  /** Report `warn` above this lag (ms). */
  warnMs?: number;
  /** Which percentile of the delays since the last run is reported. Default 99. */
  percentile?: number;
  /** Sampling resolution of the monitor (ms). Default 20. */
  resolutionMs?: number;
}

/**
 * A check on event-loop lag, measured with `perf_hooks.monitorEventLoopDelay`: the chosen
 * percentile of the delays since the previous run, minus the sampling resolution. Fails above
 * `maxMs`. The monitor starts when this function is called and stops on `health.close()`. Put it
 * in the `liveness` group to restart a process whose loop is stuck.
 *
 * @example
 * ```ts
 * health.register('eventloop', eventLoopLagCheck(500), { intervalMs: 5000, groups: ['liveness'] });
 * ```
 */
export function eventLoopLagCheck(maxMs: number, options: EventLoopLagCheckOptions = {}): CheckDefinition {
  if (typeof maxMs !== 'number' || !(maxMs > 0)) throw new TypeError(`@vigil/health: eventLoopLagCheck maxMs must be a positive number, got ${String(maxMs)}`);
  const warnMs = options.warnMs;
  if (warnMs !== undefined && !(typeof warnMs === 'number' && warnMs > 0)) throw new TypeError('@vigil/health: eventLoopLagCheck warnMs must be a positive number');
  const percentile = options.percentile ?? 99;
  if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100)) throw new TypeError('@vigil/health: eventLoopLagCheck percentile must be in (0, 100]');
  const resolutionMs = options.resolutionMs ?? 20;
  if (!Number.isInteger(resolutionMs) || resolutionMs < 1) throw new TypeError('@vigil/health: eventLoopLagCheck resolutionMs must be a positive integer');
  let histogram: IntervalHistogram | undefined = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  return {
    measurement: 'eventLoopLag',
    componentType: 'system',
    run(): CheckResult {
      const h = histogram;
      if (h === undefined) return { status: 'fail', output: 'event-loop monitor closed' };
      const lagMs = h.count === 0 ? 0 : Math.max(0, h.percentile(percentile) / 1e6 - resolutionMs);
      h.reset();
      const value = Math.round(lagMs * 100) / 100;
      if (value > maxMs) return { status: 'fail', observedValue: value, observedUnit: 'ms', output: `event-loop lag ${value} ms > ${maxMs} ms` };
      if (warnMs !== undefined && value > warnMs) return { status: 'warn', observedValue: value, observedUnit: 'ms', output: `event-loop lag ${value} ms > ${warnMs} ms` };
      return { status: 'pass', observedValue: value, observedUnit: 'ms' };
    },
    close(): void {
      histogram?.disable();
      histogram = undefined;
    },
  };
}
