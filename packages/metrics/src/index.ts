export type {
  EndpointOptions,
  ExtraLabel,
  MetricNames,
  Metrics,
  MetricsNaming,
  MetricsOptions,
  MetricsServer,
  MiddlewareOptions,
  Percentiles,
  RequestRecord,
  Scrape,
  ServeMetricsOptions,
} from './types';
export { createMetrics } from './create-metrics';
export { expressMetrics } from './express';
export { koaMetrics } from './koa';
export { serveMetrics } from './serve-metrics';
export { statsdMirror } from './statsd-mirror';
export type { StatsdMirror, StatsdMirrorOptions } from './statsd-mirror';
export { timed } from './timed';
export type { TimedOptions } from './timed';
export { clusterMetrics } from './cluster-metrics';
export type { ClusterMetrics, ClusterMetricsOptions } from './cluster-metrics';
export { pushMetrics } from './push-metrics';
export type { PushMetricsOptions } from './push-metrics';
