import type { Attributes, Span, SpanKind, TextMapPropagator, Tracer } from '@opentelemetry/api';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { ReadableSpan, Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { PathMatcher } from '@vigil/core';

/**
 * Where finished spans go.
 * - `'otlp'` (default): OTLP over HTTP (JSON) to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, or `http://localhost:4318/v1/traces`
 *   (Jaeger and the OpenTelemetry Collector both take it);
 * - `'console'`: one object per span on stdout, for development;
 * - `'memory'`: kept in memory (`handle.finishedSpans()`), for tests;
 * - `'none'`: spans are made (ids, propagation, summaries) but sent nowhere;
 * - any `SpanExporter`.
 *
 * Without the option, `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`) is honoured.
 *
 * @example
 * ```ts
 * const exporter: TracingExporter = process.env.NODE_ENV === 'test' ? 'memory' : 'otlp';
 * ```
 */
export type TracingExporter = 'otlp' | 'console' | 'memory' | 'none' | SpanExporter;

/**
 * Which requests are recorded. A number is the ratio of new traces sampled (0..1), wrapped in a
 * parent-based sampler, so a caller's decision (the `sampled` flag) is followed. `'always_on'`,
 * `'always_off'` are parent-based too. Any OpenTelemetry `Sampler` is used as given.
 * Without the option, `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` are honoured
 * (default: parent-based always on).
 *
 * @example
 * ```ts
 * const sampler: TracingSampler = 0.1; // 10 % of new traces, callers' decisions kept
 * ```
 */
export type TracingSampler = number | 'always_on' | 'always_off' | Sampler;

/**
 * Propagation formats. `'tracecontext'` is vigil's strict W3C Trace Context (Level 2)
 * propagator; `'baggage'` W3C Baggage; `'b3'` single-header B3, `'b3multi'` multi-header B3.
 * Without the option, `OTEL_PROPAGATORS` is honoured (default `tracecontext,baggage`).
 *
 * @example
 * ```ts
 * const propagators: TracingPropagatorName[] = ['tracecontext', 'baggage', 'b3multi'];
 * ```
 */
export type TracingPropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi';

/**
 * Options of `setupTracing`.
 *
 * @example
 * ```ts
 * const options: TracingOptions = { serviceName: 'orders', serviceVersion: '1.4.0', sampler: 0.25 };
 * ```
 */
export interface TracingOptions {
  /** `service.name` (default `OTEL_SERVICE_NAME`, then `unknown_service:node`). */
  serviceName?: string;
  /** `service.version`. */
  serviceVersion?: string;
  /** More resource attributes (`deployment.environment.name`, ...); `OTEL_RESOURCE_ATTRIBUTES` is merged under these. */
  resourceAttributes?: Attributes;
  /** Where spans go (default `'otlp'`). */
  exporter?: TracingExporter;
  /** OTLP exporter settings; unset fields come from the standard `OTEL_EXPORTER_OTLP_*` variables. */
  otlp?: ConstructorParameters<typeof OTLPTraceExporter>[0];
  /** Sampling (default parent-based always on, or `OTEL_TRACES_SAMPLER`). */
  sampler?: TracingSampler;
  /** Propagators, names or instances (default `['tracecontext', 'baggage']`, or `OTEL_PROPAGATORS`). */
  propagators?: Array<TracingPropagatorName | TextMapPropagator>;
  /**
   * `http`/`https` instrumentation: `'outgoing'` (default, or `true`) makes a CLIENT span per
   * outgoing request and carries the context; `'all'` also makes the incoming SERVER span (the
   * Express/Koa middleware then renames and enriches that span instead of making its own; this
   * costs more per request); `false` turns it off.
   */
  instrumentHttp?: boolean | 'outgoing' | 'all';
  /** Global `fetch` (undici) instrumentation: a CLIENT span per request carrying the context (default `true`). */
  instrumentFetch?: boolean;
  /** Batch processor: bounded queue; spans past `maxQueueSize` are dropped and counted. */
  batch?: { maxQueueSize?: number; maxExportBatchSize?: number; scheduledDelayMillis?: number; exportTimeoutMillis?: number };
  /**
   * Export each span as it ends instead of batching (default `true` only for the `'memory'`
   * exporter, so tests see spans at once).
   */
  simpleProcessor?: boolean;
  /** Extra span processors, after vigil's own. */
  spanProcessors?: SpanProcessor[];
  /** Set the W3C Level 2 random-trace-id flag (`02`) on traces this process starts (default `true`: ids are random). */
  randomTraceIdFlag?: boolean;
  /**
   * Summaries of finished local traces kept for the dashboard (`recentEvents.traces`, default
   * `true`): at most one trace per `intervalMs` (default 50) is collected with all its spans, and
   * every failed request gets at least a summary of its root span.
   */
  traceSummaries?: boolean | { intervalMs?: number };
}

/**
 * Export counters of the batch (or simple) span processor.
 *
 * @example
 * ```ts
 * const { droppedSpans, failedSpans } = tracing.stats();
 * if (droppedSpans + failedSpans > 0) console.warn('spans lost');
 * ```
 */
export interface TracingStats {
  /** Spans handed to the exporter successfully. */
  exportedSpans: number;
  /** Spans dropped because the queue was full (receiver slow or down). */
  droppedSpans: number;
  /** Spans lost because the export failed (receiver down, rejected). */
  failedSpans: number;
  /** Spans waiting in the queue now. */
  queuedSpans: number;
  /** Queue capacity. */
  queueCapacity: number;
}

/**
 * What `setupTracing` returns.
 *
 * @example
 * ```ts
 * const tracing: TracingHandle = setupTracing({ serviceName: 'orders' });
 * process.on('SIGTERM', () => void tracing.shutdown());
 * ```
 */
export interface TracingHandle {
  /** A tracer of the vigil scope, for hand-made spans. */
  tracer: Tracer;
  /** Flushes pending spans, stops instrumentation and unregisters the globals. */
  shutdown(): Promise<void>;
  /** Exports every pending span now. */
  forceFlush(): Promise<void>;
  /** Export counters (dropped spans included). */
  stats(): TracingStats;
  /** The exporter in use. */
  exporter: SpanExporter | undefined;
  /** Spans kept by the `'memory'` exporter (empty for other exporters). */
  finishedSpans(): ReadableSpan[];
  /** Forgets the spans kept by the `'memory'` exporter. */
  resetFinishedSpans(): void;
}

/**
 * One entry of `ignorePaths` (the core's `PathMatcher`): a path string, a RegExp tested on the
 * path, or a predicate of the path (no query string in any case). A string also matches with one
 * trailing slash removed and in any letter case (`'/healthz'` also ignores `/healthz/` and
 * `/HEALTHZ`, which Express and `@koa/router` route to the same handler by default); RegExps and
 * predicates get the path as received, and a predicate that throws ignores nothing (it is reported).
 *
 * @example
 * ```ts
 * const ignore: IgnorePath[] = ['/healthz', /^\/static\//, (path) => path.endsWith('.ico')];
 * ```
 */
export type IgnorePath = PathMatcher;

/**
 * Options of `expressTracing` and `koaTracing`.
 *
 * @example
 * ```ts
 * const options: ServerTracingOptions = { ignorePaths: ['/healthz', '/metrics'], traceResponse: true };
 * ```
 */
export interface ServerTracingOptions {
  /** Requests whose path (no query) matches one entry make no span (default: none); see `IgnorePath`. */
  ignorePaths?: IgnorePath[];
  /** Send the W3C Trace Context Level 3 `traceresponse` header (default `true`). */
  traceResponse?: boolean;
  /** Also record spans of quiet exchanges (health probes) (default `false`: they are dropped). */
  traceQuiet?: boolean;
}

/**
 * Options of `traced` and `@Traced`.
 *
 * @example
 * ```ts
 * const options: TracedOptions = { attributes: { 'order.items': 3 } };
 * ```
 */
export interface TracedOptions {
  /** Attributes set when the span starts. */
  attributes?: Attributes;
  /** Span kind (default INTERNAL). */
  kind?: SpanKind;
}

/**
 * A function run inside a `traced` span; it gets the span to add attributes or events.
 *
 * @example
 * ```ts
 * const work: TracedFunction<number> = (span) => { span.setAttribute('rows', 3); return 3; };
 * ```
 */
export type TracedFunction<T> = (span: Span) => T;
