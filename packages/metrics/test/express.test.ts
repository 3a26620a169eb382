import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { currentExchange, registerPackage, setErrorHandler, unregisterPackage } from '@vigil/core';
import { Gauge } from 'prom-client';
import { createMetrics, expressMetrics } from '../src/index';
import type { Metrics } from '../src/index';
import { abortedRequest, flood, promtoolCheck, sample, sampleSum, waitFor } from './helpers';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function buildApp(metrics: Metrics, extra?: Parameters<typeof expressMetrics>[0]): express.Express {
  const app = express();
  app.use(expressMetrics({ metrics, ...extra }));
  app.use((req, _res, next) => {
    // stands in for the tracing package: it sets the trace id on the exchange
    const ex = currentExchange();
    if (ex !== undefined && req.headers['x-test-trace'] === '1') {
      ex.traceId = TRACE_ID;
      ex.spanId = '00f067aa0ba902b7';
      ex.traceFlags = req.headers['x-test-unsampled'] === '1' ? 0 : 1;
    }
    next();
  });
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/bad', (_req, res) => {
    res.status(400).send('bad request');
  });
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.get('/slow', (_req, res) => {
    const timer = setTimeout(() => res.send('late'), 5000);
    res.on('close', () => clearTimeout(timer));
  });
  app.post('/echo', express.json(), (req, res) => {
    res.json(req.body);
  });
  const members = express.Router();
  members.get('/members/:memberId', (req, res) => {
    res.send(`member ${req.params.memberId}`);
  });
  const v1 = express.Router();
  v1.use('/orgs/:orgId', members);
  app.use('/api/v1', v1);
  return app;
}

describe('expressMetrics', () => {
  let metrics: Metrics;
  let app: express.Express;

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
    const agent = request(app);
    await agent.get('/users/42').expect(200);
    await agent.get('/users/43').expect(200);
    await agent.get('/api/v1/orgs/7/members/99').expect(200);
    await agent.get('/no/such/path/qx-unmatched-77').expect(404);
    await agent.get('/bad').expect(400);
    const { text } = await agent.get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: '/users/:id', status_code: '200' })).toBe(2);
    expect(sample(text, 'http_requests_total', { route: '/api/v1/orgs/:orgId/members/:memberId', status_code: '200' })).toBe(1);
    expect(sample(text, 'http_requests_total', { route: '(unmatched)', status_code: '404' })).toBe(1);
    expect(sample(text, 'http_requests_total', { route: '/bad', status_code: '400' })).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_count', { route: '/users/:id' })).toBe(2);
    expect(text).not.toContain('/users/42');
    expect(text).not.toContain('/orgs/7');
    expect(text).not.toContain('no/such/path'); // the unmatched raw path, not a number a gauge may happen to hold
    expect(text).toContain('http_requests_in_flight');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('counts a thrown error as a 500', async () => {
    await request(app).get('/boom').expect(500);
    const { text } = await request(app).get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { route: '/boom', status_code: '500' })).toBe(1);
  });

  it('counts client aborts (status 499)', async () => {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      await abortedRequest(`http://127.0.0.1:${port}/slow`, 150);
      await waitFor(async () => {
        const { text } = await request(app).get('/metrics');
        return sample(text, 'http_requests_total', { route: '/slow', status_code: '499' }) === 1;
      }, 10000, 'aborted request to be counted');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('records request and response sizes', async () => {
    await request(app).post('/echo').send({ hello: 'world' }).expect(200);
    const { text } = await request(app).get('/metrics').expect(200);
    expect(sample(text, 'http_request_size_bytes_sum', { route: '/echo' })).toBe(17);
    expect(sample(text, 'http_response_size_bytes_sum', { route: '/echo' })).toBe(17);
  });

  it('passes promtool check metrics after 2xx, 4xx, 5xx, unmatched and nested-router requests', async () => {
    const { text } = await request(app).get('/metrics').expect(200);
    expect(text).toContain('route="/api/v1/orgs/:orgId/members/:memberId"');
    expect(text).toContain('status_code="500"');
    expect(text).toContain('route="(unmatched)"');
    const result = promtoolCheck(text);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('serves OpenMetrics with trace-id exemplars when the scraper asks for it', async () => {
    await request(app).get('/users/6').set('x-test-trace', '1').set('x-test-unsampled', '1').expect(200);
    const unsampled = await request(app).get('/metrics').set('accept', 'application/openmetrics-text; version=1.0.0').expect(200);
    expect(unsampled.text).not.toContain('trace_id=');
    await request(app).get('/users/5').set('x-test-trace', '1').expect(200);
    const res = await request(app).get('/metrics').set('accept', 'application/openmetrics-text; version=1.0.0').expect(200);
    expect(res.headers['content-type']).toContain('application/openmetrics-text');
    expect(res.text.endsWith('# EOF\n')).toBe(true);
    expect(res.text).toMatch(/^http_request_duration_seconds_bucket\{method="GET",route="\/users\/:id",status_code="200",le="[^"]+"\} \d+ # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"\} [0-9.e-]+ [0-9.]+$/m);
    expect(res.text).toContain('# TYPE http_requests counter');
    expect(res.text).toMatch(/^http_requests_total\{/m);
    // the plain text format never carries exemplars, and counter names keep _total afterwards
    const plain = await request(app).get('/metrics').expect(200);
    expect(plain.text).not.toContain('trace_id');
    expect(plain.text).toContain('# TYPE http_requests_total counter');
    expect(plain.text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(promtoolCheck(plain.text)).toEqual({ status: 0, output: '' });
  });

  it('gzips the exposition when the scraper accepts it', async () => {
    const res = await request(app).get('/metrics').set('accept-encoding', 'gzip').expect(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.text).toContain('http_requests_total');
  });

  it('computes http_apdex_score per route at scrape time, and apdex()/percentiles() read the rolling windows', async () => {
    const { text } = await request(app).get('/metrics').expect(200);
    const score = sample(text, 'http_apdex_score', { route: '/users/:id' });
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThanOrEqual(1);
    expect(metrics.apdex('/users/:id')).toBe(score);
    const p = metrics.percentiles('/users/:id');
    expect(p.count).toBeGreaterThanOrEqual(3);
    expect(p.p95).toBeGreaterThan(0);
    expect(p.p50).toBeLessThanOrEqual(p.p99);
  });

  it('exposes health check gauges when a health package is registered in the core', async () => {
    registerPackage({
      name: 'health',
      snapshot: () => ({
        status: 'fail',
        checks: [
          { name: 'database', status: 'pass', critical: true, groups: [], durationMs: 12, lastRunEpochMs: 1_700_000_001_000, lastSuccessEpochMs: 1_700_000_000_000 },
          { name: 'cache', status: 'fail', critical: false, groups: [], durationMs: 250, lastRunEpochMs: 1_700_000_001_000, lastSuccessEpochMs: 0 },
        ],
      }),
    });
    try {
      const { text } = await request(app).get('/metrics').expect(200);
      expect(sample(text, 'health_check_status', { check: 'database' })).toBe(1);
      expect(sample(text, 'health_check_status', { check: 'cache' })).toBe(0);
      expect(sample(text, 'health_check_duration_seconds', { check: 'cache' })).toBe(0.25);
      expect(sample(text, 'health_check_last_success_timestamp_seconds', { check: 'database' })).toBe(1_700_000_000);
      expect(promtoolCheck(text).status).toBe(0);
    } finally {
      unregisterPackage('health');
    }
    const { text } = await request(app).get('/metrics').expect(200);
    expect(sample(text, 'health_check_status', { check: 'database' })).toBeUndefined();
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
    const broken = buildApp(local);
    const res = await request(broken).get('/metrics').expect(500);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toBe('metrics collection failed\n');
    expect(res.text).not.toContain('exploded');
    await request(broken).get('/users/1').expect(200);
    local.close();
  });

  it('answers 500 when a collector hangs longer than timeoutMs', async () => {
    const local = createMetrics({ defaultMetrics: false });
    new Gauge({
      name: 'hanging_gauge',
      help: 'A gauge whose collect never settles.',
      registers: [local.registry],
      collect() {
        return new Promise<void>(() => undefined);
      },
    });
    const hanging = buildApp(local, { timeoutMs: 200 });
    const res = await request(hanging).get('/metrics').expect(500);
    expect(res.text).toBe('metrics collection failed\n');
    await request(hanging).get('/users/1').expect(200);
    expect(() => expressMetrics({ timeoutMs: 0 })).toThrow(TypeError);
    local.close();
  });

  it('protects the endpoint with a bearer token or an authorize hook', async () => {
    const local = createMetrics({ defaultMetrics: false });
    const guarded = buildApp(local, { bearerToken: 's3cret' });
    await request(guarded).get('/metrics').expect(401);
    await request(guarded).get('/metrics').set('authorization', 'Bearer wrong!').expect(403);
    await request(guarded).get('/metrics').set('authorization', 'Bearer s3cret').expect(200);
    const hooked = buildApp(local, { path: '/internal/metrics', authorize: (req) => req.headers['x-scraper'] === 'prometheus' });
    await request(hooked).get('/internal/metrics').expect(403);
    await request(hooked).get('/internal/metrics').set('x-scraper', 'prometheus').expect(200);
    local.close();
  });

  it('leaves out the metrics path and excluded paths, and serves nothing when path is false', async () => {
    const local = createMetrics({ defaultMetrics: false });
    const app2 = buildApp(local, { exclude: ['/bad'] });
    await request(app2).get('/bad').expect(400);
    await request(app2).get('/metrics?x=1').expect(200);
    // one trailing slash reaches the endpoint too, as Express routes it; a longer name does not
    expect((await request(app2).get('/metrics/').expect(200)).text).toContain('http_requests_total');
    await request(app2).get('/metrics/?x=1').expect(200);
    const { text } = await request(app2).get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { route: '/bad' })).toBeUndefined();
    expect(sample(text, 'http_requests_total', { route: '(unmatched)' })).toBeUndefined();
    expect(text).not.toContain('route="/metrics"');
    await request(app2).get('/metricsx').expect(404);
    await request(app2).get('/metrics//').expect(404);
    const app3 = buildApp(local, { path: false });
    await request(app3).get('/metrics').expect(404);
    local.close();
  });

  it('excludes /healthz/ and /HEALTHZ with /healthz, as Express routes them there, and takes RegExps', async () => {
    const local = createMetrics({ defaultMetrics: false });
    const app2 = buildApp(local, { exclude: ['/healthz', /^\/static\//] });
    app2.get('/healthz', (_req, res) => res.send('ok'));
    app2.get('/static/app.js', (_req, res) => res.send('js'));
    for (const path of ['/healthz', '/healthz/', '/HEALTHZ', '/Healthz?full=1', '/static/app.js']) await request(app2).get(path).expect(200);
    await request(app2).get('/users/1').expect(200);
    const { text } = await request(app2).get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { route: '/healthz' })).toBeUndefined();
    expect(sample(text, 'http_requests_total', { route: '/static/app.js' })).toBeUndefined();
    expect(sample(text, 'http_requests_total', { route: '/users/:id' })).toBe(1);
    expect(sampleSum(text, 'http_requests_total')).toBe(1);
    local.close();
  });

  it('adds extra labels from the exchange, each capped, and a throwing label function never hurts the request', async () => {
    const local = createMetrics({
      defaultMetrics: false,
      extraLabelLimit: 2,
      extraLabels: {
        tenant: (ex) => ex?.header('x-tenant'),
        plan: (ex) => {
          if (ex?.header('x-tenant') === 'evil') throw new Error('label function failed');
          return 'pro';
        },
      },
    });
    const app2 = buildApp(local);
    for (const tenant of ['acme', 'globex', 'initech', 'umbrella', 'evil']) await request(app2).get('/users/1').set('x-tenant', tenant).expect(200);
    const { text } = await request(app2).get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { route: '/users/:id', tenant: 'acme', plan: 'pro' })).toBe(1);
    expect(sample(text, 'http_requests_total', { tenant: 'globex' })).toBe(1);
    expect(sampleSum(text, 'http_requests_total', { tenant: 'other' })).toBe(3);
    expect(text).not.toContain('initech');
    expect(sample(text, 'http_requests_total', { tenant: 'other', plan: '' })).toBe(1);
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    local.close();
  });

  it('leaves quiet probes out with includeQuiet: false', async () => {
    const local = createMetrics({ defaultMetrics: false, includeQuiet: false });
    const app2 = express();
    app2.use(expressMetrics({ metrics: local }));
    app2.get('/healthz', (_req, res) => {
      const ex = currentExchange();
      if (ex !== undefined) ex.quiet = true;
      res.send('ok');
    });
    app2.get('/users/:id', (_req, res) => res.send('user'));
    await request(app2).get('/healthz').expect(200);
    await request(app2).get('/users/1').expect(200);
    const { text } = await request(app2).get('/metrics').expect(200);
    expect(sample(text, 'http_requests_total', { route: '/healthz' })).toBeUndefined();
    expect(sample(text, 'http_requests_total', { route: '/users/:id' })).toBe(1);
    local.close();
  });

  it('throws a TypeError at the factory for bad options', () => {
    expect(() => expressMetrics({ extraLabels: { 'bad-name': () => 'x' } })).toThrow(TypeError);
    expect(() => expressMetrics({ extraLabels: { __reserved: () => 'x' } })).toThrow(/invalid label name/);
    expect(() => expressMetrics({ extraLabels: { route: () => 'x' } })).toThrow(TypeError);
    expect(() => expressMetrics({ buckets: [0.1, 0.5, 0.5, 1] })).toThrow(/strictly increasing/);
    expect(() => expressMetrics({ buckets: [1, 0.5] })).toThrow(TypeError);
    expect(() => expressMetrics({ prefix: '1bad' })).toThrow(TypeError);
    expect(() => expressMetrics({ naming: 'statsd' as never })).toThrow(TypeError);
    expect(() => expressMetrics({ path: 'metrics' })).toThrow(TypeError);
    expect(() => expressMetrics({ maxSeries: 0 })).toThrow(TypeError);
    expect(() => expressMetrics({ bearerToken: '' })).toThrow(TypeError);
    expect(() => expressMetrics({ exclude: '/x' as never })).toThrow(TypeError);
    const engine = createMetrics({ defaultMetrics: false });
    expect(() => expressMetrics({ metrics: engine, prefix: 'shop_' })).toThrow(/prefix would be ignored next to metrics/);
    expect(() => expressMetrics({ metrics: engine, path: '/m', exclude: ['/healthz'] })).not.toThrow();
    engine.close();
  });

  it('keeps the series count bounded under a flood of 100,000 distinct unmatched URLs', async () => {
    const local = createMetrics({ defaultMetrics: false });
    const app2 = buildApp(local);
    const server = http.createServer(app2);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await flood(100_000, 64, (i) => `http://127.0.0.1:${port}/flood/${i}/item-${i.toString(36)}?q=${i}`);
      const { text } = await request(app2).get('/metrics').expect(200);
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
