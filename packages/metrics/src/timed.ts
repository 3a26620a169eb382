import { performance } from 'node:perf_hooks';
import { reportError } from '@vigil/core';
import { defaultEngine, type MetricsEngine } from './create-metrics';
import { defaultMirror, type StatsdMirror } from './statsd-mirror';
import type { Metrics } from './types';

/**
 * Where `timed()` records: default the latest engine made by `createMetrics` and the latest
 * `statsdMirror`.
 *
 * @example
 * ```ts
 * const options: TimedOptions = { metrics, statsd: mirror };
 * ```
 */
export interface TimedOptions {
  metrics?: Metrics;
  statsd?: StatsdMirror;
}

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

/**
 * Wraps a function, sync or async, so every call is timed: a StatsD timer `name` (ms) on the
 * mirror and `function_duration_seconds{function="name",outcome}` on the engine. The result,
 * `this` and thrown errors pass through unchanged; a rejected promise counts as `error`.
 *
 * @example
 * ```ts
 * import { timed } from '@vigil/metrics';
 * const getUser = timed('api.user.get', async (id: string) => db.users.find(id));
 * await getUser('42');
 * ```
 */
export function timed<A extends unknown[], R>(name: string, fn: (...args: A) => R, options: TimedOptions = {}): (...args: A) => R {
  if (typeof name !== 'string' || name === '') fail('timed needs a name');
  if (typeof fn !== 'function') fail('timed needs a function');
  function record(start: number, ok: boolean): void {
    // never throws into the timed call (or, for a promise, out of a reaction nobody handles)
    try {
      const ms = performance.now() - start;
      const engine = (options.metrics ?? defaultEngine()) as MetricsEngine | undefined;
      engine?.recordTiming(name, ms / 1000, ok);
      (options.statsd ?? defaultMirror())?.timing(name, ms);
    } catch (error) {
      reportError('metrics.timed', error);
    }
  }
  return function timedCall(this: unknown, ...args: A): R {
    const start = performance.now();
    let result: R;
    try {
      result = fn.apply(this, args);
    } catch (error) {
      record(start, false);
      throw error;
    }
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      (result as unknown as Promise<unknown>).then(
        () => record(start, true),
        () => record(start, false),
      );
      return result;
    }
    record(start, true);
    return result;
  };
}
