import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { observeKoa, onExchangeEnd, registerPackage, runKoaDownstream, unregisterPackage, type Exchange } from '@vigil/core';
import { koaDashboard } from '../src';
import { resetSampler } from '../src/sampler';
import { close, listen, readEvents, until } from './helpers';

function appWith(options: Parameters<typeof koaDashboard>[0] = {}): Koa {
  const app = new Koa();
  app.use(async function observe(ctx, next) {
    await runKoaDownstream(observeKoa(ctx), next);
  });
  app.use(koaDashboard(options));
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  router.post('/orders', (ctx) => {
    ctx.status = 201;
    ctx.body = { ok: true };
  });
  app.use(router.routes());
  return app;
}

afterAll(() => {
  resetSampler();
});

describe('koaDashboard', () => {
  it('serves the page and its assets', async () => {
    const server = appWith().callback();
    const res = await request(server).get('/_vigil').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.text).toContain('/_vigil/assets/dashboard.js');
    const js = await request(server).get('/_vigil/assets/uplot.js').expect(200);
    await request(server).get('/_vigil/assets/uplot.js').set('if-none-match', js.headers.etag).expect(304);
    await request(server).get('/users/5').expect(200, { id: '5' });
  });

  it('lists Koa router templates in the snapshot', async () => {
    const server = appWith().callback();
    await request(server).get('/users/1').expect(200);
    await request(server).post('/orders').expect(201);
    const snap = await request(server).get('/_vigil/snapshot.json').expect(200);
    const names = snap.body.routes.map((r: { route: string }) => r.route);
    expect(names).toEqual(expect.arrayContaining(['/users/:id', '/orders']));
  });

  it('observes requests itself, so it shows traffic when it is the only vigil package', async () => {
    const app = new Koa();
    app.use(koaDashboard());
    const router = new Router();
    router.get('/solo/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    app.use(router.routes());
    const server = app.callback();
    await request(server).get('/solo/1').expect(200);
    const snap = await request(server).get('/_vigil/snapshot.json').expect(200);
    expect(snap.body.routes.find((r: { route: string }) => r.route === '/solo/:id')?.count).toBe(1);
  });

  it('streams ticks over Server-Sent Events', async () => {
    const { server, url } = await listen(appWith().callback());
    try {
      const { status, events } = await readEvents(`${url}/_vigil/events`, 3);
      expect(status).toBe(200);
      expect(events.map((e) => e.name)).toEqual(['history', 'tick', 'tick']);
    } finally {
      await close(server);
    }
  });

  it('marks its requests quiet', async () => {
    const seen: Exchange[] = [];
    const stop = onExchangeEnd((ex) => seen.push(ex));
    try {
      await request(appWith().callback()).get('/_vigil/snapshot.json').expect(200);
      await until(() => seen.length >= 1);
      expect(seen[0].quiet).toBe(true);
    } finally {
      stop();
    }
  });

  it('passes the Koa context to authorize', async () => {
    const app = appWith({ authorize: (_req, ctx) => (ctx as Koa.Context).get('x-admin') === 'yes' });
    await request(app.callback()).get('/_vigil').expect(403);
    await request(app.callback()).get('/_vigil').set('x-admin', 'yes').expect(200);
  });

  it('is off in production unless enabled', async () => {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await request(appWith().callback()).get('/_vigil').expect(404);
      await request(appWith({ enabled: true, authorize: () => true }).callback()).get('/_vigil').expect(200);
    } finally {
      process.env.NODE_ENV = before;
    }
  });

  it('hides sections of packages that are not registered', async () => {
    const server = appWith().callback();
    let snap = await request(server).get('/_vigil/snapshot.json').expect(200);
    expect(snap.body.health).toBeUndefined();
    registerPackage({ name: 'health', snapshot: () => ({ status: 'pass', checks: [] }) });
    try {
      snap = await request(server).get('/_vigil/snapshot.json').expect(200);
      expect(snap.body.health).toMatchObject({ status: 'pass', checks: [] });
    } finally {
      unregisterPackage('health');
    }
  });
});
