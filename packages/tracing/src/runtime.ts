import { createContextKey, trace, type Tracer } from '@opentelemetry/api';
import type { SpanFactoryParts } from './vigil-server-span';

/** Instrumentation scope of vigil's own spans. */
export const TRACER_NAME = '@vigil/tracing';
/** Package version (kept in step with package.json). */
export const TRACING_VERSION = '0.1.0';

/** Context key under which the request's Exchange is kept in OpenTelemetry's context. */
export const EXCHANGE_KEY = createContextKey('vigil.exchange');

/** Symbol a tracing middleware leaves on the response when it reuses instrumentation-http's span. */
export const kReusedServerSpan = Symbol.for('vigil.tracing.reusedServerSpan');

/** Symbol marking a span that must not be exported (quiet exchanges). */
export const kDropSpan = Symbol.for('vigil.tracing.dropSpan');

let activeTracer: Tracer | undefined;
let samplerReadsAttributes = true;
let serverSpanFactory: SpanFactoryParts | undefined;

/**
 * Set by `setupTracing` (and cleared by its `shutdown`). `readsAttributes` is false when the
 * sampler is one of OpenTelemetry's built-in ones, which decide on the trace id and parent alone.
 */
export function setActiveTracer(tracer: Tracer | undefined, readsAttributes = true, parts?: SpanFactoryParts): void {
  activeTracer = tracer;
  samplerReadsAttributes = readsAttributes;
  serverSpanFactory = tracer === undefined ? undefined : parts;
}

/**
 * What the server middleware starts its spans with (see `VigilServerSpan`), or `undefined` when
 * the setup's tracer did not have it (spans then start through `tracer.startSpan`).
 */
export function serverSpanParts(): SpanFactoryParts | undefined {
  return serverSpanFactory;
}

/**
 * Whether the sampler may look at a span's start attributes. When it cannot, the server span is
 * started without them and they are set only on a recording span: an unsampled request then
 * builds and checks no attributes, and a sampled one checks them once instead of twice.
 */
export function samplerNeedsStartAttributes(): boolean {
  return samplerReadsAttributes;
}

/** The tracer of the current `setupTracing`, or `undefined` before it (or after its shutdown). */
export function setupTracer(): Tracer | undefined {
  return activeTracer;
}

/**
 * The tracer of the current setup, or the global API's tracer (a no-op one until a provider is
 * registered), so spans are never sent to a provider that was shut down.
 */
export function vigilTracer(): Tracer {
  return activeTracer ?? trace.getTracer(TRACER_NAME, TRACING_VERSION);
}

/** Marks a span so vigil's processors neither export nor summarise it. */
export function dropSpan(span: object): void {
  (span as Record<symbol, boolean>)[kDropSpan] = true;
}

/** Whether `dropSpan` was called on this span. */
export function isDropped(span: object): boolean {
  return (span as Record<symbol, boolean | undefined>)[kDropSpan] === true;
}

/** Exchanges whose tracing middleware keeps the spans of quiet requests (`traceQuiet: true`). */
const quietKept = new WeakSet<object>();

/** Notes that the spans of this exchange are kept even when it is quiet. */
export function keepQuietSpans(ex: object): void {
  quietKept.add(ex);
}

/** Whether the spans of this exchange are kept even when it is quiet. */
export function keepsQuietSpans(ex: object): boolean {
  return quietKept.has(ex);
}
