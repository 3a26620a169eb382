import type { ServerResponse } from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type HrTime, type Span } from '@opentelemetry/api';
import type { Exchange } from '@vigil/core';
import { compilePathFilter, isServerError, reportError, responseHeadersSent, setResponseHeader } from '@vigil/core';
import { dropSpan, EXCHANGE_KEY, keepQuietSpans, kReusedServerSpan, samplerNeedsStartAttributes, serverSpanParts, setupTracer } from './runtime';
import { startServerSpan, urlScheme, VigilServerSpan } from './vigil-server-span';
import type { ServerTracingOptions } from './types';
import { withContextValue } from './linked-context';
import { hrTimeAfter, perfToHrTime } from './span-time';
import { formatTraceparent, outgoingTraceFlags } from './w3c-trace-context';

/** Options of the server middlewares, normalised once. */
export interface ServerTracingConfig {
  /** `true` when the path must make no span. */
  ignored: ((path: string) => boolean) | undefined;
  traceResponse: boolean;
  traceQuiet: boolean;
}

const TRACERESPONSE_HEADER = 'traceresponse';

/** The methods the HTTP semantic conventions know; any other is recorded as `_OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

/** Span name (and its prefix before the route) for a request whose method is not a known one. */
const OTHER_METHOD_SPAN_NAME = 'HTTP';

/**
 * Normalises `expressTracing` / `koaTracing` options once, throwing a precise TypeError for bad ones.
 */
export function serverTracingConfig(options: ServerTracingOptions | undefined, where: string): ServerTracingConfig {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`vigil: ${where} options must be an object`);
  }
  const o = options ?? {};
  for (const key of ['traceResponse', 'traceQuiet'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw new TypeError(`vigil: ${where} ${key} must be a boolean`);
  }
  return {
    ignored: compilePathFilter(o.ignorePaths, `${where} ignorePaths`, 'tracing.ignorePaths'),
    traceResponse: o.traceResponse ?? true,
    traceQuiet: o.traceQuiet ?? false,
  };
}

/**
 * The request's attributes, for a sampler that may read them at the span's start. A method that
 * is not a known one is `_OTHER`, the method itself going to `http.request.method_original`.
 */
function requestAttributes(ex: Exchange, knownMethod: boolean): Attributes {
  const attributes: Attributes = { 'http.request.method': knownMethod ? ex.method : '_OTHER', 'url.path': ex.path, 'url.scheme': urlScheme(ex), 'network.protocol.version': ex.req.httpVersion };
  if (!knownMethod) attributes['http.request.method_original'] = ex.method;
  return attributes;
}

/** The same attributes set on a span already started (and recording). */
function setRequestAttributes(span: Span, ex: Exchange, knownMethod: boolean): void {
  if (knownMethod) span.setAttribute('http.request.method', ex.method);
  else setOtherMethod(span, ex.method);
  span.setAttribute('url.path', ex.path);
  span.setAttribute('url.scheme', urlScheme(ex));
  span.setAttribute('network.protocol.version', ex.req.httpVersion);
}

/** Records a method outside the known set as the semantic conventions ask. */
function setOtherMethod(span: Span, method: string): void {
  span.setAttribute('http.request.method', '_OTHER');
  span.setAttribute('http.request.method_original', method);
}

/** Minimal view of the SDK span used to recognise instrumentation-http's server span. */
interface SdkSpanView {
  kind?: SpanKind;
}

/**
 * Starts (or adopts) the request's SERVER span and returns the context to run the rest of the
 * request in (span and exchange set), or `undefined` when the request is not traced (ignored
 * path, or already traced by another vigil tracing middleware).
 *
 * If instrumentation-http already made the server span for this request (it is the active local
 * span), that span is adopted: it is renamed and enriched when it ends, not duplicated.
 */
export function enterServerSpan(ex: Exchange, config: ServerTracingConfig): Context | undefined {
  if (ex.span !== undefined) return undefined;
  const tracer = setupTracer();
  if (tracer === undefined) {
    reportError('tracing.setup', new Error('a tracing middleware served a request before setupTracing(); requests are not traced'));
    return undefined;
  }
  if (config.ignored !== undefined && config.ignored(ex.path)) return undefined;
  const active = context.active();
  const existing = trace.getSpan(active);
  let span: Span;
  let ctx: Context;
  if (existing !== undefined && existing.spanContext().isRemote !== true && (existing as SdkSpanView).kind === SpanKind.SERVER) {
    span = existing;
    ctx = withContextValue(active, EXCHANGE_KEY, ex);
    (ex.res as unknown as Record<symbol, Exchange>)[kReusedServerSpan] = ex;
  } else {
    const parent = propagation.extract(active, ex.headers);
    const knownMethod = KNOWN_METHODS.has(ex.method);
    const name = knownMethod ? ex.method : OTHER_METHOD_SPAN_NAME;
    const parts = serverSpanParts();
    if (parts !== undefined) {
      span = startServerSpan(parts, ex, knownMethod, name, parent, samplerNeedsStartAttributes() ? requestAttributes(ex, knownMethod) : undefined);
    } else if (samplerNeedsStartAttributes()) {
      span = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: perfToHrTime(ex.startTime), attributes: requestAttributes(ex, knownMethod) }, parent);
    } else {
      span = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: perfToHrTime(ex.startTime) }, parent);
      if (span.isRecording()) setRequestAttributes(span, ex, knownMethod);
    }
    ctx = trace.setSpan(withContextValue(parent, EXCHANGE_KEY, ex), span);
    if (config.traceQuiet) keepQuietSpans(ex);
    ex.onEnd(config.traceQuiet ? endServerSpanKeepQuiet : endServerSpan);
  }
  const sc = span.spanContext();
  const flags = outgoingTraceFlags(ctx, sc);
  ex.span = span;
  ex.traceId = sc.traceId;
  ex.spanId = sc.spanId;
  ex.traceFlags = flags;
  if (config.traceResponse && !responseHeadersSent(ex.res)) setResponseHeader(ex.res, TRACERESPONSE_HEADER, formatTraceparent(sc.traceId, sc.spanId, flags));
  return ctx;
}

function errorType(error: unknown, status: number): string {
  if (error !== undefined && error !== null && typeof error === 'object') {
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return String(status);
}

function recordError(span: Span, error: unknown, status: number): void {
  if (error !== undefined && error !== null && isServerError(error)) {
    if (error instanceof Error) span.recordException(error);
    else if (typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') span.recordException(error as { message: string });
    else span.recordException(String(error));
  }
  span.setAttribute('error.type', errorType(isServerError(error) ? error : undefined, status));
  const message = error instanceof Error ? error.message : undefined;
  span.setStatus(message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message });
}

/** The method part of a span name: the method, or `HTTP` for one the conventions do not know. */
function spanMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER_METHOD_SPAN_NAME;
}

/** Sets an attribute of vigil's own (valid by construction) without `setAttribute`'s checks where the span allows it. */
function setOwnAttribute(span: Span, key: string, value: string | number): void {
  if (span instanceof VigilServerSpan) span.put(key, value);
  else span.setAttribute(key, value);
}

/** Names the span by route template (`GET /users/:id`, or `HTTP /users/:id` for an unknown method) and sets the response attributes. */
function finishAttributes(span: Span, ex: Exchange): void {
  if (ex.routeMatched) {
    const route = ex.route;
    span.updateName(spanMethod(ex.method) + ' ' + route);
    setOwnAttribute(span, 'http.route', route);
  }
  if (ex.outcome === 'aborted') {
    span.setAttribute('error.type', 'aborted');
    return;
  }
  setOwnAttribute(span, 'http.response.status_code', ex.status);
  if (ex.outcome === 'error' || ex.outcome === 'timeout') recordError(span, ex.error, ex.status);
}

/** The end of a server span: its start (as the SDK holds it) plus the exchange's measured duration. */
function spanEnd(span: Span, ex: Exchange): HrTime | number {
  const start = (span as { startTime?: unknown }).startTime;
  return Array.isArray(start) ? hrTimeAfter(start as HrTime, ex.durationMs) : ex.startTime + ex.durationMs;
}

/** Exchange sink: names the span by route template, sets the response attributes, ends it (drops it when quiet). */
function endServerSpan(ex: Exchange): void {
  const span = ex.span as Span;
  if (ex.quiet) dropSpan(span);
  else if (span.isRecording()) finishAttributes(span, ex);
  span.end(spanEnd(span, ex));
}

/** `endServerSpan` that keeps the spans of quiet exchanges (`traceQuiet`). */
function endServerSpanKeepQuiet(ex: Exchange): void {
  const span = ex.span as Span;
  if (span.isRecording()) finishAttributes(span, ex);
  span.end(spanEnd(span, ex));
}

/**
 * instrumentation-http's `applyCustomAttributesOnSpan` hook: when a vigil middleware adopted the
 * server span, rename it by route template (`HTTP` for a method that is not a known one, which
 * instrumentation-http records as `_OTHER` itself) and record errors before instrumentation-http
 * ends it (it ends the span before the exchange completes, so the exchange's own sink would be late).
 */
export function enrichAdoptedServerSpan(span: Span, _request: unknown, response: unknown): void {
  const res = response as ServerResponse & Record<symbol, Exchange | undefined>;
  if (res === null || typeof res !== 'object') return;
  const ex = res[kReusedServerSpan];
  if (ex === undefined) return;
  if (ex.quiet) {
    dropSpan(span);
    return;
  }
  if (ex.routeMatched) {
    span.updateName(spanMethod(ex.method) + ' ' + ex.route);
    span.setAttribute('http.route', ex.route);
  } else if (!KNOWN_METHODS.has(ex.method)) {
    span.updateName(OTHER_METHOD_SPAN_NAME);
  }
  const status = res.statusCode;
  if (status >= 500 || (ex.error !== undefined && isServerError(ex.error))) recordError(span, ex.error, status);
}
