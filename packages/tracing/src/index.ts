export { setupTracing } from './setup';
export { expressTracing } from './express';
export { koaTracing } from './koa';
export { traced, Traced } from './traced';
export type { TracedDecorator } from './traced';
export { injectTraceHeaders } from './inject';
export { W3CTraceContextPropagator, W3CTraceState, parseTraceparent, parseTracestate } from './w3c-trace-context';
export type { ParsedTraceparent } from './w3c-trace-context';
export { traceContextTestService } from './trace-context-test-service';
export type {
  IgnorePath,
  ServerTracingOptions,
  TracedFunction,
  TracedOptions,
  TracingExporter,
  TracingHandle,
  TracingOptions,
  TracingPropagatorName,
  TracingSampler,
  TracingStats,
} from './types';
