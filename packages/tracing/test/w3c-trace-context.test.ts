import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator, parseTraceparent, parseTracestate } from '@vigil/tracing';

const TRACE_ID = '12345678901234567890123456789012';
const SPAN_ID = '1234567890123456';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;
const propagator = new W3CTraceContextPropagator();

function extract(headers: Record<string, string | string[]>): Context {
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

function extracted(headers: Record<string, string | string[]>) {
  return trace.getSpanContext(extract(headers));
}

/** Extracts, then injects from a local child span of the extracted context (as a service would). */
function roundTrip(headers: Record<string, string | string[]>): Record<string, string> {
  const ctx = extract(headers);
  const parent = trace.getSpanContext(ctx);
  const child = parent
    ? trace.setSpanContext(ctx, { traceId: parent.traceId, spanId: 'abcdefabcdefabcd', traceFlags: parent.traceFlags & TraceFlags.SAMPLED, traceState: parent.traceState })
    : ctx;
  const out: Record<string, string> = {};
  propagator.inject(child, out, defaultTextMapSetter);
  return out;
}

describe('W3CTraceContextPropagator: traceparent', () => {
  it('accepts a valid version 00 traceparent', () => {
    expect(extracted({ traceparent: VALID })).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
  });

  it('keeps the random-trace-id flag (02) when continuing a trace', () => {
    expect(roundTrip({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-03` }).traceparent).toBe(`00-${TRACE_ID}-abcdefabcdefabcd-03`);
    expect(roundTrip({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-02` }).traceparent).toBe(`00-${TRACE_ID}-abcdefabcdefabcd-02`);
  });

  it('does not invent the random flag for a continued trace that lacked it', () => {
    expect(roundTrip({ traceparent: VALID }).traceparent).toBe(`00-${TRACE_ID}-abcdefabcdefabcd-01`);
  });

  it('never sends unknown flag bits', () => {
    expect(roundTrip({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-ff` }).traceparent).toBe(`00-${TRACE_ID}-abcdefabcdefabcd-03`);
  });

  it('rejects version ff', () => {
    expect(parseTraceparent(`ff-${TRACE_ID}-${SPAN_ID}-01`)).toBeUndefined();
  });

  it('rejects version 00 with extra data', () => {
    expect(parseTraceparent(`${VALID}-what-the-future-will-be-like`)).toBeUndefined();
    expect(parseTraceparent(`${VALID}.`)).toBeUndefined();
  });

  it('accepts a higher version, with or without extra fields after a dash', () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01`)?.traceId).toBe(TRACE_ID);
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`)?.traceId).toBe(TRACE_ID);
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01.what-the-future-will-be-like`)).toBeUndefined();
  });

  it('injects the highest known version (00) when continuing a higher version', () => {
    expect(roundTrip({ traceparent: `cc-${TRACE_ID}-${SPAN_ID}-01-future` }).traceparent).toBe(`00-${TRACE_ID}-abcdefabcdefabcd-01`);
  });

  it('tolerates optional whitespace around the value', () => {
    for (const value of [` ${VALID}`, `\t${VALID}`, `${VALID} `, `${VALID}\t`, `\t ${VALID} \t`]) {
      expect(parseTraceparent(value)?.traceId).toBe(TRACE_ID);
    }
  });

  it('restarts the trace on an all-zero trace id or parent id', () => {
    expect(extracted({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` })).toBeUndefined();
    expect(extracted({ traceparent: `00-${TRACE_ID}-${'0'.repeat(16)}-01` })).toBeUndefined();
  });

  it('rejects a traceparent that Node joined from duplicate headers', () => {
    const joined = `00-${TRACE_ID.replace(/2$/, '1')}-${SPAN_ID}-01, ${VALID}`;
    expect(extracted({ traceparent: joined })).toBeUndefined();
    expect(extracted({ traceparent: [VALID, VALID] })).toBeUndefined();
  });

  it.each([
    ['illegal version characters', `.0-${TRACE_ID}-${SPAN_ID}-01`],
    ['version too long', `000-${TRACE_ID}-${SPAN_ID}-01`],
    ['version too short', `0-${TRACE_ID}-${SPAN_ID}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase().replace(/1/g, 'A')}-${SPAN_ID}-01`],
    ['illegal trace id characters', `00-.2345678901234567890123456789012-${SPAN_ID}-01`],
    ['trace id too long', `00-${TRACE_ID}3-${SPAN_ID}-01`],
    ['trace id too short', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['illegal parent id characters', `00-${TRACE_ID}-.234567890123456-01`],
    ['parent id too long', `00-${TRACE_ID}-${SPAN_ID}7-01`],
    ['parent id too short', `00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`],
    ['illegal flag characters', `00-${TRACE_ID}-${SPAN_ID}-.0`],
    ['flags too long', `00-${TRACE_ID}-${SPAN_ID}-001`],
    ['flags too short', `00-${TRACE_ID}-${SPAN_ID}-1`],
  ])('rejects %s', (_rule, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('reads header names in any case through the carrier (Node lower-cases them)', () => {
    expect(extracted({ traceparent: VALID })?.traceId).toBe(TRACE_ID);
  });
});

describe('W3CTraceContextPropagator: tracestate', () => {
  const withState = (tracestate: string | string[]) => extracted({ traceparent: VALID, tracestate })?.traceState;

  it('drops tracestate when traceparent is invalid', () => {
    const ctx = extract({ traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'foo=1' });
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    const out: Record<string, string> = {};
    propagator.inject(ctx, out, defaultTextMapSetter);
    expect(out).toEqual({});
  });

  it('propagates a valid tracestate unchanged, in order', () => {
    expect(roundTrip({ traceparent: VALID, tracestate: 'foo=1,bar=2' }).tracestate).toBe('foo=1,bar=2');
  });

  it('combines several header fields in order, ignoring empty members and whitespace', () => {
    expect(withState(['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'])?.serialize()).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    expect(withState('foo=1, ')?.serialize()).toBe('foo=1');
    expect(withState('foo=1 \t , \t bar=2, \t baz=3')?.serialize()).toBe('foo=1,bar=2,baz=3');
    expect(withState('')).toBeUndefined();
  });

  it('discards a tracestate with duplicate keys', () => {
    expect(withState('foo=1,foo=1')).toBeUndefined();
    expect(withState(['foo=1', 'foo=2'])).toBeUndefined();
  });

  it('validates key grammar', () => {
    expect(withState('foo =1')).toBeUndefined();
    expect(withState('FOO=1')).toBeUndefined();
    expect(withState('foo.bar=1')).toBeUndefined();
    expect(withState('abcdefghijklmnopqrstuvwxyz0123456789_-*/=1')?.get('abcdefghijklmnopqrstuvwxyz0123456789_-*/')).toBe('1');
  });

  it('validates the tenant@system form', () => {
    for (const bad of ['foo@=1,bar=2', '@foo=1,bar=2', 'foo@@bar=1,bar=2', 'foo@bar@baz=1,bar=2']) expect(withState(bad)).toBeUndefined();
    expect(withState('abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=1')?.get('abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/')).toBe('1');
  });

  it('limits keys to 256 characters (tenant 241, system 14)', () => {
    expect(withState(['foo=1', `${'z'.repeat(256)}=1`])?.get('foo')).toBe('1');
    expect(withState(['foo=1', `${'z'.repeat(257)}=1`])).toBeUndefined();
    expect(withState(['foo=1', `${'t'.repeat(241)}@${'v'.repeat(14)}=1`])?.get('foo')).toBe('1');
    expect(withState(['foo=1', `${'t'.repeat(242)}@v=1`])).toBeUndefined();
    expect(withState(['foo=1', `t@${'v'.repeat(15)}=1`])).toBeUndefined();
  });

  it('allows at most 32 members', () => {
    const members = Array.from({ length: 33 }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i}`);
    expect(withState(members.slice(0, 32).join(','))?.serialize().split(',')).toHaveLength(32);
    expect(withState(members.join(','))).toBeUndefined();
  });

  it('validates value characters', () => {
    const allowed = [0x20, 0x2b, 0x2d, 0x3c, 0x3e, 0x7e].map((c) => String.fromCharCode(c)).join('') + 'x';
    expect(withState(`foo=${allowed}`)?.get('foo')).toBe(allowed);
    expect(withState('foo=bar=baz')).toBeUndefined();
    expect(withState('foo=,bar=3')).toBeUndefined();
    expect(withState('foo=caf\u00e9')).toBeUndefined();
    expect(withState(`foo=${'v'.repeat(257)}`)).toBeUndefined();
  });

  it('moves an updated key to the front', () => {
    expect(parseTracestate('rojo=1,congo=2')?.set('congo', '3').serialize()).toBe('congo=3,rojo=1');
  });
});
