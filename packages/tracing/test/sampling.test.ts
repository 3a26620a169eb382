import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { SpanKind } from '@opentelemetry/api';
import { SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace-base';
import { currentExchange } from '@vigil/core';
import { expressTracing, setupTracing, type TracingHandle } from '@vigil/tracing';
import { close, httpGet, listen, untraced } from './helpers';

describe('sampling', () => {
  let tracing: TracingHandle;
  let downstream: Server;
  let downstreamUrl: string;
  let upstream: Server;
  let upstreamUrl: string;
  let seen: Array<string | undefined> = [];

  beforeAll(async () => {
    tracing = setupTracing({ serviceName: 'unsampled', exporter: 'memory', sampler: 0 });
    const b = express();
    b.use(expressTracing());
    b.get('/leaf', (req, res) => {
      seen.push(req.headers.traceparent as string | undefined);
      res.json({ traceId: currentExchange()?.traceId });
    });
    ({ server: downstream, url: downstreamUrl } = await listen(b as never));
    const a = express();
    a.use(expressTracing());
    a.get('/root', async (_req, res) => {
      const viaHttp = JSON.parse((await httpGet(`${downstreamUrl}/leaf`)).body);
      const viaFetch = await (await fetch(`${downstreamUrl}/leaf`)).json();
      res.json({ traceId: currentExchange()?.traceId, viaHttp, viaFetch });
    });
    ({ server: upstream, url: upstreamUrl } = await listen(a as never));
  });

  afterAll(async () => {
    await close(upstream);
    await close(downstream);
    await tracing.shutdown();
  });

  beforeEach(() => {
    seen = [];
    tracing.resetFinishedSpans();
  });

  it('still propagates the trace context when nothing is sampled', async () => {
    const res = await untraced(() => httpGet(`${upstreamUrl}/root`));
    const body = JSON.parse(res.body);
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(body.viaHttp.traceId).toBe(body.traceId);
    expect(body.viaFetch.traceId).toBe(body.traceId);
    expect(seen).toHaveLength(2);
    for (const tp of seen) expect(tp).toMatch(new RegExp(`^00-${body.traceId}-[0-9a-f]{16}-02$`));
    expect(res.headers.traceresponse).toMatch(new RegExp(`^00-${body.traceId}-[0-9a-f]{16}-02$`));
    expect(tracing.finishedSpans()).toHaveLength(0);
  });

  it("follows a caller's sampled flag (parent-based)", async () => {
    const res = await untraced(() => httpGet(`${upstreamUrl}/root`, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }));
    expect(JSON.parse(res.body).traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const tp of seen) expect(tp).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(tracing.finishedSpans().length).toBeGreaterThanOrEqual(4);
  });
});

describe('a sampler of your own', () => {
  it('sees the request attributes when it decides, and decides per request', async () => {
    const seenAttributes: Array<Record<string, unknown>> = [];
    const sampler: Sampler = {
      shouldSample: (_ctx, _traceId, _name, kind, attributes) => {
        if (kind === SpanKind.SERVER) seenAttributes.push({ ...attributes });
        return { decision: attributes['url.path'] === '/keep' ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
      },
      toString: () => 'path sampler',
    };
    const tracing = setupTracing({ serviceName: 'custom-sampler', exporter: 'memory', sampler, instrumentHttp: false, instrumentFetch: false });
    const app = express();
    app.use(expressTracing());
    app.get('/:which', (_req, res) => {
      res.send('ok');
    });
    const { server, url } = await listen(app as never);
    try {
      await httpGet(`${url}/keep`);
      await httpGet(`${url}/drop`);
      expect(seenAttributes).toEqual([
        expect.objectContaining({ 'http.request.method': 'GET', 'url.path': '/keep', 'url.scheme': 'http' }),
        expect.objectContaining({ 'http.request.method': 'GET', 'url.path': '/drop' }),
      ]);
      const spans = tracing.finishedSpans();
      expect(spans.map((s) => s.name)).toEqual(['GET /:which']);
      expect(spans[0].attributes).toMatchObject({ 'http.request.method': 'GET', 'url.path': '/keep', 'http.route': '/:which', 'http.response.status_code': 200 });
      tracing.resetFinishedSpans();
      await request(url).propfind('/keep');
      expect(seenAttributes[2]).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND', 'url.path': '/keep' });
      expect(tracing.finishedSpans().map((s) => s.name)).toEqual(['HTTP']);
    } finally {
      await close(server);
      await tracing.shutdown();
    }
  });
});
