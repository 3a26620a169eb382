import { getHeapStatistics } from 'node:v8';
import type { CheckDefinition, CheckResult } from './types';

/**
 * Options of `heapCheck`.
 *
 * @example
 * ```ts
 * heapCheck(0.95, { warnRatio: 0.8 });
 * ```
 */
export interface HeapCheckOptions {
  /** Report `warn` above this used/limit ratio. */
  warnRatio?: number;
}

function ratio(value: unknown, what: string): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new TypeError(`@vigil/health: heapCheck ${what} must be a ratio in (0, 1], got ${String(value)}`);
  return value;
}

/**
 * A check on V8 heap use: used heap size over the heap size limit. Fails above `maxRatio`;
 * reports the use in percent (IETF key `name:utilization`).
 *
 * @example
 * ```ts
 * health.register('heap', heapCheck(0.95, { warnRatio: 0.85 }), { critical: false, intervalMs: 10_000 });
 * ```
 */
export function heapCheck(maxRatio: number, options: HeapCheckOptions = {}): CheckDefinition {
  const max = ratio(maxRatio, 'maxRatio');
  const warn = options.warnRatio === undefined ? undefined : ratio(options.warnRatio, 'warnRatio');
  return {
    measurement: 'utilization',
    componentType: 'system',
    run(): CheckResult {
      const stats = getHeapStatistics();
      const used = stats.used_heap_size / stats.heap_size_limit;
      const percent = Math.round(used * 1000) / 10;
      if (used > max) return { status: 'fail', observedValue: percent, observedUnit: 'percent', output: `heap ${percent}% of limit > ${max * 100}%` };
      if (warn !== undefined && used > warn) return { status: 'warn', observedValue: percent, observedUnit: 'percent', output: `heap ${percent}% of limit > ${warn * 100}%` };
      return { status: 'pass', observedValue: percent, observedUnit: 'percent' };
    },
  };
}
