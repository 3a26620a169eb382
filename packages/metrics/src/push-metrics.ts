import { Pushgateway, type Registry } from 'prom-client';
import { defaultEngine } from './create-metrics';
import type { Metrics } from './types';

/**
 * Options of `pushMetrics`.
 *
 * @example
 * ```ts
 * const options: PushMetricsOptions = { url: 'http://pushgateway:9091', job: 'nightly-report', groupings: { instance: 'a' } };
 * ```
 */
export interface PushMetricsOptions {
  /** Pushgateway base URL. */
  url: string;
  /** Job name. */
  job: string;
  /** Grouping labels (e.g. `{ instance }`). */
  groupings?: Record<string, string>;
  /** Engine whose registry is pushed (default: the latest `createMetrics`). */
  metrics?: Metrics;
  /** A registry to push instead. */
  registry?: Registry;
  /** `replace` (PUT, default: replaces the group) or `add` (POST: replaces metrics of the same name). */
  mode?: 'replace' | 'add';
  /** Request timeout, ms (default 5000). */
  timeoutMs?: number;
}

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

/**
 * Pushes the registry to a Prometheus Pushgateway, for batch jobs that end before a scrape
 * could reach them. Rejects when the gateway answers with an error.
 *
 * @example
 * ```ts
 * import { createMetrics, pushMetrics } from '@vigil/metrics';
 * const metrics = createMetrics({ defaultMetrics: false });
 * metrics.recordRequest({ route: 'nightly-report', durationSeconds: 93 });
 * await pushMetrics({ url: 'http://127.0.0.1:9091', job: 'nightly-report', metrics });
 * ```
 */
export async function pushMetrics(options: PushMetricsOptions): Promise<void> {
  if (options === null || typeof options !== 'object') fail('pushMetrics needs options');
  const { url, job, groupings, metrics, mode = 'replace', timeoutMs = 5000 } = options;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) fail(`url must be an http(s) URL, got ${String(url)}`);
  if (typeof job !== 'string' || job === '') fail('job must be a non-empty string');
  if (mode !== 'replace' && mode !== 'add') fail(`mode must be 'replace' or 'add', got ${String(mode)}`);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) fail('timeoutMs must be a positive integer');
  const registry = options.registry ?? metrics?.registry ?? defaultEngine()?.registry;
  if (registry === undefined) fail('pushMetrics needs metrics or a registry (or a createMetrics() engine made before)');
  const gateway = new Pushgateway(url, { timeout: timeoutMs }, registry);
  const params = { jobName: job, groupings };
  if (mode === 'add') await gateway.pushAdd(params);
  else await gateway.push(params);
}
