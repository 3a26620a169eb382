import { performance } from 'node:perf_hooks';
import { setErrorHandler } from '@vigil/core';
import { Counter, Registry } from 'prom-client';
import { createMetrics, serveMetrics, timed } from '../src/index';
import { get, promtoolCheck, sample, waitFor } from './helpers';

describe('createMetrics', () => {
  beforeAll(() => setErrorHandler(() => undefined));
  afterAll(() => setErrorHandler(undefined));

  it('records work that is not an HTTP request with recordRequest()', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordRequest({ route: 'send-invoice', durationSeconds: 0.3 });
    metrics.recordRequest({ method: 'QUEUE', route: 'send-invoice', status: 500, durationSeconds: 1.5, responseBytes: 2048 });
    metrics.recordRequest({ route: 42 as never, durationSeconds: -1 }); // bad input is reported, not thrown
    const { body } = await metrics.scrape();
    expect(sample(body, 'http_requests_total', { method: 'JOB', route: 'send-invoice', status_code: '200' })).toBe(1);
    expect(sample(body, 'http_requests_total', { method: 'QUEUE', status_code: '500' })).toBe(1);
    expect(sample(body, 'http_request_duration_seconds_sum', { method: 'QUEUE' })).toBe(1.5);
    expect(sample(body, 'http_response_size_bytes_bucket', { method: 'QUEUE', le: '10000' })).toBe(1);
    expect(sample(body, 'http_response_size_bytes_bucket', { method: 'QUEUE', le: '1000' })).toBe(0);
    expect(metrics.percentiles('send-invoice').count).toBe(2);
    expect(metrics.apdex('send-invoice')).toBeCloseTo(0.75, 5); // 0.3 s satisfied, 1.5 s tolerating (T = 0.5 s)
    metrics.close();
  });

  it('includes the Apdex T and 4T in the default duration buckets', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordRequest({ route: 'r', durationSeconds: 0.1 });
    const { body } = await metrics.scrape();
    expect(body).toContain('le="0.5"');
    expect(body).toContain('le="2"');
    metrics.close();
  });

  it('uses the buckets it is given', async () => {
    const metrics = createMetrics({ defaultMetrics: false, buckets: [0.1, 1] });
    metrics.recordRequest({ route: 'r', durationSeconds: 0.5 });
    const { body } = await metrics.scrape();
    expect(sample(body, 'http_request_duration_seconds_bucket', { le: '0.1' })).toBe(0);
    expect(sample(body, 'http_request_duration_seconds_bucket', { le: '1' })).toBe(1);
    expect(sample(body, 'http_request_duration_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(body).not.toContain('le="0.25"');
    metrics.close();
  });

  it('caps series per metric with one overflow series and vigil_metrics_series_dropped_total', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxSeries: 3 });
    for (let i = 0; i < 10; i++) metrics.recordRequest({ route: `job-${i}`, durationSeconds: 0.01 });
    const { body } = await metrics.scrape();
    expect(metrics.seriesCount()).toBe(4);
    expect(sample(body, 'http_requests_total', { method: 'other', route: 'other', status_code: 'other' })).toBe(7);
    expect(sample(body, 'vigil_metrics_series_dropped_total', { metric: 'http_requests_total' })).toBe(7);
    expect(sample(body, 'vigil_metrics_series_dropped_total', { metric: 'http_request_duration_seconds' })).toBe(7);
    expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });
    metrics.close();
  });

  it('removes series idle longer than idleTimeoutMs', async () => {
    const metrics = createMetrics({ defaultMetrics: false, idleTimeoutMs: 50 });
    metrics.recordRequest({ route: 'old', durationSeconds: 0.01 });
    const started = performance.now();
    while (performance.now() - started < 80) await new Promise((r) => setTimeout(r, 20));
    metrics.recordRequest({ route: 'fresh', durationSeconds: 0.01 });
    const { body } = await metrics.scrape();
    expect(sample(body, 'http_requests_total', { route: 'old' })).toBeUndefined();
    expect(sample(body, 'http_requests_total', { route: 'fresh' })).toBe(1);
    expect(metrics.seriesCount()).toBe(1);
    metrics.close();
  });

  it('guards each extra label with a cardinality cap', async () => {
    const metrics = createMetrics({ defaultMetrics: false, extraLabels: { tenant: () => undefined }, extraLabelLimit: 2 });
    for (const tenant of ['a', 'b', 'c', 'd']) metrics.recordRequest({ route: 'r', durationSeconds: 0.01, labels: { tenant } });
    const { body } = await metrics.scrape();
    expect(sample(body, 'http_requests_total', { tenant: 'a' })).toBe(1);
    expect(sample(body, 'http_requests_total', { tenant: 'b' })).toBe(1);
    expect(sample(body, 'http_requests_total', { tenant: 'other' })).toBe(2);
    expect(body).not.toContain('tenant="c"');
    expect(promtoolCheck(body).status).toBe(0);
    metrics.close();
  });

  it('frees an extra-label value whose series went to the overflow, so a later value takes its place', async () => {
    const metrics = createMetrics({ defaultMetrics: false, extraLabels: { tenant: () => undefined }, extraLabelLimit: 2, maxSeries: 2, idleTimeoutMs: 200 });
    for (const route of ['r1', 'r2']) metrics.recordRequest({ route, durationSeconds: 0.01, labels: { tenant: 'a' } });
    metrics.recordRequest({ route: 'r1', durationSeconds: 0.01, labels: { tenant: 'b' } }); // no room: overflow
    await new Promise((r) => setTimeout(r, 300));
    await metrics.scrape(); // sweeps the idle series, and with them tenant a
    for (const tenant of ['c', 'd']) metrics.recordRequest({ route: 'r1', durationSeconds: 0.01, labels: { tenant } });
    const { body } = await metrics.scrape();
    expect(sample(body, 'http_requests_total', { tenant: 'c' })).toBe(1);
    expect(sample(body, 'http_requests_total', { tenant: 'd' })).toBe(1);
    metrics.close();
  });

  it('refuses recordRequest statuses outside 0-999 and trace ids that are not W3C ones', async () => {
    const reported: unknown[] = [];
    setErrorHandler((_where, error) => reported.push(error));
    try {
      const metrics = createMetrics({ defaultMetrics: false });
      metrics.recordRequest({ method: 'POST', route: 'r', status: 200, durationSeconds: 0.01 });
      metrics.recordRequest({ method: 'GET', route: 'r', status: 1200, durationSeconds: 0.01 });
      metrics.recordRequest({ method: 'GET', route: 'r', status: -1, durationSeconds: 0.01 });
      metrics.recordRequest({ route: 'r', durationSeconds: 0.01, traceId: 'abc"} 1 # bad' });
      const { body } = await metrics.scrape(true);
      expect(sample(body, 'http_requests_total', { method: 'POST', status_code: '200' })).toBe(1);
      expect(body).not.toContain('method="GET"');
      expect(body).not.toContain('bad');
      expect(reported).toHaveLength(2);
      metrics.close();
    } finally {
      setErrorHandler(() => undefined);
    }
  });

  it("emits OpenTelemetry names and attributes with naming: 'otel'", async () => {
    const metrics = createMetrics({ defaultMetrics: false, naming: 'otel' });
    metrics.recordRequest({ method: 'GET', route: '/users/:id', durationSeconds: 0.02 });
    const { body } = await metrics.scrape();
    expect(metrics.names.requests).toBeUndefined();
    expect(sample(body, 'http_server_request_duration_seconds_count', { http_request_method: 'GET', http_route: '/users/:id', http_response_status_code: '200' })).toBe(1);
    expect(body).toContain('# TYPE http_server_active_requests gauge');
    expect(body).toContain('http_server_request_body_size_bytes_bucket');
    expect(body).not.toContain('http_requests_total');
    expect(body).toContain('le="0.075"');
    expect(promtoolCheck(body).status).toBe(0);
    metrics.close();
  });

  it('registers in a registry it is given, with a prefix, and works with registry.metrics()', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, prefix: 'shop_', defaultMetrics: false });
    metrics.recordRequest({ route: 'r', durationSeconds: 0.2, traceId: '0af7651916cd43dd8448eb211c80319c' });
    const text = await registry.metrics();
    expect(sample(text, 'shop_http_requests_total', { route: 'r' })).toBe(1);
    expect(sample(text, 'shop_http_request_duration_seconds_bucket', { route: 'r', le: '+Inf' })).toBe(1);
    const fast = await metrics.scrape();
    // prom-client's own serialiser and the fast one agree, sample for sample
    const lines = (s: string): string[] => s.split('\n').filter((l) => l.startsWith('shop_http')).sort();
    expect(lines(fast.body)).toEqual(lines(text));
    const om = await metrics.scrape(true);
    expect(om.body).toContain('trace_id="0af7651916cd43dd8448eb211c80319c"');
    metrics.close();
    expect(registry.getSingleMetric('shop_http_requests_total')).toBeUndefined();
  });

  it('times functions, sync and async, with timed()', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const add = timed('add', (a: number, b: number) => a + b, { metrics });
    const slow = timed('slow', async () => {
      await new Promise((r) => setTimeout(r, 20));
      return 'done';
    }, { metrics });
    const broken = timed('broken', () => {
      throw new Error('nope');
    }, { metrics });
    expect(add(2, 3)).toBe(5);
    await expect(slow()).resolves.toBe('done');
    expect(() => broken()).toThrow('nope');
    const { body } = await metrics.scrape();
    expect(sample(body, 'function_duration_seconds_count', { function: 'add', outcome: 'ok' })).toBe(1);
    expect(sample(body, 'function_duration_seconds_sum', { function: 'slow' })).toBeGreaterThanOrEqual(0.015);
    expect(sample(body, 'function_duration_seconds_count', { function: 'broken', outcome: 'error' })).toBe(1);
    metrics.close();
  });
  it('never throws from timed() when its histogram name is taken in the registry', async () => {
    const registry = new Registry();
    new Counter({ name: 'function_duration_seconds', help: 'taken', registers: [registry] });
    const metrics = createMetrics({ registry, defaultMetrics: false });
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => { rejections.push(reason); };
    process.on('unhandledRejection', onRejection);
    try {
      expect(timed('sync', () => 1, { metrics })()).toBe(1);
      await expect(timed('async', async () => 2, { metrics })()).resolves.toBe(2);
      await new Promise((r) => setTimeout(r, 20));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      metrics.close();
    }
  });
});

describe('scraping a shared registry', () => {
  it('leaves the registry as it was: another reader gets its own format while an OpenMetrics scrape runs', async () => {
    const registry = new Registry();
    const jobs = new Counter({ name: 'jobs_done_total', help: 'Jobs done.', registers: [registry] });
    jobs.inc(2);
    const waiting: Array<() => void> = [];
    const release = (): void => { for (const resolve of waiting.splice(0)) resolve(); };
    new Counter({
      name: 'slow_total',
      help: 'Collected slowly.',
      registers: [registry],
      collect(): Promise<void> {
        return new Promise((resolve) => { waiting.push(resolve); });
      },
    });
    const server = await serveMetrics({ registry, port: 0, host: '127.0.0.1' });
    try {
      const om = get(server.url, undefined, { accept: 'application/openmetrics-text; version=1.0.0' });
      await waitFor(() => waiting.length > 0, 5000, 'the OpenMetrics scrape collecting');
      expect(registry.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
      const own = registry.metrics();
      release();
      expect(await own).toContain('jobs_done_total 2');
      expect((await om).body).toContain('# TYPE jobs_done counter');
      const after = registry.metrics();
      release();
      expect(promtoolCheck(await after).status).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('does not hold later scrapes behind a collector that never settles', async () => {
    const registry = new Registry();
    let hang = true;
    new Counter({
      name: 'sometimes_hangs_total',
      help: 'Hangs on the first collection.',
      registers: [registry],
      collect(): Promise<void> | void {
        if (hang) {
          hang = false;
          return new Promise(() => undefined);
        }
      },
    });
    const server = await serveMetrics({ registry, port: 0, host: '127.0.0.1', timeoutMs: 200 });
    try {
      expect((await get(server.url)).status).toBe(500);
      expect((await get(server.url)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('negotiates OpenMetrics and gzip by quality values', async () => {
    const registry = new Registry();
    new Counter({ name: 'jobs_done_total', help: 'Jobs done.', registers: [registry] }).inc();
    const server = await serveMetrics({ registry, port: 0, host: '127.0.0.1' });
    try {
      const typeFor = async (accept: string): Promise<string | undefined> => (await get(server.url, undefined, { accept })).headers['content-type'];
      expect(await typeFor('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toContain('openmetrics');
      expect(await typeFor('application/openmetrics-text;q=0, text/plain')).toContain('text/plain');
      expect(await typeFor('text/plain;q=1, application/openmetrics-text;q=0.5')).toContain('text/plain');
      const encodingFor = async (accept: string): Promise<string | undefined> => (await get(server.url, undefined, { 'accept-encoding': accept })).headers['content-encoding'];
      expect(await encodingFor('gzip;q=0, identity')).toBeUndefined();
      expect(await encodingFor('deflate, gzip;q=0.8')).toBe('gzip');
      expect(await encodingFor('*')).toBe('gzip');
    } finally {
      await server.close();
    }
  });
});

describe('serveMetrics', () => {
  it('serves the registry on a separate port', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordRequest({ route: 'r', durationSeconds: 0.01 });
    const server = await serveMetrics({ metrics, port: 0, host: '127.0.0.1' });
    try {
      const res = await get(server.url);
      expect(res.status).toBe(200);
      expect(sample(res.body, 'http_requests_total', { route: 'r' })).toBe(1);
      expect((await get(server.url.replace('/metrics', '/other'))).status).toBe(404);
      expect((await get(server.url + '/')).status).toBe(200);
      expect((await get(server.url + 'x')).status).toBe(404);
    } finally {
      await server.close();
      metrics.close();
    }
  });

  it('serves any prom-client registry, gzip and OpenMetrics included, HEAD without a body', async () => {
    const registry = new Registry();
    const jobs = new Counter({ name: 'jobs_done_total', help: 'Jobs done.', registers: [registry] });
    jobs.inc(3);
    const server = await serveMetrics({ registry, port: 0, host: '127.0.0.1', path: '/prom' });
    try {
      const plain = await get(server.url);
      expect(sample(plain.body, 'jobs_done_total')).toBe(3);
      const om = await get(server.url, undefined, { accept: 'application/openmetrics-text; version=1.0.0' });
      expect(om.headers['content-type']).toContain('openmetrics');
      expect(om.body).toContain('# TYPE jobs_done counter');
      expect(sample(om.body, 'jobs_done_total')).toBe(3);
      // the registry keeps its counter name for the next plain scrape
      expect((await get(server.url)).body).toContain('# TYPE jobs_done_total counter');
      const gz = await get(server.url, undefined, { 'accept-encoding': 'gzip' });
      expect(gz.headers['content-encoding']).toBe('gzip');
    } finally {
      await server.close();
    }
  });

  it('throws a TypeError for bad options', async () => {
    await expect(serveMetrics({ port: -1 } as never)).rejects.toThrow(TypeError);
    await expect(serveMetrics({ port: 0 })).rejects.toThrow(/metrics/);
  });
});
