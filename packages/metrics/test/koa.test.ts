import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { setErrorHandler } from '@vigil/core';
import { Gauge } from 'prom-client';
import { createMetrics, koaMetrics } from '../src/index';
import type { Metrics } from '../src/index';
import { abortedRequest, flood, promtoolCheck, sample, sampleSum, waitFor } from './helpers';

function buildApp(metrics: Metrics, extra?: Parameters<typeof koaMetrics>[0]): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(koaMetrics({ metrics, ...extra }));
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  router.get('/bad', (ctx) => {
    ctx.status = 400;
    ctx.body = 'bad request';
  });
  router.get('/boom', () => {
    throw new Error('boom');
  });
  router.get('/slow', async (ctx) => {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      ctx.req.on('close', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    ctx.body = 'late';
  });
  const members = new Router();
  members.get('/members/:memberId', (ctx) => {
    ctx.body = `member ${ctx.params.memberId}`;
  });
  const v1 = new Router({ prefix: '/api/v1' });
  v1.use('/orgs/:orgId', members.routes());
  app.use(router.routes()).use(v1.routes());
  return app;
}

describe('koaMetrics', () => {
  let metrics: Metrics;
  let app: Koa;

  beforeAll(() => {
    setErrorHandler(() => undefined);
    metrics = createMetrics();
    app = buildApp(metrics);
  });

  afterAll(() => {
    metrics.close();
    setErrorHandler(undefined);
  });

  it('labels requests by route template, never the raw URL (nested parametric mounts included)', async () => {
    const server = app.callback();
    await request(server).get('/users/42').expect(200);
    await request(server).get('/users/43').expect(200);
    await request(server).get('/api/v1/orgs/7/members/99').expect(200);
    await request(server).get('/no/such/path/qx-unmatched-77').expect(404);
    await request(server).get('/bad').expect(400);
    const { text } = await request(server).get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: '/users/:id', status_code: '200' })).toBe(2);
    expect(sample(text, 'http_requests_total', { route: '/api/v1/orgs/:orgId/members/:memberId', status_code: '200' })).toBe(1);
    expect(sample(text, 'http_requests_total', { route: '(unmatched)', status_code: '404' })).toBe(1);
    expect(sample(text, 'http_requests_total', { route: '/bad', status_code: '400' })).toBe(1);
    expect(text).not.toContain('/users/42');
    expect(text).not.toContain('/orgs/7');
    expect(text).not.toContain('no/such/path'); // the unmatched raw path, not a number a gauge may happen to hold
  });

  it('counts a thrown error as a 500', async () => {
    await request(app.callback()).get('/boom').expect(500);
    const { text } = await request(app.callback()).get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { route: '/boom', status_code: '500' })).toBe(1);
  });

  it('counts client aborts (status 499)', async () => {
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await abortedRequest(`http://127.0.0.1:${port}/slow`, 150);
      await waitFor(async () => {
        const { text } = await request(app.callback()).get('/metrics');
        return sample(text, 'http_requests_total', { route: '/slow', status_code: '499' }) === 1;
      }, 10000, 'aborted request to be counted');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('passes promtool check metrics after 2xx, 4xx, 5xx, unmatched and nested-router requests', async () => {
    const { text } = await request(app.callback()).get('/metrics').expect(200);
    expect(text).toContain('status_code="500"');
    expect(text).toContain('route="(unmatched)"');
    expect(text).toContain('route="/api/v1/orgs/:orgId/members/:memberId"');
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('serves the endpoint with one trailing slash too, as @koa/router routes it, and not a longer name', async () => {
    expect((await request(app.callback()).get('/metrics/').expect(200)).text).toContain('http_requests_total');
    await request(app.callback()).get('/metrics/?x=1').expect(200);
    await request(app.callback()).get('/metricsx').expect(404);
  });

  it('serves OpenMetrics when asked and gzip when accepted', async () => {
    const om = await request(app.callback()).get('/metrics').set('accept', 'application/openmetrics-text; version=1.0.0').expect(200);
    expect(om.headers['content-type']).toContain('application/openmetrics-text');
    expect(om.text.endsWith('# EOF\n')).toBe(true);
    const gz = await request(app.callback()).get('/metrics').set('accept-encoding', 'gzip').expect(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.text).toContain('http_requests_total');
  });

  it('answers 500 with a plain message when a collect callback throws, while the app keeps serving', async () => {
    const local = createMetrics({ defaultMetrics: false });
    new Gauge({
      name: 'broken_gauge',
      help: 'A gauge whose collect throws.',
      registers: [local.registry],
      collect() {
        throw new Error('collector exploded');
      },
    });
    const broken = buildApp(local).callback();
    const res = await request(broken).get('/metrics').expect(500);
    expect(res.text).toBe('metrics collection failed\n');
    await request(broken).get('/users/1').expect(200);
    local.close();
  });

  it('protects the endpoint with a bearer token', async () => {
    const local = createMetrics({ defaultMetrics: false });
    const guarded = buildApp(local, { bearerToken: 's3cret' }).callback();
    await request(guarded).get('/metrics').expect(401);
    await request(guarded).get('/metrics').set('authorization', 'Bearer s3cret').expect(200);
    local.close();
  });

  it('throws a TypeError at the factory for bad options', () => {
    expect(() => koaMetrics({ extraLabels: { 'bad label': () => 'x' } })).toThrow(TypeError);
    expect(() => koaMetrics({ buckets: [0.5, 0.1] })).toThrow(/strictly increasing/);
    expect(() => koaMetrics({ sizeBuckets: [] })).toThrow(TypeError);
    expect(() => koaMetrics({ idleTimeoutMs: -1 })).toThrow(TypeError);
    expect(() => koaMetrics({ metrics: {} as never })).toThrow(TypeError);
  });

  it('keeps the series count bounded under a flood of 100,000 distinct unmatched URLs', async () => {
    const local = createMetrics({ defaultMetrics: false });
    const server = http.createServer(buildApp(local).callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await flood(100_000, 64, (i) => `http://127.0.0.1:${port}/flood/${i}/item-${i.toString(36)}?q=${i}`);
      const { text } = await request(server).get('/metrics').expect(200);
      expect(local.seriesCount()).toBe(1);
      expect(sampleSum(text, 'http_requests_total', { route: '(unmatched)' })).toBe(100_000);
      expect(text).not.toContain('/flood/');
      expect(text.length).toBeLessThan(20_000);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      local.close();
    }
  }, 180_000);
});
