import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { currentExchange } from '@vigil/core';
import { createMetrics, expressMetrics } from '../src/index';
import type { Metrics } from '../src/index';
import { freePort, get, spawnServer, stopProcess, waitFor } from './helpers';

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe('a real Prometheus scraping expressMetrics', () => {
  let metrics: Metrics;
  let app: http.Server;
  let appPort: number;
  let promPort: number;
  let dir: string;
  let prometheus: ReturnType<typeof spawnServer> | undefined;
  let traffic: NodeJS.Timeout | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  beforeAll(async () => {
    metrics = createMetrics();
    const ex = express();
    ex.use(expressMetrics({ metrics }));
    ex.use((_req, _res, next) => {
      // stands in for the tracing package, which puts the server span's ids on the exchange
      const current = currentExchange();
      if (current !== undefined) {
        current.traceId = randomBytes(16).toString('hex');
        current.spanId = randomBytes(8).toString('hex');
        current.traceFlags = 1;
      }
      next();
    });
    ex.get('/users/:id', (req, res) => {
      setTimeout(() => res.json({ id: req.params.id }), Number(req.params.id) % 20);
    });
    app = http.createServer(ex);
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    appPort = (app.address() as AddressInfo).port;
    let n = 0;
    traffic = setInterval(() => {
      for (let i = 0; i < 5; i++) get(`http://127.0.0.1:${appPort}/users/${n++}`, agent).catch(() => undefined);
    }, 50);

    dir = mkdtempSync(join(tmpdir(), 'vigil-prom-'));
    promPort = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: vigil-test',
        '    scrape_interval: 1s',
        '    scrape_timeout: 900ms',
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${appPort}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawnServer('/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--web.enable-lifecycle',
      '--enable-feature=exemplar-storage',
    ]);
    await waitFor(async () => (await get(`http://127.0.0.1:${promPort}/-/ready`)).status === 200, 30000, 'Prometheus to be ready');
  }, 60000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await stopProcess(prometheus?.child);
    agent.destroy();
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
    metrics?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query(expr: string): Promise<PromResult[]> {
    const res = await get(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const parsed = JSON.parse(res.body) as { status: string; data?: { result: PromResult[] } };
    if (parsed.status !== 'success') throw new Error(res.body);
    return parsed.data?.result ?? [];
  }

  it('scrapes the target successfully', async () => {
    const up = await waitFor(async () => {
      const r = await query('up{job="vigil-test"}');
      return r.length > 0 && r[0].value[1] === '1' ? r : undefined;
    }, 30000, `target up (Prometheus log: ${prometheus?.output().slice(-500)})`);
    expect(up[0].metric.instance).toBe(`127.0.0.1:${appPort}`);
  }, 40000);

  it('returns a non-zero rate(http_requests_total[1m]) for /users/:id', async () => {
    const result = await waitFor(async () => {
      const r = await query('sum(rate(http_requests_total{route="/users/:id"}[1m]))');
      return r.length > 0 && Number(r[0].value[1]) > 0 ? r : undefined;
    }, 40000, 'a non-zero rate');
    expect(Number(result[0].value[1])).toBeGreaterThan(0);
    const raw = await query('count(http_requests_total{route=~"/users/[0-9]+"})');
    expect(raw).toEqual([]);
  }, 50000);

  it('returns histogram_quantile(0.95, ...) for the route /users/:id', async () => {
    const result = await waitFor(async () => {
      const r = await query('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{route="/users/:id"}[1m])))');
      return r.length > 0 && Number.isFinite(Number(r[0].value[1])) ? r : undefined;
    }, 40000, 'a p95');
    const p95 = Number(result[0].value[1]);
    expect(p95).toBeGreaterThan(0);
    expect(p95).toBeLessThan(10);
  }, 50000);

  it('stores the apdex gauge computed at scrape time', async () => {
    const result = await waitFor(async () => {
      const r = await query('http_apdex_score{route="/users/:id"}');
      return r.length > 0 ? r : undefined;
    }, 30000, 'apdex gauge');
    const score = Number(result[0].value[1]);
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThanOrEqual(1);
  }, 40000);

  it('stores trace-id exemplars scraped in OpenMetrics format', async () => {
    const result = await waitFor(async () => {
      const now = Date.now() / 1000;
      const res = await get(`http://127.0.0.1:${promPort}/api/v1/query_exemplars?query=${encodeURIComponent('http_request_duration_seconds_bucket{route="/users/:id"}')}&start=${now - 120}&end=${now + 5}`);
      const parsed = JSON.parse(res.body) as { data?: Array<{ exemplars: Array<{ labels: Record<string, string> }> }> };
      const exemplars = (parsed.data ?? []).flatMap((s) => s.exemplars);
      return exemplars.length > 0 ? exemplars : undefined;
    }, 30000, 'exemplars');
    expect(result[0].labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
  }, 40000);
});
