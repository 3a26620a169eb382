import Koa from 'koa';
import Router from '@koa/router';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { currentExchange, onExchangeEnd, type Exchange } from '@vigil/core';
import { createLogger, koaLogging } from '../src';
import type { LoggingOptions } from '../src';
import { Collector, sleep, until } from './helpers';

function appWith(options: Partial<LoggingOptions> = {}): { app: Koa; out: Collector; server: () => http.Server } {
  const out = new Collector();
  const logger = createLogger({ service: 'orders', destination: out });
  const app = new Koa();
  app.silent = true;
  app.use(koaLogging({ logger, ...options }));
  const router = new Router();
  router.get('/users/:id', async (ctx) => {
    await sleep(2);
    logger.info({ user_id: ctx.params.id }, 'loaded user');
    ctx.body = { id: ctx.params.id };
  });
  router.get('/bad', (ctx) => {
    ctx.throw(400, 'bad input');
  });
  router.get('/throws', () => {
    throw new Error('sync kaput');
  });
  router.get('/rejects', async () => {
    await sleep(1);
    throw new TypeError('async kaput');
  });
  router.get('/slow', async (ctx) => {
    await sleep(400);
    ctx.body = 'late';
  });
  router.get('/with-log', async (ctx) => {
    await sleep(1);
    ctx.log.info({ order_id: 'ORD-1' }, 'ctx log line');
    ctx.body = 'ok';
  });
  router.get('/probe', (ctx) => {
    const ex = currentExchange();
    if (ex !== undefined) ex.quiet = true;
    ctx.body = 'quiet';
  });
  app.use(router.routes());
  return { app, out, server: () => http.createServer(app.callback()) };
}

async function accessLines(out: Collector, count: number): Promise<Record<string, any>[]> {
  await until(() => out.access().length >= count, 10_000, `${count} access lines`);
  return out.access();
}

describe('koaLogging', () => {
  it('writes one info line with the @koa/router template', async () => {
    const { server, out } = appWith();
    const res = await request(server()).get('/users/42').set('x-request-id', 'koa-req-1');
    expect(res.status).toBe(200);
    const [line] = await accessLines(out, 1);
    expect(line).toMatchObject({ level: 'info', route: '/users/:id', path: '/users/42', status: 200, outcome: 'ok', request_id: 'koa-req-1', service: 'orders' });
    await sleep(50);
    expect(out.access()).toHaveLength(1);
  });

  it('gives a line written after an await the request id', async () => {
    const { server, out } = appWith();
    await request(server()).get('/users/8').set('x-request-id', 'koa-req-2');
    await accessLines(out, 1);
    expect(out.records().find((r) => r.message === 'loaded user')).toMatchObject({ request_id: 'koa-req-2', user_id: '8' });
  });

  it('logs ctx.throw(4xx) and unmatched paths at warn', async () => {
    const { server, out } = appWith();
    const s = server();
    await request(s).get('/bad');
    await request(s).get('/missing/1');
    const lines = await accessLines(out, 2);
    expect(lines.map((l) => [l.level, l.route, l.status, l.outcome])).toEqual([
      ['warn', '/bad', 400, 'ok'],
      ['warn', '(unmatched)', 404, 'ok'],
    ]);
  });

  it('logs thrown errors and rejected promises at error with type, message and stack', async () => {
    const { server, out } = appWith();
    const s = server();
    await request(s).get('/throws');
    await request(s).get('/rejects');
    const [a, b] = await accessLines(out, 2);
    expect(a).toMatchObject({ level: 'error', route: '/throws', status: 500, outcome: 'error' });
    expect(a.err).toMatchObject({ type: 'Error', message: 'sync kaput' });
    expect(a.err.stack).toContain('sync kaput');
    expect(b).toMatchObject({ level: 'error', route: '/rejects', status: 500, outcome: 'error' });
    expect(b.err).toMatchObject({ type: 'TypeError', message: 'async kaput' });
  });

  it('logs a request the client aborted as 499 with a message that says so', async () => {
    const { server, out } = appWith();
    const s = server();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = s.address() as AddressInfo;
      const req = http.get({ host: '127.0.0.1', port, path: '/slow' });
      req.on('error', () => undefined);
      await sleep(100);
      req.destroy();
      const [line] = await accessLines(out, 1);
      expect(line).toMatchObject({ level: 'warn', route: '/slow', status: 499, outcome: 'aborted', message: 'GET /slow aborted by the client (499)' });
      await sleep(500);
      expect(out.access()).toHaveLength(1);
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('makes ctx.log only when a handler reads it', async () => {
    const { server, out } = appWith();
    const seen: Exchange[] = [];
    const stop = onExchangeEnd((ex) => seen.push(ex));
    try {
      const s = server();
      await request(s).get('/users/1');
      const res = await request(s).get('/with-log');
      await until(() => seen.length >= 2);
      expect(seen[0].logger).toBeUndefined();
      expect(seen[1].logger).toBeDefined();
      expect(out.records().find((r) => r.message === 'ctx log line')).toMatchObject({ request_id: res.headers['x-request-id'], order_id: 'ORD-1' });
    } finally {
      stop();
    }
  });

  it('gives ctx.log the request child even when app.context.log is the app logger', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'orders', destination: out });
    const app = new Koa();
    (app.context as unknown as { log: unknown }).log = logger;
    app.use(koaLogging({ logger }));
    app.use(async (ctx) => {
      await sleep(1);
      ctx.log.info('hello');
      ctx.body = 'ok';
    });
    const res = await request(http.createServer(app.callback())).get('/');
    await until(() => out.records().some((r) => r.message === 'hello'));
    const line = out.text().split('\n').find((l) => l.includes('"hello"')) ?? '';
    expect(JSON.parse(line).request_id).toBe(res.headers['x-request-id']);
    expect(line.split('"request_id"').length).toBe(2);
  });

  it('skips ignored paths (which still get an id) and quiet exchanges', async () => {
    const { server, out } = appWith({ ignorePaths: ['/users/1'] });
    const s = server();
    const ignored = await request(s).get('/users/1');
    expect(ignored.headers['x-request-id']).toBeTruthy();
    await request(s).get('/probe');
    await request(s).get('/users/2');
    await accessLines(out, 1);
    await sleep(50);
    expect(out.access().map((l) => l.path)).toEqual(['/users/2']);
  });

  it('writes one line per request under concurrency', async () => {
    const { server, out } = appWith();
    const s = server();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    try {
      const agent = request(s);
      const urls = Array.from({ length: 40 }, (_, i) => ['/users/' + i, '/bad', '/throws', '/x'][i % 4]);
      const responses = await Promise.all(urls.map((u) => agent.get(u)));
      await accessLines(out, 40);
      await sleep(50);
      expect(out.access()).toHaveLength(40);
      const ids = new Set(out.access().map((l) => l.request_id));
      expect(ids.size).toBe(40);
      // Koa's error handler clears response headers, so only successful responses echo the id
      for (const r of responses.filter((x) => x.status < 400)) expect(ids.has(r.headers['x-request-id'])).toBe(true);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});
