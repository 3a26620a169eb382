import {
  createContextKey,
  isSpanContextValid,
  trace,
  type Context,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type TraceState,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';

/** Header names (lower case; Node lower-cases incoming header names). */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/** W3C flags this implementation knows: `sampled` (01) and Level 2 `random-trace-id` (02). */
const FLAG_SAMPLED = 0x01;
const FLAG_RANDOM = 0x02;
const FLAG_HEX = ['00', '01', '02', '03'];

/** At most this many list members in `tracestate` (Level 1 and 2). */
const MAX_TRACESTATE_MEMBERS = 32;

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';
const SIMPLE_KEY_RE = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const TENANT_KEY_RE = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
const VALUE_RE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** A `traceparent` that passed validation. */
export interface ParsedTraceparent {
  version: string;
  traceId: string;
  spanId: string;
  /** The full flags byte as received. */
  flags: number;
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * Parses a `traceparent` header value strictly (W3C Trace Context Level 2):
 * lower-case hex only; version `ff` is invalid; version `00` must have exactly four fields; a
 * higher version may carry more fields after a `-`; all-zero trace or parent ids are invalid;
 * optional whitespace around the value is tolerated; a value that Node joined from duplicate
 * headers (`a, b`) or that came as several values is rejected.
 *
 * @example
 * ```ts
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
 * // { version: '00', traceId: '4bf9...', spanId: '00f0...', flags: 1 }
 * parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'); // undefined
 * ```
 */
export function parseTraceparent(raw: string | string[] | undefined): ParsedTraceparent | undefined {
  if (raw === undefined) return undefined;
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if (Array.isArray(raw) && raw.length === 1 && typeof raw[0] === 'string') value = raw[0];
  else return undefined;
  if (value.indexOf(',') !== -1) return undefined;
  value = trimOws(value);
  if (value.length < 55) return undefined;
  const match = TRACEPARENT_RE.exec(value);
  if (match === null) return undefined;
  const version = match[1];
  if (version === 'ff') return undefined;
  if (version === '00' && match[5] !== undefined) return undefined;
  const traceId = match[2];
  const spanId = match[3];
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { version, traceId, spanId, flags: parseInt(match[4], 16) };
}

/**
 * A `tracestate` list kept exactly as received (order, values), implementing OpenTelemetry's
 * `TraceState`. `set` moves the key to the front, as the specification asks of a vendor that
 * updates its entry.
 *
 * @example
 * ```ts
 * const state = parseTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
 * state?.set('congo', 'ucfJifl5GOE').serialize(); // 'congo=ucfJifl5GOE,rojo=00f067aa0ba902b7'
 * ```
 */
export class W3CTraceState implements TraceState {
  private readonly entries: ReadonlyArray<readonly [string, string]>;

  constructor(entries: ReadonlyArray<readonly [string, string]> = []) {
    this.entries = entries;
  }

  get(key: string): string | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }

  set(key: string, value: string): W3CTraceState {
    if (!isValidTracestateKey(key) || !VALUE_RE.test(value)) return this;
    const rest = this.entries.filter(([k]) => k !== key);
    return new W3CTraceState([[key, value] as const, ...rest].slice(0, MAX_TRACESTATE_MEMBERS));
  }

  unset(key: string): W3CTraceState {
    return new W3CTraceState(this.entries.filter(([k]) => k !== key));
  }

  serialize(): string {
    let out = '';
    for (let i = 0; i < this.entries.length; i++) out += (i === 0 ? '' : ',') + this.entries[i][0] + '=' + this.entries[i][1];
    return out;
  }

  /** Number of list members. */
  get size(): number {
    return this.entries.length;
  }
}

function isValidTracestateKey(key: string): boolean {
  return key.indexOf('@') === -1 ? SIMPLE_KEY_RE.test(key) : TENANT_KEY_RE.test(key);
}

/**
 * Parses a `tracestate` header strictly: keys by the Level 2 grammar (simple keys up to 256
 * characters, `tenant@system` keys with a tenant of up to 241 and a system of up to 14
 * characters), values of allowed characters (no `,` or `=`, not ending in a space), at most 32
 * members, no duplicate keys, whitespace around members and empty members allowed. Several
 * header fields are combined in order. Any violation discards the whole header (`undefined`).
 *
 * @example
 * ```ts
 * parseTracestate('foo=1 , bar=2')?.serialize(); // 'foo=1,bar=2'
 * parseTracestate('foo=1,foo=2'); // undefined (duplicate key)
 * ```
 */
export function parseTracestate(raw: string | string[] | undefined): W3CTraceState | undefined {
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(',') : undefined;
  if (value === undefined || value.length === 0) return undefined;
  const parts = value.split(',');
  const entries: Array<readonly [string, string]> = [];
  for (let i = 0; i < parts.length; i++) {
    const member = trimOws(parts[i]);
    if (member.length === 0) continue;
    if (entries.length === MAX_TRACESTATE_MEMBERS) return undefined;
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    const val = member.slice(eq + 1);
    if (!isValidTracestateKey(key) || !VALUE_RE.test(val)) return undefined;
    for (let j = 0; j < entries.length; j++) if (entries[j][0] === key) return undefined;
    entries.push([key, val] as const);
  }
  return entries.length === 0 ? undefined : new W3CTraceState(entries);
}

/** What the extractor remembers about the caller's trace: its id and random-trace-id flag. */
interface RemoteTraceFlags {
  traceId: string;
  random: boolean;
}

const REMOTE_TRACE_KEY = createContextKey('vigil.tracing.remoteTraceFlags');

let localTracesRandom = true;

/** Whether traces started in this process claim the random-trace-id flag (set by `setupTracing`). */
export function setLocalTraceIdsRandom(random: boolean): void {
  localTracesRandom = random;
}

/**
 * The W3C flags to send for `spanContext` in `ctx`: the sampled bit of the span, and the
 * random-trace-id bit as the caller sent it when the trace was continued, or this process's
 * own claim when it started the trace. Unknown bits are never sent.
 *
 * @example
 * ```ts
 * const flags = outgoingTraceFlags(context.active(), span.spanContext()); // 0..3
 * ```
 */
export function outgoingTraceFlags(ctx: Context, spanContext: SpanContext): number {
  const sampled = spanContext.traceFlags & FLAG_SAMPLED;
  const remote = ctx.getValue(REMOTE_TRACE_KEY) as RemoteTraceFlags | undefined;
  if (remote !== undefined && remote.traceId === spanContext.traceId) return sampled | (remote.random ? FLAG_RANDOM : 0);
  if (spanContext.isRemote === true) return sampled | (spanContext.traceFlags & FLAG_RANDOM);
  return sampled | (localTracesRandom ? FLAG_RANDOM : 0);
}

/**
 * Formats a version-00 `traceparent` (also the `traceresponse` value).
 *
 * @example
 * ```ts
 * formatTraceparent('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 3); // '00-4bf9...-00f0...-03'
 * ```
 */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return '00-' + traceId + '-' + spanId + '-' + FLAG_HEX[flags & 0x03];
}

/**
 * Strict W3C Trace Context propagator (Level 2): validates `traceparent` and `tracestate` as the
 * specification and its test suite require, keeps the caller's random-trace-id flag, drops
 * `tracestate` when `traceparent` is invalid, and restarts the trace on anything invalid.
 * `setupTracing` installs it for the `'tracecontext'` propagator name.
 *
 * @example
 * ```ts
 * propagation.setGlobalPropagator(new W3CTraceContextPropagator());
 * const ctx = propagation.extract(ROOT_CONTEXT, req.headers);
 * ```
 */
export class W3CTraceContextPropagator implements TextMapPropagator {
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(ctx);
    if (spanContext === undefined || isTracingSuppressed(ctx) || !isSpanContextValid(spanContext)) return;
    setter.set(carrier, TRACEPARENT_HEADER, formatTraceparent(spanContext.traceId, spanContext.spanId, outgoingTraceFlags(ctx, spanContext)));
    const state = spanContext.traceState?.serialize();
    if (state) setter.set(carrier, TRACESTATE_HEADER, state);
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const parent = parseTraceparent(getter.get(carrier, TRACEPARENT_HEADER));
    if (parent === undefined) return ctx;
    const traceState = parseTracestate(getter.get(carrier, TRACESTATE_HEADER));
    const remote: RemoteTraceFlags = { traceId: parent.traceId, random: (parent.flags & FLAG_RANDOM) !== 0 };
    const spanContext: SpanContext = {
      traceId: parent.traceId,
      spanId: parent.spanId,
      traceFlags: parent.flags & (FLAG_SAMPLED | FLAG_RANDOM),
      isRemote: true,
    };
    if (traceState !== undefined) spanContext.traceState = traceState;
    return trace.setSpanContext(ctx.setValue(REMOTE_TRACE_KEY, remote), spanContext);
  }

  fields(): string[] {
    return [TRACEPARENT_HEADER, TRACESTATE_HEADER];
  }
}
