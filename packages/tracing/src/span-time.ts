import type { HrTime } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';

const timeOrigin = performance.timeOrigin;
/** Wall clock minus the monotonic clock, re-read at most once a second (the SDK re-reads it per span). */
let wallOffsetMs = 0;
let offsetReadAt = Number.NEGATIVE_INFINITY;

function fromEpochMs(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  const nanos = Math.round((epochMs - seconds * 1000) * 1e6);
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
}

/**
 * A `performance.now()` timestamp (what the core records) as the OpenTelemetry `HrTime` of that
 * moment on the wall clock. The SDK takes an `HrTime` as it is; given a number, it reads both
 * clocks again and converts through four small arrays, on every span start and end.
 *
 * @example
 * ```ts
 * const span = tracer.startSpan('GET', { startTime: perfToHrTime(ex.startTime) });
 * ```
 */
export function perfToHrTime(perfMs: number): HrTime {
  if (perfMs - offsetReadAt > 1000 || perfMs < offsetReadAt) {
    const now = performance.now();
    wallOffsetMs = Date.now() - (timeOrigin + now);
    offsetReadAt = now;
  }
  return fromEpochMs(timeOrigin + perfMs + wallOffsetMs);
}

/**
 * `start` plus a duration in milliseconds, so that a span's end is exactly its measured duration
 * after its start (never moved by a re-read of the wall clock in between).
 *
 * @example
 * ```ts
 * span.end(hrTimeAfter(span.startTime, ex.durationMs));
 * ```
 */
export function hrTimeAfter(start: HrTime, durationMs: number): HrTime {
  const nanos = start[1] + Math.round(durationMs * 1e6);
  const carry = Math.floor(nanos / 1e9);
  return [start[0] + carry, nanos - carry * 1e9];
}
