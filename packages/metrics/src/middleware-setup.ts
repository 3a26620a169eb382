import { compilePathFilter } from '@vigil/core';
import { createMetrics, type MetricsEngine } from './create-metrics';
import { createEndpoint, endpointUrlMatcher, pathOf, type MetricsEndpoint } from './endpoint';
import type { MiddlewareOptions } from './types';

/** Everything a middleware needs, prepared once in its factory. */
export interface MiddlewareSetup {
  engine: MetricsEngine;
  endpoint: MetricsEndpoint;
  /** Tells whether a raw URL is the endpoint path (no allocation). */
  isEndpoint: (url: string) => boolean;
  /** Tells whether a raw URL is left out of the metrics. */
  isExcluded: ((url: string) => boolean) | undefined;
}

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

/** Validates middleware options, creating the engine unless one is given. */
export function setupMiddleware(options: MiddlewareOptions | undefined): MiddlewareSetup {
  if (options !== undefined && (options === null || typeof options !== 'object')) fail('options must be an object');
  const o = options ?? {};
  const { metrics, exclude, path, authorize, bearerToken, gzip, openMetrics, timeoutMs, ...engineOptions } = o;
  if (metrics !== undefined && (metrics === null || typeof (metrics as { observe?: unknown }).observe !== 'function' || typeof (metrics as { scrape?: unknown }).scrape !== 'function')) {
    fail('metrics must be an engine made by createMetrics()');
  }
  const excluded = compilePathFilter(exclude, 'metrics exclude', 'metrics.exclude');
  const ignored = Object.keys(engineOptions).filter((key) => (engineOptions as Record<string, unknown>)[key] !== undefined);
  if (metrics !== undefined && ignored.length > 0) fail(`${ignored.join(', ')} would be ignored next to metrics: give them to createMetrics() instead`);
  const engine = (metrics ?? createMetrics(engineOptions)) as MetricsEngine;
  const endpoint = createEndpoint((om) => engine.scrape(om), { path, authorize, bearerToken, gzip, openMetrics, timeoutMs });
  const isEndpoint = endpointUrlMatcher(endpoint.path);
  const isExcluded = excluded === undefined ? undefined : (url: string): boolean => excluded(pathOf(url));
  return { engine, endpoint, isEndpoint, isExcluded };
}
