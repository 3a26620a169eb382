import { readFileSync } from 'node:fs';
import http from 'node:http';
import express from 'express';
import request from 'supertest';
import {
  observeExpress, onExchangeEnd, recentEvents, registerPackage, runInExchange, unregisterPackage,
  type AlertsSnapshot, type Exchange, type HealthSnapshot,
} from '@vigil/core';
import { expressDashboard } from '../src';
import { resetSampler } from '../src/sampler';
import { close, listen, readEvents, until } from './helpers';

function appWith(options: Parameters<typeof expressDashboard>[0] = {}): express.Express {
  const app = express();
  // what any vigil package does first: one exchange per request, the rest inside its context
  app.use(function observe(req, res, next) {
    runInExchange(observeExpress(req, res), next);
  });
  app.use(expressDashboard(options));
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/fail', (_req, res) => {
    res.status(500).json({ error: 'nope' });
  });
  return app;
}

afterAll(() => {
  resetSampler();
});

describe('expressDashboard', () => {
  it('serves the page with a strict content security policy and no CDN', async () => {
    const res = await request(appWith()).get('/_vigil').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.text).toContain('<script src="/_vigil/assets/uplot.js"></script>');
    expect(res.text).toContain('id="route-table"');
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  it('serves uPlot from the installed package, with an etag', async () => {
    const app = appWith();
    const res = await request(app).get('/_vigil/assets/uplot.js').expect(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.text).toBe(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    await request(app).get('/_vigil/assets/uplot.js').set('if-none-match', res.headers.etag).expect(304);
    await request(app).get('/_vigil/assets/uplot.css').expect(200).expect('content-type', /text\/css/);
    await request(app).get('/_vigil/assets/dashboard.js').expect(200);
    await request(app).get('/_vigil/assets/nothing.js').expect(404);
  });

  it('passes every other request on to the app', async () => {
    const app = appWith();
    await request(app).get('/users/7').expect(200, { id: '7' });
    await request(app).get('/_vigilant').expect(404);
    await request(app).post('/_vigil').expect(405);
  });

  it('mounts at a custom path, also under a sub-app', async () => {
    const app = express();
    app.use('/admin', expressDashboard({ path: '/dash' }));
    const res = await request(app).get('/admin/dash/').expect(200);
    expect(res.text).toContain('data-base="/admin/dash"');
    await request(app).get('/admin/dash/snapshot.json').expect(200);
  });

  it('lists routes by template with their stats in the snapshot', async () => {
    const app = appWith();
    for (let i = 0; i < 5; i++) await request(app).get(`/users/${i}`).expect(200);
    await request(app).get('/fail').expect(500);
    const snap = await request(app).get('/_vigil/snapshot.json').expect(200);
    const users = snap.body.routes.find((r: { route: string }) => r.route === '/users/:id');
    expect(users.count).toBeGreaterThanOrEqual(5);
    expect(users.p95).toBeGreaterThan(0);
    const fail = snap.body.routes.find((r: { route: string }) => r.route === '/fail');
    expect(fail.errorRatio).toBe(1);
    expect(snap.body.routes.some((r: { route: string }) => r.route.startsWith('/_vigil'))).toBe(false);
    expect(snap.body.processes[0].pid).toBe(process.pid);
    expect(Array.isArray(snap.body.history)).toBe(true);
  });

  it('marks its own requests quiet so they stay out of logs, traces and windows', async () => {
    const seen: Exchange[] = [];
    const stop = onExchangeEnd((ex) => seen.push(ex));
    try {
      const app = appWith();
      await request(app).get('/_vigil/snapshot.json').expect(200);
      await request(app).get('/users/1').expect(200);
      await until(() => seen.length >= 2);
      expect(seen.find((ex) => ex.path === '/_vigil/snapshot.json')?.quiet).toBe(true);
      expect(seen.find((ex) => ex.path === '/users/1')?.quiet).toBe(false);
    } finally {
      stop();
    }
  });

  it('observes requests itself, so it shows traffic when it is the only vigil package', async () => {
    const app = express();
    app.use(expressDashboard());
    app.get('/alone/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    await request(app).get('/alone/1').expect(200);
    await request(app).get('/alone/2').expect(200);
    const snap = await request(app).get('/_vigil/snapshot.json').expect(200);
    expect(snap.body.routes.find((r: { route: string }) => r.route === '/alone/:id')?.count).toBe(2);
  });

  it('streams the history, then one tick a second, over Server-Sent Events', async () => {
    const { server, url } = await listen(appWith());
    try {
      const { status, headers, events } = await readEvents(`${url}/_vigil/events`, 4);
      expect(status).toBe(200);
      expect(headers['content-type']).toMatch(/text\/event-stream/);
      expect(events[0].name).toBe('history');
      expect(Array.isArray(JSON.parse(events[0].data).points)).toBe(true);
      const ticks = events.slice(1).map((e) => JSON.parse(e.data));
      expect(events.slice(1).every((e) => e.name === 'tick')).toBe(true);
      expect(ticks[2].t).toBeGreaterThan(ticks[1].t);
      expect(ticks[2].point).toHaveLength(11);
      expect(ticks[2].processes[0].rssBytes).toBeGreaterThan(0);
    } finally {
      await close(server);
    }
  });

  it('refuses streams beyond maxClients', async () => {
    const { server, url } = await listen(appWith({ maxClients: 1, path: '/one' }));
    try {
      const first = readEvents(`${url}/one/events`, 3);
      await new Promise((r) => setTimeout(r, 300));
      const second = await readEvents(`${url}/one/events`, 1).catch((e: Error) => e);
      expect((second as { status: number }).status).toBe(503);
      await first;
    } finally {
      await close(server);
    }
  });

  it('does not count a stream whose client left while authorize ran', async () => {
    const { server, url } = await listen(appWith({ path: '/slow-auth', maxClients: 1, authorize: () => new Promise((r) => setTimeout(() => r(true), 300)) }));
    try {
      await new Promise<void>((resolve) => {
        const req = http.get(`${url}/slow-auth/events`);
        req.on('error', () => resolve());
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
      await new Promise((r) => setTimeout(r, 600));
      const { status } = await readEvents(`${url}/slow-auth/events`, 2);
      expect(status).toBe(200);
    } finally {
      await close(server);
    }
  });

  it('asks authorize(req) on every dashboard request', async () => {
    const calls: string[] = [];
    const app = appWith({ authorize: async (req) => {
      calls.push(req.url ?? '');
      return req.headers['x-admin'] === 'yes';
    } });
    await request(app).get('/_vigil').expect(403);
    await request(app).get('/_vigil/events').expect(403);
    await request(app).get('/_vigil/assets/uplot.js').expect(403);
    await request(app).get('/_vigil').set('x-admin', 'yes').expect(200);
    await request(app).get('/users/1').expect(200);
    expect(calls).toEqual(['/_vigil', '/_vigil/events', '/_vigil/assets/uplot.js', '/_vigil']);
  });

  it('denies when authorize throws', async () => {
    const app = appWith({ authorize: () => {
      throw new Error('auth backend down');
    } });
    await request(app).get('/_vigil').expect(403);
  });

  it('is off in production unless enabled', async () => {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await request(appWith()).get('/_vigil').expect(404);
      await request(appWith()).get('/users/3').expect(200);
      await request(appWith({ enabled: true, authorize: () => true })).get('/_vigil').expect(200);
    } finally {
      process.env.NODE_ENV = before;
    }
    await request(appWith({ enabled: false })).get('/_vigil').expect(404);
  });

  it('shows a section only for registered packages', async () => {
    const app = appWith();
    let snap = await request(app).get('/_vigil/snapshot.json').expect(200);
    expect(snap.body.health).toBeUndefined();
    expect(snap.body.alerts).toBeUndefined();
    expect(snap.body.traces).toBeUndefined();
    expect(snap.body.logs).toBeUndefined();
    const health: HealthSnapshot = {
      status: 'warn',
      checks: [
        { name: 'database', status: 'pass', critical: true, groups: ['ready'], durationMs: 2.5, lastRunEpochMs: Date.now(), lastSuccessEpochMs: Date.now() },
        { name: 'cache', status: 'warn', critical: false, groups: [], durationMs: 1, lastRunEpochMs: Date.now(), lastSuccessEpochMs: 0, output: 'redis://app:password=hunter2@cache timed out, Authorization: Bearer abc.def.ghi' },
      ],
    };
    const alerts: AlertsSnapshot = {
      alerts: [{ name: 'HighErrorRate', state: 'firing', severity: 'critical', labels: { service: 'orders' }, annotations: { summary: 'Error rate is 12 %' }, value: 0.12, activeSinceEpochMs: Date.now() }],
    };
    registerPackage({ name: 'health', version: '0.1.0', snapshot: () => health });
    registerPackage({ name: 'alerts', version: '0.1.0', snapshot: () => alerts });
    registerPackage({ name: 'logging', version: '0.1.0' });
    registerPackage({ name: 'tracing', version: '0.1.0', snapshot: () => ({ exporter: 'otlp', exportedSpans: 5, droppedSpans: 0, endpointUrl: 'http://user:pw@collector', apiKey: 'k', propagators: ['traceparent'] }) });
    recentEvents.logs.push({ timeEpochMs: Date.now(), level: 'error', message: 'payment failed token=sk_live_123 for order 9', requestId: 'r1' });
    recentEvents.traces.push({ traceId: 'a'.repeat(32), name: 'POST /orders', route: '/orders', status: 500, error: true, durationMs: 250, startEpochMs: Date.now(), spans: [
      { spanId: '1'.repeat(16), parentSpanId: undefined, name: 'POST /orders', offsetMs: 0, durationMs: 250, error: true },
      { spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'process_payment', offsetMs: 60, durationMs: 180, error: true },
    ] });
    try {
      snap = await request(app).get('/_vigil/snapshot.json').expect(200);
      expect(snap.body.health.checks.map((c: { name: string }) => c.name)).toEqual(['database', 'cache']);
      const output: string = snap.body.health.checks[1].output;
      expect(output).not.toContain('hunter2');
      expect(output).not.toContain('abc.def.ghi');
      expect(snap.body.alerts.alerts[0]).toMatchObject({ name: 'HighErrorRate', state: 'firing', annotations: { summary: 'Error rate is 12 %' } });
      expect(snap.body.logs.logs[0].message).toBe('payment failed token=[redacted] for order 9');
      expect(snap.body.traces.traces[0].spans[1]).toMatchObject({ name: 'process_payment', offsetMs: 60, parentSpanId: '1'.repeat(16) });
      expect(snap.body.packages.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['health', 'alerts', 'logging', 'tracing']));
      // other packages show the plain fields of their snapshot, never secret-looking ones
      const tracing = snap.body.packages.find((p: { name: string }) => p.name === 'tracing');
      expect(tracing.fields).toEqual({ exporter: 'otlp', exportedSpans: 5, droppedSpans: 0 });
    } finally {
      for (const name of ['health', 'alerts', 'logging', 'tracing']) unregisterPackage(name);
      recentEvents.logs.clear();
      recentEvents.traces.clear();
    }
  });

  it('keeps working when a package snapshot throws', async () => {
    registerPackage({ name: 'health', snapshot: () => {
      throw new Error('broken');
    } });
    try {
      const snap = await request(appWith()).get('/_vigil/snapshot.json').expect(200);
      expect(snap.body.health.checks).toEqual([]);
    } finally {
      unregisterPackage('health');
    }
  });

  it('rejects bad options with a TypeError', () => {
    expect(() => expressDashboard({ path: 'vigil' })).toThrow(TypeError);
    expect(() => expressDashboard({ maxClients: 0 })).toThrow(/maxClients/);
    expect(() => expressDashboard({ authorize: 'yes' as never })).toThrow(/authorize/);
    expect(() => expressDashboard({ enabled: 'true' as never })).toThrow(/enabled/);
  });
});
