import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { activeTraceIds, currentExchange, onExchangeEnd, recentEvents, registeredPackage } from '@vigil/core';
import { expressTracing, setupTracing, traced, type TracingHandle } from '@vigil/tracing';
import { close, httpGet, untraced, idOf, kindName, listen, parentId, traceOf, waitFor } from './helpers';

describe('expressTracing', () => {
  let tracing: TracingHandle;
  let downstream: Server;
  let downstreamUrl: string;
  let seenByDownstream: Record<string, string | undefined> = {};

  beforeAll(async () => {
    tracing = setupTracing({ serviceName: 'orders', serviceVersion: '1.2.3', exporter: 'memory', traceSummaries: { intervalMs: 0 } });
    const b = express();
    b.use(expressTracing());
    b.get('/stock/:sku', (req, res) => {
      seenByDownstream = { traceparent: req.headers.traceparent as string | undefined };
      res.json({ sku: req.params.sku, left: 3 });
    });
    ({ server: downstream, url: downstreamUrl } = await listen(b as never));
  });

  afterAll(async () => {
    await close(downstream);
    await tracing.shutdown();
  });

  beforeEach(() => tracing.resetFinishedSpans());

  function app(): express.Express {
    const a = express();
    a.use(expressTracing({ ignorePaths: ['/healthz', /^\/static\//] }));
    a.get('/users/:id', (req, res) => res.json({ id: req.params.id, trace: currentExchange()?.traceId }));
    a.get('/via-http/:sku', async (req, res) => {
      const r = await httpGet(`${downstreamUrl}/stock/${req.params.sku}`);
      res.json(JSON.parse(r.body));
    });
    a.get('/via-fetch/:sku', async (req, res) => {
      const r = await fetch(`${downstreamUrl}/stock/${req.params.sku}`);
      res.json(await r.json());
    });
    a.get('/boom', () => {
      throw new Error('kaput');
    });
    a.get('/missing', (_req, res) => {
      res.status(404).json({ error: 'nope' });
    });
    a.get('/ids', (_req, res) => {
      const outer = activeTraceIds();
      const inner = traced('inner work', () => activeTraceIds());
      res.json({ outer, inner, exchange: { traceId: currentExchange()?.traceId, spanId: currentExchange()?.spanId } });
    });
    a.all('/any', (_req, res) => res.send('any'));
    a.get('/healthz', (_req, res) => res.send('ok'));
    a.get('/static/app.js', (_req, res) => res.send('js'));
    a.get('/probe', async (_req, res) => {
      const ex = currentExchange();
      if (ex) ex.quiet = true;
      await traced('probe check', async () => httpGet(`${downstreamUrl}/stock/probe`));
      res.send('ok');
    });
    return a;
  }

  const serverSpans = (): ReadableSpan[] => tracing.finishedSpans().filter((s) => kindName(s) === 'SERVER');

  it('names the server span by route template with stable HTTP attributes', async () => {
    const durations: number[] = [];
    const stop = onExchangeEnd((ex) => durations.push(ex.durationMs));
    const before = Date.now();
    const res = await request(app()).get('/users/42?x=1');
    const after = Date.now();
    stop();
    expect(res.status).toBe(200);
    const span = await waitFor(() => serverSpans()[0]);
    // on the wall clock, and exactly as long as the exchange the core measured
    const startMs = span.startTime[0] * 1000 + span.startTime[1] / 1e6;
    expect(startMs).toBeGreaterThanOrEqual(before - 1);
    expect(startMs).toBeLessThanOrEqual(after + 1);
    expect(span.duration[0] * 1000 + span.duration[1] / 1e6).toBeCloseTo(durations[0], 5);
    expect(span.name).toBe('GET /users/:id');
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/users/:id',
      'http.response.status_code': 200,
      'url.path': '/users/42',
      'url.scheme': 'http',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(res.body.trace).toBe(traceOf(span));
    expect(span.resource.attributes['service.name']).toBe('orders');
    expect(span.resource.attributes['service.version']).toBe('1.2.3');
  });

  it.each([
    ['http', '/via-http/sku-1'],
    ['fetch', '/via-fetch/sku-1'],
  ])('builds one trace across a second service over %s: server → client → server', async (_kind, path) => {
    const { server, url } = await listen(app() as never);
    const res = await untraced(() => request(url).get(path)).finally(() => close(server));
    expect(res.status).toBe(200);
    expect(res.body.left).toBe(3);
    const spans = await waitFor(() => (tracing.finishedSpans().length >= 3 ? tracing.finishedSpans() : undefined));
    expect(spans).toHaveLength(3);
    const root = spans.find((s) => s.name.startsWith('GET /via-'));
    const client = spans.find((s) => kindName(s) === 'CLIENT');
    const remote = spans.find((s) => s.name === 'GET /stock/:sku');
    expect(root && client && remote).toBeTruthy();
    expect(new Set(spans.map(traceOf)).size).toBe(1);
    expect(parentId(root!)).toBeUndefined();
    expect(parentId(client!)).toBe(idOf(root!));
    expect(parentId(remote!)).toBe(idOf(client!));
    expect(remote!.parentSpanContext?.isRemote).toBe(true);
    expect(seenByDownstream.traceparent).toMatch(new RegExp(`^00-${traceOf(root!)}-${idOf(client!)}-03$`));
  });

  it('continues the caller trace and answers with a traceresponse header', async () => {
    const res = await request(app()).get('/users/7').set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const span = await waitFor(() => serverSpans()[0]);
    expect(traceOf(span)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parentId(span)).toBe('00f067aa0ba902b7');
    expect(res.headers.traceresponse).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${idOf(span)}-01`);
  });

  it('records thrown errors and 5xx as ERROR with an exception event', async () => {
    const res = await request(app()).get('/boom');
    expect(res.status).toBe(500);
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.name).toBe('GET /boom');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['http.response.status_code']).toBe(500);
    expect(span.attributes['error.type']).toBe('Error');
    const event = span.events.find((e) => e.name === 'exception');
    expect(event?.attributes?.['exception.message']).toBe('kaput');
  });

  it('leaves 4xx responses without error status', async () => {
    await request(app()).get('/missing').expect(404);
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events).toHaveLength(0);
    expect(span.attributes['http.response.status_code']).toBe(404);
  });

  it('names unmatched requests by method only', async () => {
    await request(app()).get('/no/such/path').expect(404);
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.name).toBe('GET');
    expect(span.attributes['http.route']).toBeUndefined();
  });

  it('records a method outside the standard set as _OTHER, naming the span HTTP', async () => {
    await request(app()).propfind('/any').expect(200);
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.name).toBe('HTTP /any');
    expect(span.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND', 'http.route': '/any' });
    tracing.resetFinishedSpans();
    await request(app()).propfind('/no/such/path').expect(404);
    const unmatched = await waitFor(() => serverSpans()[0]);
    expect(unmatched.name).toBe('HTTP');
    expect(unmatched.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND' });
    tracing.resetFinishedSpans();
    await request(app()).patch('/any').expect(200);
    const known = await waitFor(() => serverSpans()[0]);
    expect(known.name).toBe('PATCH /any');
    expect(known.attributes['http.request.method']).toBe('PATCH');
    expect(known.attributes['http.request.method_original']).toBeUndefined();
  });

  it('makes no span for ignored paths and quiet exchanges', async () => {
    const a = app();
    await request(a).get('/healthz').expect(200);
    await request(a).get('/static/app.js').expect(200);
    await request(a).get('/probe').expect(200);
    await request(a).get('/users/1').expect(200);
    const ours = (): ReadableSpan[] => serverSpans().filter((s) => s.name !== 'GET /stock/:sku');
    const spans = await waitFor(() => (ours().length > 0 ? ours() : undefined));
    expect(spans.map((s) => s.name)).toEqual(['GET /users/:id']);
    // nor for what a quiet request did: its traced() work and its outgoing call (the service it
    // called makes its own server span, as another process would)
    const quietWork = tracing.finishedSpans().filter((s) => s.name === 'probe check' || String(s.attributes['url.full'] ?? '').includes('/stock/probe'));
    expect(quietWork.map((s) => s.name)).toEqual([]);
    expect(serverSpans().filter((s) => s.name === 'GET /stock/:sku')).toHaveLength(1);
  });

  it('makes no span for /healthz/ and /HEALTHZ with /healthz listed, as Express routes them there, nor for a RegExp match', async () => {
    const a = app(); // ignorePaths: ['/healthz', /^\/static\//]
    for (const path of ['/healthz/', '/HEALTHZ', '/HealthZ/?verbose', '/static/app.js']) {
      const res = await request(a).get(path);
      expect([path, res.status]).toEqual([path, 200]);
    }
    await request(a).get('/users/1').expect(200);
    const spans = await waitFor(() => (serverSpans().length > 0 ? serverSpans() : undefined));
    expect(spans.map((s) => s.name)).toEqual(['GET /users/:id']);
  });

  it('keeps the spans of quiet requests, children included, with traceQuiet', async () => {
    const a = express();
    a.use(expressTracing({ traceQuiet: true }));
    a.get('/probe', (_req, res) => {
      const ex = currentExchange();
      if (ex) ex.quiet = true;
      traced('probe check', () => undefined);
      res.send('ok');
    });
    await request(a).get('/probe').expect(200);
    const server = await waitFor(() => serverSpans().find((s) => s.name === 'GET /probe'));
    const child = await waitFor(() => tracing.finishedSpans().find((s) => s.name === 'probe check'));
    expect(child.spanContext().traceId).toBe(server.spanContext().traceId);
  });

  it('gives logs the active span ids: child span inside traced(), request span outside', async () => {
    const res = await request(app()).get('/ids').expect(200);
    const { outer, inner, exchange } = res.body;
    expect(outer).toEqual(exchange);
    expect(inner.traceId).toBe(outer.traceId);
    expect(inner.spanId).not.toBe(outer.spanId);
    const child = await waitFor(() => tracing.finishedSpans().find((s) => s.name === 'inner work'));
    expect(idOf(child)).toBe(inner.spanId);
    expect(parentId(child)).toBe(outer.spanId);
  });

  it('pushes a summary of each finished trace for the dashboard', async () => {
    recentEvents.traces.clear();
    const { server, url } = await listen(app() as never);
    await untraced(() => request(url).get('/via-http/sku-9').expect(200)).finally(() => close(server));
    const summary = await waitFor(() => recentEvents.traces.toArray().find((t) => t.name === 'GET /via-http/:sku'));
    expect(summary.route).toBe('/via-http/:sku');
    expect(summary.status).toBe(200);
    expect(summary.error).toBe(false);
    expect(summary.spans.map((s) => s.name).sort()).toEqual(['GET', 'GET /stock/:sku', 'GET /via-http/:sku'].sort());
    const root = summary.spans.find((s) => s.parentSpanId === undefined);
    expect(root?.name).toBe('GET /via-http/:sku');
    expect(registeredPackage('tracing')?.snapshot?.()).toMatchObject({ serviceName: 'orders', exporter: 'memory' });
  });

  it('names spans by the whole template with OpenTelemetry\'s express instrumentation also on (it wraps every layer, sub-apps included)', async () => {
    const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
    const instrumentation = new ExpressInstrumentation();
    instrumentation.enable();
    // jest's module registry never reaches the instrumentation's require hook: patch the loaded module
    const definition = instrumentation.getModuleDefinitions().find((d) => d.name === 'express');
    definition?.patch?.(express, '5.0.0');
    try {
      const a = express();
      a.use(expressTracing());
      const users = express.Router();
      users.get('/users/:id', (_req, res) => res.send('u'));
      const v1 = express.Router();
      v1.use('/v1', users);
      a.use('/api', v1);
      const shop = express();
      shop.get('/items/:id', (_req, res) => res.send('i'));
      const mount = express.Router();
      mount.use('/shop', shop);
      a.use(mount);
      const sub = express();
      sub.get('/things/:id', (_req, res) => res.send('t'));
      a.use('/sub', sub);
      expect(((a as unknown as { router: { stack: Array<{ handle: { __wrapped?: boolean } }> } }).router.stack.at(-1)?.handle.__wrapped)).toBe(true);
      for (const path of ['/api/v1/users/1', '/shop/items/2', '/sub/things/3']) await request(a).get(path).expect(200);
      const names = (await waitFor(() => (serverSpans().length >= 3 ? serverSpans() : undefined))).map((s) => s.name);
      expect(names.sort()).toEqual(['GET /api/v1/users/:id', 'GET /shop/items/:id', 'GET /sub/things/:id']);
    } finally {
      definition?.unpatch?.(express);
      instrumentation.disable();
    }
  });

  it('rejects bad options at construction', () => {
    expect(() => expressTracing({ ignorePaths: 'x' as never })).toThrow(TypeError);
    expect(() => expressTracing({ traceResponse: 'yes' as never })).toThrow(/traceResponse/);
  });
});
