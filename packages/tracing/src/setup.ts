import { context, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, getStringFromEnv, getStringListFromEnv, W3CBaggagePropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { InstrumentationBase } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { registerPackage, reportError, setContextBackend, setTraceIdsReader, unregisterPackage, type Exchange } from '@vigil/core';
import { ExportStats } from './export-stats';
import { EXCHANGE_KEY, setActiveTracer, TRACER_NAME, TRACING_VERSION } from './runtime';
import { withContextValue } from './linked-context';
import { PooledIdGenerator } from './pooled-id-generator';
import { enrichAdoptedServerSpan } from './server-span';
import { VigilSpanProcessor } from './span-processor';
import { spanFactoryParts } from './vigil-server-span';
import type { TracingExporter, TracingHandle, TracingOptions, TracingPropagatorName, TracingSampler, TracingStats } from './types';
import { setLocalTraceIdsRandom, W3CTraceContextPropagator } from './w3c-trace-context';

/** At most one trace summary per this many ms (errors always). */
const DEFAULT_SUMMARY_INTERVAL_MS = 50;

const PROPAGATOR_NAMES: ReadonlySet<string> = new Set(['tracecontext', 'baggage', 'b3', 'b3multi']);

function fail(message: string): never {
  throw new TypeError(`vigil: setupTracing ${message}`);
}

function isExporterInstance(value: unknown): value is SpanExporter {
  return value !== null && typeof value === 'object' && typeof (value as SpanExporter).export === 'function' && typeof (value as SpanExporter).shutdown === 'function';
}

function createExporter(option: TracingExporter | undefined, otlp: TracingOptions['otlp']): { exporter: SpanExporter | undefined; kind: string } {
  let choice: TracingExporter | undefined = option;
  if (choice === undefined) {
    const env = getStringListFromEnv('OTEL_TRACES_EXPORTER')?.[0];
    choice = env === 'console' || env === 'none' ? env : 'otlp';
  }
  if (isExporterInstance(choice)) return { exporter: choice, kind: choice.constructor?.name ?? 'custom' };
  switch (choice) {
    case 'otlp':
      return { exporter: new OTLPTraceExporter(otlp ?? {}), kind: 'otlp' };
    case 'console':
      return { exporter: new ConsoleSpanExporter(), kind: 'console' };
    case 'memory':
      return { exporter: new InMemorySpanExporter(), kind: 'memory' };
    case 'none':
      return { exporter: undefined, kind: 'none' };
    default:
      return fail(`exporter must be 'otlp', 'console', 'memory', 'none' or a SpanExporter, got ${String(choice)}`);
  }
}

function createSampler(option: TracingSampler | undefined): Sampler | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'number') {
    if (!(option >= 0 && option <= 1)) fail(`sampler ratio must be between 0 and 1, got ${option}`);
    // the ends of the range decide the same without reading the trace id on every request
    if (option === 1) return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    if (option === 0) return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(option) });
  }
  if (option === 'always_on') return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  if (option === 'always_off') return new ParentBasedSampler({ root: new AlwaysOffSampler() });
  if (option !== null && typeof option === 'object' && typeof (option as Sampler).shouldSample === 'function') return option;
  return fail(`sampler must be a ratio (0..1), 'always_on', 'always_off' or a Sampler, got ${String(option)}`);
}

function createPropagator(option: TracingOptions['propagators']): TextMapPropagator {
  let list: Array<TracingPropagatorName | TextMapPropagator>;
  if (option === undefined) {
    const env = getStringListFromEnv('OTEL_PROPAGATORS');
    list = env === undefined || env.length === 0 ? ['tracecontext', 'baggage'] : (env.filter((name) => PROPAGATOR_NAMES.has(name)) as TracingPropagatorName[]);
  } else if (Array.isArray(option)) {
    list = option;
  } else {
    return fail('propagators must be an array');
  }
  const propagators: TextMapPropagator[] = [];
  for (const item of list) {
    if (item === 'tracecontext') propagators.push(new W3CTraceContextPropagator());
    else if (item === 'baggage') propagators.push(new W3CBaggagePropagator());
    else if (item === 'b3') propagators.push(new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }));
    else if (item === 'b3multi') propagators.push(new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }));
    else if (item !== null && typeof item === 'object' && typeof item.inject === 'function' && typeof item.extract === 'function') propagators.push(item);
    else fail(`propagators entries must be 'tracecontext', 'baggage', 'b3', 'b3multi' or a TextMapPropagator, got ${String(item)}`);
  }
  return propagators.length === 1 ? propagators[0] : new CompositePropagator({ propagators });
}

function checkPositiveInteger(value: unknown, name: string): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) fail(`${name} must be a positive integer, got ${String(value)}`);
}

function validate(options: TracingOptions): void {
  if (options === null || typeof options !== 'object') fail('options must be an object');
  for (const key of ['serviceName', 'serviceVersion'] as const) {
    if (options[key] !== undefined && (typeof options[key] !== 'string' || options[key] === '')) fail(`${key} must be a non-empty string`);
  }
  if (options.resourceAttributes !== undefined && (options.resourceAttributes === null || typeof options.resourceAttributes !== 'object')) {
    fail('resourceAttributes must be an object');
  }
  const http = options.instrumentHttp;
  if (http !== undefined && typeof http !== 'boolean' && http !== 'outgoing' && http !== 'all') fail(`instrumentHttp must be a boolean, 'outgoing' or 'all'`);
  for (const key of ['instrumentFetch', 'simpleProcessor', 'randomTraceIdFlag'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') fail(`${key} must be a boolean`);
  }
  const summaries = options.traceSummaries;
  if (summaries !== undefined && typeof summaries !== 'boolean') {
    if (summaries === null || typeof summaries !== 'object') fail('traceSummaries must be a boolean or { intervalMs }');
    const ms = summaries.intervalMs;
    if (ms !== undefined && !(typeof ms === 'number' && ms >= 0 && Number.isFinite(ms))) fail(`traceSummaries.intervalMs must be a number ≥ 0, got ${String(ms)}`);
  }
  if (options.batch !== undefined) {
    if (options.batch === null || typeof options.batch !== 'object') fail('batch must be an object');
    for (const key of ['maxQueueSize', 'maxExportBatchSize', 'scheduledDelayMillis', 'exportTimeoutMillis'] as const) checkPositiveInteger(options.batch[key], `batch.${key}`);
  }
  if (options.spanProcessors !== undefined && !Array.isArray(options.spanProcessors)) fail('spanProcessors must be an array');
}

/** The current setup, so a second `setupTracing` replaces the first cleanly. */
let current: { shutdownGlobals(): void } | undefined;

const exchangeBackend = {
  run: <T>(ex: Exchange, fn: () => T): T => context.with(withContextValue(context.active(), EXCHANGE_KEY, ex), fn),
  current: (): Exchange | undefined => context.active().getValue(EXCHANGE_KEY) as Exchange | undefined,
};

function activeSpanIds(): { traceId: string; spanId: string } | undefined {
  const span = trace.getSpan(context.active());
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  return sc.traceId === '00000000000000000000000000000000' ? undefined : { traceId: sc.traceId, spanId: sc.spanId };
}

/**
 * Sets up OpenTelemetry tracing for the process: a tracer provider with resource attributes
 * (`service.name`, `service.version`, `OTEL_RESOURCE_ATTRIBUTES`), a parent-based sampler, a
 * bounded batch span processor (drops counted), the OTLP/HTTP exporter by default (the standard
 * `OTEL_EXPORTER_OTLP_*` variables are honoured), vigil's strict W3C Trace Context propagator
 * with W3C Baggage (B3 on request), an AsyncLocalStorage context manager that is also the core's
 * request context (one storage in the process), and outgoing `http`/`https` and global `fetch`
 * instrumentation so calls to other services carry the trace. Logs written through
 * `@vigil/logging` then carry the active span's `trace_id` and `span_id`.
 *
 * Call it once, before the app starts serving; bad options throw a `TypeError` here.
 *
 * @example
 * ```ts
 * import { setupTracing } from '@vigil/tracing';
 *
 * const tracing = setupTracing({ serviceName: 'orders', serviceVersion: '1.4.0', sampler: 0.2 });
 * process.on('SIGTERM', async () => { await tracing.shutdown(); process.exit(0); });
 * ```
 */
export function setupTracing(options: TracingOptions = {}): TracingHandle {
  validate(options);
  const sampler = createSampler(options.sampler);
  const propagator = createPropagator(options.propagators);
  const { exporter, kind: exporterKind } = createExporter(options.exporter, options.otlp);
  const serviceName = options.serviceName ?? getStringFromEnv('OTEL_SERVICE_NAME');
  const ownAttributes = { ...(options.resourceAttributes ?? {}) };
  if (serviceName !== undefined) ownAttributes['service.name'] = serviceName;
  if (options.serviceVersion !== undefined) ownAttributes['service.version'] = options.serviceVersion;
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes(ownAttributes));

  const stats = new ExportStats();
  const simple = options.simpleProcessor ?? exporterKind === 'memory';
  let exporting: SpanProcessor | undefined;
  if (exporter !== undefined) {
    exporting = simple
      ? new SimpleSpanProcessor({ exporter, selfObsMeterProvider: stats.meterProvider })
      : // the shim applies the OTEL_BSP_* fallbacks and passes every option on to the SDK processor
        new BatchSpanProcessor(exporter, { ...(options.batch ?? {}), selfObsMeterProvider: stats.meterProvider } as BufferConfig);
  }
  const processors: SpanProcessor[] = [];
  const summaries = options.traceSummaries ?? true;
  const summaryIntervalMs = typeof summaries === 'object' ? (summaries.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS) : DEFAULT_SUMMARY_INTERVAL_MS;
  if (exporting !== undefined || summaries !== false) processors.push(new VigilSpanProcessor(exporting ?? noopProcessor, summaries !== false, summaryIntervalMs));
  if (options.spanProcessors !== undefined) processors.push(...options.spanProcessors);

  const provider = new BasicTracerProvider({ resource, spanProcessors: processors, idGenerator: new PooledIdGenerator(), ...(sampler === undefined ? {} : { sampler }) });

  if (current !== undefined) current.shutdownGlobals();
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(contextManager)) reportError('tracing.setup', new Error('another context manager is registered; vigil uses it'));
  if (!trace.setGlobalTracerProvider(provider)) reportError('tracing.setup', new Error('another tracer provider is registered globally'));
  if (!propagation.setGlobalPropagator(propagator)) reportError('tracing.setup', new Error('another propagator is registered globally'));
  const tracer = provider.getTracer(TRACER_NAME, TRACING_VERSION);
  // the built-in samplers (and the env-configured ones, which are built-in) ignore attributes;
  // only a Sampler object of the user's own may read them
  setActiveTracer(tracer, sampler !== undefined && sampler === options.sampler, spanFactoryParts(tracer));
  setLocalTraceIdsRandom(options.randomTraceIdFlag ?? true);
  setContextBackend(exchangeBackend);
  setTraceIdsReader(activeSpanIds);

  const instrumentations: InstrumentationBase[] = [];
  const httpMode = options.instrumentHttp === undefined || options.instrumentHttp === true ? 'outgoing' : options.instrumentHttp;
  if (httpMode !== false) {
    instrumentations.push(
      new HttpInstrumentation({
        disableIncomingRequestInstrumentation: httpMode !== 'all',
        applyCustomAttributesOnSpan: enrichAdoptedServerSpan,
      }),
    );
  }
  if (options.instrumentFetch ?? true) instrumentations.push(new UndiciInstrumentation());
  for (const instrumentation of instrumentations) {
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
  }
  const unpatchHttp = httpMode !== false ? patchLoadedHttpModules(instrumentations[0]) : undefined;

  const memory = exporter instanceof InMemorySpanExporter ? exporter : undefined;
  const describe = {
    serviceName: (resource.attributes['service.name'] as string | undefined) ?? '',
    exporter: exporterKind,
    sampler: sampler?.toString() ?? 'env/default',
    propagators: propagator.fields(),
  };
  const snapshotStats = (): TracingStats => stats.snapshot();
  registerPackage({ name: 'tracing', version: TRACING_VERSION, snapshot: () => ({ ...describe, ...snapshotStats() }) });

  let globalsActive = true;
  const shutdownGlobals = (): void => {
    if (!globalsActive) return;
    globalsActive = false;
    for (const instrumentation of instrumentations) instrumentation.disable();
    unpatchHttp?.();
    setContextBackend(undefined);
    setTraceIdsReader(undefined);
    setActiveTracer(undefined);
    unregisterPackage('tracing');
    trace.disable();
    propagation.disable();
    context.disable();
    if (current === self) current = undefined;
  };
  const self = { shutdownGlobals };
  current = self;

  let shutdownPromise: Promise<void> | undefined;
  return {
    tracer,
    exporter,
    stats: snapshotStats,
    forceFlush: () => provider.forceFlush(),
    shutdown(): Promise<void> {
      if (shutdownPromise === undefined) {
        shutdownGlobals();
        shutdownPromise = provider.shutdown().catch((error: unknown) => reportError('tracing.shutdown', error));
      }
      return shutdownPromise;
    },
    finishedSpans: () => (memory === undefined ? [] : memory.getFinishedSpans()),
    resetFinishedSpans: () => memory?.reset(),
  };
}

/**
 * instrumentation-http patches `http`/`https` through a require hook, when they are next
 * required. An app usually loaded them (through express or koa) before calling `setupTracing`,
 * and some module systems (jest's) never reach the hook: so the already-loaded core modules are
 * patched here directly (instrumentation-http guards against a second patch). Returns a function
 * that removes these patches (the instrumentation's own `disable()` does not know about them).
 */
function isHttpModuleWrapped(exports: unknown): boolean {
  const m = exports as { request?: { __wrapped?: boolean }; get?: { __wrapped?: boolean }; Server?: { prototype?: { emit?: { __wrapped?: boolean } } } };
  return m.request?.__wrapped === true || m.get?.__wrapped === true || m.Server?.prototype?.emit?.__wrapped === true;
}

function patchLoadedHttpModules(instrumentation: InstrumentationBase): () => void {
  const patched: Array<{ unpatch: (exports: unknown) => void; exports: unknown }> = [];
  for (const definition of instrumentation.getModuleDefinitions()) {
    if (typeof definition.patch !== 'function') continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports: unknown = definition.name === 'https' ? require('https') : definition.name === 'http' ? require('http') : undefined;
    if (exports === undefined) continue;
    definition.patch(exports);
    if (typeof definition.unpatch === 'function') patched.push({ unpatch: definition.unpatch.bind(definition), exports });
  }
  return () => {
    for (const { unpatch, exports } of patched) {
      // the instrumentation's own disable() may already have removed them (when its hook ran)
      if (!isHttpModuleWrapped(exports)) continue;
      try {
        unpatch(exports);
      } catch (error) {
        reportError('tracing.shutdown', error);
      }
    }
  };
}

const noopProcessor: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
