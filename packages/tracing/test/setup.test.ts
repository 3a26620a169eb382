import express from 'express';
import request from 'supertest';
import { SpanStatusCode } from '@opentelemetry/api';
import { currentExchange, recentEvents } from '@vigil/core';
import { expressTracing, setupTracing } from '@vigil/tracing';
import { close, httpGet, kindName, listen, untraced, waitFor } from './helpers';

describe('setupTracing', () => {
  it.each([
    [{ serviceName: '' }, /serviceName/],
    [{ exporter: 'jaeger' as never }, /exporter/],
    [{ sampler: 1.5 }, /sampler ratio/],
    [{ sampler: 'sometimes' as never }, /sampler/],
    [{ propagators: ['w3c' as never] }, /propagators/],
    [{ instrumentHttp: 'incoming' as never }, /instrumentHttp/],
    [{ batch: { maxQueueSize: 0 } }, /batch.maxQueueSize/],
    [{ traceSummaries: { intervalMs: -1 } }, /traceSummaries.intervalMs/],
  ])('rejects bad options with a precise TypeError (%p)', (options, message) => {
    expect(() => setupTracing(options)).toThrow(TypeError);
    expect(() => setupTracing(options)).toThrow(message);
  });

  it('adopts and renames the server span made by instrumentation-http instead of making a second one', async () => {
    const tracing = setupTracing({ serviceName: 'adopt', exporter: 'memory', instrumentHttp: 'all' });
    const app = express();
    app.use(expressTracing());
    app.get('/orders/:id', (_req, res) => res.json({ traceId: currentExchange()?.traceId, spanId: currentExchange()?.spanId }));
    app.get('/fail', () => {
      throw new Error('db down');
    });
    app.all('/any', (_req, res) => res.send('any'));
    const { server, url } = await listen(app as never);
    try {
      const res = await untraced(() => httpGet(`${url}/orders/9`));
      const ids = JSON.parse(res.body);
      const servers = await waitFor(() => {
        const found = tracing.finishedSpans().filter((s) => kindName(s) === 'SERVER');
        return found.length > 0 ? found : undefined;
      });
      expect(servers).toHaveLength(1);
      expect(servers[0].instrumentationScope.name).toBe('@opentelemetry/instrumentation-http');
      expect(servers[0].name).toBe('GET /orders/:id');
      expect(servers[0].attributes['http.route']).toBe('/orders/:id');
      expect(servers[0].spanContext().spanId).toBe(ids.spanId);
      tracing.resetFinishedSpans();
      await untraced(() => httpGet(`${url}/fail`));
      const failed = await waitFor(() => tracing.finishedSpans().find((s) => kindName(s) === 'SERVER'));
      expect(failed.name).toBe('GET /fail');
      expect(failed.status.code).toBe(SpanStatusCode.ERROR);
      expect(failed.events.some((e) => e.attributes?.['exception.message'] === 'db down')).toBe(true);
      for (const [path, name] of [['/any', 'HTTP /any'], ['/no/such/path', 'HTTP']]) {
        tracing.resetFinishedSpans();
        await untraced(() => request(url).propfind(path));
        const other = await waitFor(() => tracing.finishedSpans().find((s) => kindName(s) === 'SERVER'));
        expect(other.name).toBe(name);
        expect(other.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND' });
      }
    } finally {
      await close(server);
      await tracing.shutdown();
    }
  });

  it('continues B3 traces when asked to', async () => {
    const tracing = setupTracing({ serviceName: 'b3', exporter: 'memory', propagators: ['tracecontext', 'b3multi'] });
    const app = express();
    app.use(expressTracing());
    app.get('/x', (_req, res) => res.json({ traceId: currentExchange()?.traceId }));
    const { server, url } = await listen(app as never);
    try {
      const res = await untraced(() => httpGet(`${url}/x`, { 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1' }));
      expect(JSON.parse(res.body).traceId).toBe('80f198ee56343ba864fe8b2a57d3eff7');
    } finally {
      await close(server);
      await tracing.shutdown();
    }
  });

  it('summarises at most one trace per interval, and every failed request', async () => {
    const tracing = setupTracing({ serviceName: 'summaries', exporter: 'none', traceSummaries: { intervalMs: 60_000 } });
    const app = express();
    app.use(expressTracing());
    app.get('/ok/:n', (_req, res) => res.send('ok'));
    app.get('/fail', () => {
      throw new Error('nope');
    });
    const { server, url } = await listen(app as never);
    try {
      recentEvents.traces.clear();
      for (let i = 0; i < 3; i++) await untraced(() => httpGet(`${url}/ok/${i}`));
      await untraced(() => httpGet(`${url}/fail`));
      const names = await waitFor(() => (recentEvents.traces.length >= 2 ? recentEvents.traces.toArray().map((t) => t.name) : undefined));
      expect(names).toEqual(['GET /ok/:n', 'GET /fail']);
      const failed = recentEvents.traces.toArray()[1];
      expect(failed).toMatchObject({ route: '/fail', status: 500, error: true });
      expect(failed.spans).toHaveLength(1);
    } finally {
      await close(server);
      await tracing.shutdown();
    }
  });

  it('restores the core context and globals on shutdown', async () => {
    const tracing = setupTracing({ serviceName: 'gone', exporter: 'none' });
    await tracing.shutdown();
    const app = express();
    app.use(expressTracing());
    app.get('/x', (_req, res) => res.json({ requestId: currentExchange()?.requestId, traceId: currentExchange()?.traceId }));
    const { server, url } = await listen(app as never);
    try {
      const body = JSON.parse((await httpGet(`${url}/x`)).body);
      expect(body.requestId).toEqual(expect.any(String));
      expect(body.traceId).toBe('');
    } finally {
      await close(server);
    }
  });
});
