import Router from '@koa/router';
import Koa from 'koa';
import { createHook } from 'node:async_hooks';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { continueKoa, currentExchange, observeKoa, runKoaDownstream, UNMATCHED_ROUTE, type Exchange } from '../src';
import { until } from './helpers';

function observedApp(): { app: Koa; ended: Exchange[] } {
  const app = new Koa();
  app.silent = true;
  const ended: Exchange[] = [];
  app.use(async function observe(ctx, next) {
    const ex = observeKoa(ctx);
    ex.onEnd((done) => ended.push(done));
    await runKoaDownstream(ex, next);
  });
  return { app, ended };
}

async function hit(app: Koa, ended: Exchange[], url: string, method: 'get' | 'post' = 'get'): Promise<Exchange> {
  const before = ended.length;
  await request(app.callback())[method](url);
  await until(() => ended.length > before);
  return ended[ended.length - 1];
}

describe('observeKoa', () => {
  it('labels @koa/router routes with prefixes and nested routers by template', async () => {
    const { app, ended } = observedApp();
    const users = new Router();
    users.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id }; });
    const v1 = new Router({ prefix: '/v1' });
    v1.use(users.routes());
    const api = new Router({ prefix: '/api' });
    api.use(v1.routes());
    app.use(api.routes());
    const ex = await hit(app, ended, '/api/v1/users/42');
    expect(ex.status).toBe(200);
    expect(ex.route).toBe('/api/v1/users/:id');
    expect(ex.routeMatched).toBe(true);
  });

  it('names the route that answered, not router.use() middleware entered after it (koa-router#223)', async () => {
    const { app, ended } = observedApp();
    const router = new Router();
    router.get('/items/:id', async (ctx, next) => { ctx.body = 'item'; await next(); });
    router.use('/items', async (_ctx, next) => { await next(); });
    app.use(router.routes());
    const ex = await hit(app, ended, '/items/5');
    expect(ex.route).toBe('/items/:id');
  });

  it('gives unmatched requests one constant route', async () => {
    const { app, ended } = observedApp();
    const router = new Router();
    router.get('/known', (ctx) => { ctx.body = 'k'; });
    app.use(router.routes());
    const ex = await hit(app, ended, '/unknown/77');
    expect(ex.status).toBe(404);
    expect(ex.route).toBe(UNMATCHED_ROUTE);
  });

  it('records a thrown error (500, outcome error, original kept) and rethrows it to Koa', async () => {
    const { app, ended } = observedApp();
    const boom = new Error('boom');
    const seenByKoa: unknown[] = [];
    app.on('error', (err) => seenByKoa.push(err));
    const router = new Router();
    router.get('/boom', async () => { await Promise.resolve(); throw boom; });
    app.use(router.routes());
    const ex = await hit(app, ended, '/boom');
    expect(ex.status).toBe(500);
    expect(ex.outcome).toBe('error');
    expect(ex.error).toBe(boom);
    expect(seenByKoa).toContain(boom);
    const again = await request(app.callback()).get('/boom').set('x-request-id', 'err-1');
    expect(again.status).toBe(500);
    expect(again.headers['x-request-id']).toBe('err-1');
  });

  it('keeps an error the app answers itself but reports with app.emit', async () => {
    const { app, ended } = observedApp();
    const failure = new Error('payment failed');
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        ctx.status = 502;
        ctx.body = { error: 'upstream' };
        ctx.app.emit('error', err, ctx);
      }
    });
    app.use(() => { throw failure; });
    const ex = await hit(app, ended, '/pay');
    expect(ex.status).toBe(502);
    expect(ex.outcome).toBe('error');
    expect(ex.error).toBe(failure);
  });

  it('labels a 404 no route answered as unmatched, even when a route matched and passed on with next()', async () => {
    const { app, ended } = observedApp();
    const router = new Router();
    router.get('/pass/:id', (_ctx, next) => next());
    router.get('/gone/:id', (ctx) => { ctx.status = 404; ctx.body = { error: 'gone' }; });
    router.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id }; });
    let seenInside: string | undefined;
    app.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/users/1') seenInside = currentExchange()?.route;
    });
    app.use(router.routes());
    expect((await hit(app, ended, '/pass/77')).route).toBe(UNMATCHED_ROUTE);
    expect((await hit(app, ended, '/gone/3')).route).toBe('/gone/:id'); // the route answered 404 itself
    expect((await hit(app, ended, '/users/1')).route).toBe('/users/:id');
    expect(seenInside).toBe('/users/:id'); // read before the end: what routing knows then
  });

  it('treats ctx.throw(404) as a client error: status 404, outcome ok, error kept', async () => {
    const { app, ended } = observedApp();
    const router = new Router();
    router.get('/missing/:id', (ctx) => ctx.throw(404, 'no such thing'));
    app.use(router.routes());
    const ex = await hit(app, ended, '/missing/1');
    expect(ex.status).toBe(404);
    expect(ex.outcome).toBe('ok');
    expect((ex.error as Error).message).toBe('no such thing');
    expect(ex.route).toBe('/missing/:id');
  });

  it('completes once as aborted (499) when the client goes away mid-response', async () => {
    const { app, ended } = observedApp();
    app.use(async (ctx) => {
      ctx.res.write('partial');
      await new Promise((r) => setTimeout(r, 300));
      ctx.body = 'late';
    });
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => res.once('data', () => { req.destroy(); resolve(); }));
      req.on('error', () => resolve());
    });
    await until(() => ended.length === 1);
    await new Promise((r) => setTimeout(r, 400));
    server.close();
    expect(ended).toHaveLength(1);
    expect(ended[0].outcome).toBe('aborted');
    expect(ended[0].status).toBe(499);
  });

  it('records a stream body that fails mid-response as an error of the server, not a client abort', async () => {
    const { app, ended } = observedApp();
    app.silent = true;
    app.use((ctx) => {
      let chunks = 0;
      ctx.type = 'text/plain';
      ctx.body = new Readable({
        read() {
          if (chunks++ === 0) this.push('first chunk\n');
          else setTimeout(() => this.destroy(new Error('disk read failed')), 20);
        },
      });
    });
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/file' }, (res) => {
        res.on('data', () => undefined);
        res.on('error', () => undefined);
        res.on('close', resolve);
      });
      req.on('error', () => resolve());
    });
    await until(() => ended.length === 1);
    server.close();
    expect(ended[0]).toMatchObject({ outcome: 'error', status: 200 });
    expect((ended[0].error as Error).message).toBe('disk read failed');
  });

  it('keeps the request context across await inside handlers', async () => {
    const { app } = observedApp();
    app.use(async (ctx) => {
      const first = currentExchange()?.requestId;
      await new Promise((r) => setTimeout(r, 5));
      ctx.body = [first, currentExchange()?.requestId];
    });
    const res = await request(app.callback()).get('/').set('x-request-id', 'koa-1');
    expect(res.body).toEqual(['koa-1', 'koa-1']);
    expect(res.headers['x-request-id']).toBe('koa-1');
  });

  it('adds one error reaction for a run of adjacent vigil layers, and still keeps errors an app middleware between them throws', async () => {
    const vigilLayer = (ctx: Koa.Context, next: Koa.Next): Promise<unknown> => continueKoa(observeKoa(ctx), next);
    const promisesPerRequest = async (layers: number): Promise<number> => {
      const app = new Koa();
      for (let i = 0; i < layers; i++) app.use(vigilLayer);
      app.use((ctx) => { ctx.body = 'ok'; });
      const callback = app.callback();
      let created = 0;
      const hook = createHook({ init: (_id, type) => { if (type === 'PROMISE') created++; } });
      const server = http.createServer((req, res) => {
        hook.enable();
        void callback(req, res);
        hook.disable();
      });
      await request(server).get('/').expect(200);
      return created;
    };
    expect(await promisesPerRequest(4)).toBe(await promisesPerRequest(1));

    const app = new Koa();
    app.silent = true;
    const ended: Exchange[] = [];
    const original = new Error('original');
    app.use((ctx, next) => {
      const ex = observeKoa(ctx);
      ex.onEnd((done) => ended.push(done));
      return continueKoa(ex, next);
    });
    app.use(async (_ctx, next) => {
      try {
        await next();
      } catch {
        throw Object.assign(new Error('replaced'), { status: 418, expose: true });
      }
    });
    app.use(vigilLayer);
    app.use(vigilLayer);
    app.use(() => { throw original; });
    const res = await request(app.callback()).get('/').set('x-request-id', 'between-1');
    expect(res.status).toBe(418);
    expect(res.headers['x-request-id']).toBe('between-1');
    await until(() => ended.length === 1);
    expect(ended[0].error).toBe(original);
  });
});
