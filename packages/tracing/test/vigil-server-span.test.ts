import express from 'express';
import { TraceState } from '@opentelemetry/core';
import request from 'supertest';
import { diag, DiagLogLevel, SpanStatusCode, trace, type DiagLogger } from '@opentelemetry/api';
import { SamplingDecision, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';
import { expressTracing, setupTracing, type TracingHandle } from '@vigil/tracing';
import { serverSpanParts, setActiveTracer, setupTracer, samplerNeedsStartAttributes } from '../src/runtime';
import { VigilServerSpan } from '../src/vigil-server-span';
import { kindName, waitFor } from './helpers';

/** An app whose handler uses the active span as application code does. */
function app(): express.Express {
  const a = express();
  a.use(expressTracing());
  a.get('/users/:id', (req, res) => {
    const span = trace.getActiveSpan();
    span?.setAttribute('user.id', req.params.id);
    span?.setAttributes({ 'user.tier': 'gold', 'user.flags': ['a', 'b'] });
    span?.addEvent('cache miss', { key: 'user:' + req.params.id });
    span?.addLink({ context: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }, attributes: { why: 'batch' } });
    res.json({ id: req.params.id });
  });
  a.get('/fail', () => {
    throw new TypeError('boom');
  });
  return a;
}

/** The fields an exporter reads, to compare two spans made for the same request. */
function exported(span: ReadableSpan): Record<string, unknown> {
  return {
    name: span.name,
    kind: span.kind,
    hasParent: span.parentSpanContext !== undefined,
    attributes: span.attributes,
    status: span.status,
    events: span.events.map((e) => ({ name: e.name, attributes: { ...e.attributes, 'exception.stacktrace': undefined }, dropped: e.droppedAttributesCount })),
    links: span.links,
    dropped: [span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount],
    ended: span.ended,
    resource: span.resource.attributes,
    scope: span.instrumentationScope,
    durationOk: span.duration[0] >= 0 && span.duration[1] >= 0,
  };
}

describe('VigilServerSpan (the server span vigil starts itself)', () => {
  let tracing: TracingHandle;

  afterEach(async () => {
    await tracing.shutdown();
    delete process.env.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT;
    delete process.env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT;
  });

  it('is what a request gets, and exports as the SDK span made for the same request would', async () => {
    tracing = setupTracing({ serviceName: 'parity', exporter: 'memory', traceSummaries: false });
    expect(serverSpanParts()).toBeDefined();
    const a = app();
    await request(a).get('/users/42').expect(200);
    await request(a).get('/fail').expect(500);
    const lean = tracing.finishedSpans().filter((s) => kindName(s) === 'SERVER');
    expect(lean).toHaveLength(2);
    for (const span of lean) expect(span).toBeInstanceOf(VigilServerSpan);
    tracing.resetFinishedSpans();

    // the same requests through the SDK's own Tracer.startSpan (what runs without the factory parts)
    setActiveTracer(setupTracer(), samplerNeedsStartAttributes(), undefined);
    await request(a).get('/users/42').expect(200);
    await request(a).get('/fail').expect(500);
    const sdk = tracing.finishedSpans().filter((s) => kindName(s) === 'SERVER');
    expect(sdk).toHaveLength(2);
    for (const span of sdk) expect(span).not.toBeInstanceOf(VigilServerSpan);
    expect(lean.map(exported)).toEqual(sdk.map(exported));
    const [users, fail] = lean;
    expect(users.attributes).toMatchObject({ 'http.route': '/users/:id', 'user.id': '42', 'user.flags': ['a', 'b'], 'http.response.status_code': 200 });
    expect(users.events.map((e) => e.name)).toEqual(['cache miss']);
    expect(users.links).toHaveLength(1);
    expect(fail.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(fail.events[0].attributes).toMatchObject({ 'exception.type': 'TypeError', 'exception.message': 'boom' });
  });

  it.each([
    ['a value length limit of 0 (the SDK truncates nothing)', { OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '0' }],
    ['a negative count limit (the SDK keeps no attribute)', { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '-1' }],
    ['tight limits', { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '5', OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '4', OTEL_SPAN_EVENT_COUNT_LIMIT: '0', OTEL_SPAN_LINK_COUNT_LIMIT: '0' }],
  ])('exports as the SDK span would under %s', async (_title, env: Record<string, string>) => {
    Object.assign(process.env, env);
    try {
      tracing = setupTracing({ serviceName: 'limits', exporter: 'memory', traceSummaries: false });
      const a = app();
      await request(a).get('/users/123456789').expect(200);
      const lean = await waitFor(() => tracing.finishedSpans().find((s) => kindName(s) === 'SERVER'));
      expect(lean).toBeInstanceOf(VigilServerSpan);
      tracing.resetFinishedSpans();
      setActiveTracer(setupTracer(), samplerNeedsStartAttributes(), undefined);
      await request(a).get('/users/123456789').expect(200);
      const sdk = await waitFor(() => tracing.finishedSpans().find((s) => kindName(s) === 'SERVER'));
      expect(exported(lean)).toEqual(exported(sdk));
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
    }
  });

  it('applies the span limits (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT)', async () => {
    process.env.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT = '3';
    process.env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT = '6';
    tracing = setupTracing({ serviceName: 'limits', exporter: 'memory', traceSummaries: false });
    await request(app()).get('/users/123456789').expect(200);
    const span = await waitFor(() => tracing.finishedSpans().find((s) => kindName(s) === 'SERVER'));
    expect(span).toBeInstanceOf(VigilServerSpan);
    expect(Object.keys(span.attributes)).toEqual(['http.request.method', 'url.path', 'url.scheme']);
    expect(span.attributes['url.path']).toBe('/users');
    expect(span.droppedAttributesCount).toBeGreaterThan(0);
  });

  it("gives a sampler the request attributes, and keeps the sampler's attributes and trace state", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const sampler: Sampler = {
      shouldSample(_ctx, _traceId, _name, _kind, attributes) {
        seen.push({ ...attributes });
        return { decision: SamplingDecision.RECORD_AND_SAMPLED, attributes: { 'sampler.rule': 'all' }, traceState: new TraceState('rule=all') };
      },
      toString: () => 'test',
    };
    tracing = setupTracing({ serviceName: 'sampler', exporter: 'memory', sampler, traceSummaries: false });
    await request(app()).get('/users/7').expect(200);
    // the first decision is supertest's own (client) request
    expect(seen.find((attributes) => attributes['url.path'] !== undefined)).toMatchObject({ 'http.request.method': 'GET', 'url.path': '/users/7', 'url.scheme': 'http' });
    const span = await waitFor(() => tracing.finishedSpans().find((s) => kindName(s) === 'SERVER'));
    expect(span.attributes).toMatchObject({ 'sampler.rule': 'all', 'http.route': '/users/:id' });
    expect(span).toBeInstanceOf(VigilServerSpan);
    expect(span.spanContext().traceState?.get('rule')).toBe('all');
  });

  it('ignores changes after its end and warns, as the SDK span does', async () => {
    tracing = setupTracing({ serviceName: 'ended', exporter: 'memory', traceSummaries: false });
    let kept: ReturnType<typeof trace.getActiveSpan>;
    const a = express();
    a.use(expressTracing());
    a.get('/x', (_req, res) => {
      kept = trace.getActiveSpan();
      res.send('x');
    });
    await request(a).get('/x').expect(200);
    const span = await waitFor(() => tracing.finishedSpans().find((s) => kindName(s) === 'SERVER'));
    const warnings: unknown[] = [];
    const logger: DiagLogger = { warn: (m) => warnings.push(m), error: (m) => warnings.push(m), info: () => undefined, debug: () => undefined, verbose: () => undefined };
    diag.setLogger(logger, DiagLogLevel.WARN);
    try {
      kept?.setAttribute('late', 1);
      kept?.end();
    } finally {
      diag.disable();
    }
    expect(span.attributes.late).toBeUndefined();
    expect(warnings).toHaveLength(2);
    expect(kept?.isRecording()).toBe(false);
  });
});
