import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { currentExchange } from '@vigil/core';
import { koaTracing, setupTracing, type TracingHandle } from '@vigil/tracing';
import { close, httpGet, idOf, kindName, listen, parentId, traceOf, untraced, waitFor } from './helpers';

describe('koaTracing', () => {
  let tracing: TracingHandle;
  let downstream: Server;
  let downstreamUrl: string;

  beforeAll(async () => {
    tracing = setupTracing({ serviceName: 'orders-koa', exporter: 'memory' });
    const b = new Koa();
    const router = new Router();
    router.get('/stock/:sku', (ctx) => {
      ctx.body = { sku: ctx.params.sku, left: 5 };
    });
    b.use(koaTracing());
    b.use(router.routes());
    ({ server: downstream, url: downstreamUrl } = await listen(b.callback()));
  });

  afterAll(async () => {
    await close(downstream);
    await tracing.shutdown();
  });

  beforeEach(() => tracing.resetFinishedSpans());

  function app(): Koa {
    const a = new Koa();
    a.silent = true;
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id, trace: currentExchange()?.traceId };
    });
    router.get('/via-http/:sku', async (ctx) => {
      ctx.body = JSON.parse((await httpGet(`${downstreamUrl}/stock/${ctx.params.sku}`)).body);
    });
    router.get('/via-fetch/:sku', async (ctx) => {
      ctx.body = await (await fetch(`${downstreamUrl}/stock/${ctx.params.sku}`)).json();
    });
    router.get('/boom', async () => {
      await Promise.resolve();
      throw new Error('kaput');
    });
    router.get('/forbidden', (ctx) => ctx.throw(403, 'no'));
    router.all('/any', (ctx) => {
      ctx.body = 'any';
    });
    router.get('/healthz', (ctx) => {
      ctx.body = 'ok';
    });
    router.get('/probe', (ctx) => {
      const ex = currentExchange();
      if (ex) ex.quiet = true;
      ctx.body = 'ok';
    });
    a.use(koaTracing({ ignorePaths: ['/healthz'] }));
    a.use(router.routes());
    return a;
  }

  const serverSpans = (): ReadableSpan[] => tracing.finishedSpans().filter((s) => kindName(s) === 'SERVER');

  it('names the server span by the @koa/router template', async () => {
    const res = await request(app().callback()).get('/users/42');
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.name).toBe('GET /users/:id');
    expect(span.attributes).toMatchObject({ 'http.route': '/users/:id', 'http.response.status_code': 200, 'url.path': '/users/42' });
    expect(res.body.trace).toBe(traceOf(span));
    expect(res.headers.traceresponse).toBe(`00-${traceOf(span)}-${idOf(span)}-03`);
  });

  it.each([
    ['http', '/via-http/sku-2'],
    ['fetch', '/via-fetch/sku-2'],
  ])('builds one trace across a second service over %s: server → client → server', async (_kind, path) => {
    const { server, url } = await listen(app().callback());
    const res = await untraced(() => request(url).get(path)).finally(() => close(server));
    expect(res.body.left).toBe(5);
    const spans = await waitFor(() => (tracing.finishedSpans().length >= 3 ? tracing.finishedSpans() : undefined));
    expect(spans).toHaveLength(3);
    const root = spans.find((s) => s.name.startsWith('GET /via-'))!;
    const client = spans.find((s) => kindName(s) === 'CLIENT')!;
    const remote = spans.find((s) => s.name === 'GET /stock/:sku')!;
    expect(new Set(spans.map(traceOf)).size).toBe(1);
    expect(parentId(root)).toBeUndefined();
    expect(parentId(client)).toBe(idOf(root));
    expect(parentId(remote)).toBe(idOf(client));
  });

  it('records a thrown error as ERROR with an exception event', async () => {
    await request(app().callback()).get('/boom').expect(500);
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.name).toBe('GET /boom');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('kaput');
  });

  it('does not mark ctx.throw(403) as an error', async () => {
    await request(app().callback()).get('/forbidden').expect(403);
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events).toHaveLength(0);
    expect(span.attributes['http.response.status_code']).toBe(403);
  });

  it('records a method outside the standard set as _OTHER, naming the span HTTP', async () => {
    await request(app().callback()).propfind('/any').expect(200);
    const span = await waitFor(() => serverSpans()[0]);
    expect(span.name).toBe('HTTP /any');
    expect(span.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND', 'http.route': '/any' });
    tracing.resetFinishedSpans();
    await request(app().callback()).propfind('/no/such/path').expect(404);
    const unmatched = await waitFor(() => serverSpans()[0]);
    expect(unmatched.name).toBe('HTTP');
    expect(unmatched.attributes['http.request.method']).toBe('_OTHER');
    tracing.resetFinishedSpans();
    await request(app().callback()).delete('/any').expect(200);
    const known = await waitFor(() => serverSpans()[0]);
    expect(known.name).toBe('DELETE /any');
    expect(known.attributes['http.request.method']).toBe('DELETE');
    expect(known.attributes['http.request.method_original']).toBeUndefined();
  });

  it('makes no span for ignored paths and quiet exchanges', async () => {
    const a = app().callback();
    await request(a).get('/healthz').expect(200);
    await request(a).get('/probe').expect(200);
    await request(a).get('/users/3').expect(200);
    const spans = await waitFor(() => (serverSpans().length > 0 ? serverSpans() : undefined));
    expect(spans.map((s) => s.name)).toEqual(['GET /users/:id']);
  });

  it('rejects bad options at construction', () => {
    expect(() => koaTracing({ ignorePaths: [42 as never] })).toThrow(TypeError);
  });
});
