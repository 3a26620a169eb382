import { performance } from 'node:perf_hooks';
import { cleanOutput } from './run-check';
import type { CheckDefinition, CheckResult } from './types';

/**
 * Options of `httpCheck`.
 *
 * @example
 * ```ts
 * httpCheck('http://payments.internal/healthz', { expectStatus: 204, warnAboveMs: 300 });
 * ```
 */
export interface HttpCheckOptions {
  /** `GET` (default) or `HEAD`. */
  method?: 'GET' | 'HEAD';
  /** Expected status: a number, or a predicate. Default: any 2xx or 3xx. */
  expectStatus?: number | ((status: number) => boolean);
  /** Extra request headers (e.g. an auth token; never reported). */
  headers?: Record<string, string>;
  /** Report `warn` when the response took longer than this (ms). */
  warnAboveMs?: number;
}

function statusMatcher(expect: HttpCheckOptions['expectStatus']): (status: number) => boolean {
  if (expect === undefined) return (status) => status >= 200 && status < 400;
  if (typeof expect === 'number' && Number.isInteger(expect) && expect >= 100 && expect <= 599) return (status) => status === expect;
  if (typeof expect === 'function') return expect;
  throw new TypeError(`@vigil/health: httpCheck expectStatus must be a status code or a function, got ${String(expect)}`);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * A check that requests `url` (with the check's abort signal) and passes on an expected status.
 * Reports the response time as `observedValue` in ms (IETF key `name:responseTime`). Credentials
 * in the URL are sent as Basic auth and never put in an output.
 *
 * @example
 * ```ts
 * health.register('payments', httpCheck('http://payments.internal/healthz'), { intervalMs: 10_000, critical: false });
 * ```
 */
export function httpCheck(url: string | URL, options: HttpCheckOptions = {}): CheckDefinition {
  let target: URL;
  try {
    target = new URL(String(url));
  } catch {
    throw new TypeError(`@vigil/health: httpCheck needs an absolute http(s) URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`@vigil/health: httpCheck supports http and https, got ${target.protocol}`);
  const method = options.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') throw new TypeError(`@vigil/health: httpCheck method must be GET or HEAD`);
  const matches = statusMatcher(options.expectStatus);
  const warnAboveMs = options.warnAboveMs;
  if (warnAboveMs !== undefined && !(typeof warnAboveMs === 'number' && warnAboveMs > 0)) throw new TypeError('@vigil/health: httpCheck warnAboveMs must be a positive number');
  const headers: Record<string, string> = { ...options.headers };
  // fetch refuses URLs with credentials: send them as Basic auth instead (and never report them).
  if (target.username !== '' || target.password !== '') {
    const hasAuth = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
    if (!hasAuth) {
      const user = decodeURIComponent(target.username);
      const pass = decodeURIComponent(target.password);
      headers.authorization = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
    }
    target.username = '';
    target.password = '';
  }
  const href = target.href;
  return {
    measurement: 'responseTime',
    componentType: 'component',
    async run(signal: AbortSignal): Promise<CheckResult> {
      const started = performance.now();
      let response: Response;
      try {
        response = await fetch(href, { method, headers, signal, redirect: 'manual' });
      } catch (error) {
        return { status: 'fail', output: cleanOutput(error) };
      }
      // Drain the body so the connection can be reused; a huge body is cut by the check's timeout.
      try {
        await response.arrayBuffer();
      } catch {
        // the body failed after the status arrived: the status still decides
      }
      const elapsed = round(performance.now() - started);
      if (!matches(response.status)) {
        return { status: 'fail', observedValue: elapsed, observedUnit: 'ms', output: `unexpected status ${response.status}` };
      }
      if (warnAboveMs !== undefined && elapsed > warnAboveMs) {
        return { status: 'warn', observedValue: elapsed, observedUnit: 'ms', output: `slow: ${elapsed} ms > ${warnAboveMs} ms` };
      }
      return { status: 'pass', observedValue: elapsed, observedUnit: 'ms' };
    },
  };
}
