/**
 * Exchanges prepared at request start: once an observer has run on a server, later requests on it
 * get their exchange from Node's `http.server.request.start` channel, before the framework runs.
 * These tests use one listening server per app so every request after the first takes that path.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import Koa from 'koa';
import { Router } from '@koa/router';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { configureRequestId, continueExpress, continueKoa, observeExpress, observeKoa, onExchangeEnd, UNMATCHED_ROUTE, type Exchange } from '../src';
import { resetRequestIdPolicy } from '../src/request-id';
import { until } from './helpers';

async function listen(handler: http.RequestListener): Promise<{ base: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function observedExpress(): { app: express.Express; ended: Exchange[] } {
  const app = express();
  const ended: Exchange[] = [];
  app.use((req: Request, res: Response, next: NextFunction) => {
    const ex = observeExpress(req, res);
    ex.onEnd((done) => ended.push(done));
    continueExpress(ex, next);
  });
  return { app, ended };
}

/** GETs `path` and gives status, echoed request id and body. */
async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; id: string | null; body: string }> {
  const res = await fetch(base + path, { headers });
  return { status: res.status, id: res.headers.get('x-request-id'), body: await res.text() };
}

afterEach(() => resetRequestIdPolicy());

describe('exchanges prepared at request start', () => {
  it('sets up each Express app a server dispatches to, the second one included (its errors kept)', async () => {
    const first = observedExpress();
    const second = observedExpress();
    const failure = new Error('second app failed');
    first.app.get('/one', (_req, res) => { res.send('one'); });
    second.app.get('/two', () => { throw failure; });
    second.app.use((_e: Error, _req: Request, res: Response, _next: NextFunction) => { res.status(500).send('handled'); });
    const server = await listen((req, res) => (req.url?.startsWith('/two') ? second.app(req, res) : first.app(req, res)));
    try {
      expect((await get(server.base, '/one')).status).toBe(200);
      expect((await get(server.base, '/two')).status).toBe(500);
      await until(() => second.ended.length === 1);
      expect(second.ended[0]).toMatchObject({ outcome: 'error', status: 500, error: failure });
    } finally {
      await server.close();
    }
  });

  it('gives later requests on a server the same exchange data as the first', async () => {
    const { app, ended } = observedExpress();
    const api = express.Router();
    api.get('/users/:id', (req, res) => { res.json({ id: req.params.id }); });
    app.use('/orgs/:org', api);
    app.get('/boom', () => { throw new Error('kaput'); });
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => { res.status(500).send(err.message); });
    const { base, close } = await listen(app);
    try {
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await get(base, `/orgs/o${i}/users/${i}`, { 'x-request-id': `req-${i}` }));
      const hostile = await get(base, '/orgs/a/users/1', { 'x-request-id': 'x'.repeat(200) });
      const boom = await get(base, '/boom');
      const missing = await get(base, '/nowhere');
      await until(() => ended.length === 6);
      expect(results.map((r) => r.id)).toEqual(['req-0', 'req-1', 'req-2']);
      expect(ended.slice(0, 3).map((e) => e.route)).toEqual(Array(3).fill('/orgs/:org/users/:id'));
      expect(ended.slice(0, 3).map((e) => e.requestId)).toEqual(['req-0', 'req-1', 'req-2']);
      expect(hostile.id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
      expect(ended[3].requestId).toBe(hostile.id);
      expect(boom.status).toBe(500);
      expect(ended[4]).toMatchObject({ outcome: 'error', status: 500, route: '/boom' });
      expect((ended[4].error as Error).message).toBe('kaput');
      expect(ended[5]).toMatchObject({ status: 404, route: UNMATCHED_ROUTE, outcome: 'ok' });
      expect(missing.id).toBe(ended[5].requestId);
      expect(ended.every((e) => e.framework === 'express' && e.durationMs > 0)).toBe(true);
    } finally {
      await close();
    }
  });

  it('completes an aborted later request exactly once as 499', async () => {
    const { app, ended } = observedExpress();
    app.get('/ok', (_req, res) => { res.send('ok'); });
    app.get('/slow', (_req, res) => {
      res.write('partial');
      setTimeout(() => res.end('late'), 300);
    });
    const { base, close } = await listen(app);
    try {
      await get(base, '/ok');
      await new Promise<void>((resolve) => {
        const req = http.get(`${base}/slow`, (res) => res.once('data', () => { req.destroy(); resolve(); }));
        req.on('error', () => resolve());
      });
      await until(() => ended.length === 2);
      await new Promise((r) => setTimeout(r, 400));
      expect(ended).toHaveLength(2);
      expect(ended[1]).toMatchObject({ outcome: 'aborted', status: 499, route: '/slow' });
    } finally {
      await close();
    }
  });

  it('replaces a request id header sent twice, as Node would join the two', async () => {
    const { app, ended } = observedExpress();
    app.get('/x', (_req, res) => { res.send('x'); });
    const { base, close } = await listen(app);
    try {
      for (let i = 0; i < 2; i++) {
        const response = await new Promise<string>((resolve, reject) => {
          const socket = net.connect(Number(new URL(base).port), '127.0.0.1', () => {
            socket.end('GET /x HTTP/1.1\r\nHost: t\r\nx-request-id: first-id\r\nX-Request-Id: second-id\r\nConnection: close\r\n\r\n');
          });
          let text = '';
          socket.on('data', (d) => { text += String(d); });
          socket.on('end', () => resolve(text));
          socket.on('error', reject);
        });
        expect(response).toMatch(/^HTTP\/1\.1 200/);
        expect(response).toMatch(/\r\nx-request-id: [0-9a-f]{12}-[0-9a-z]+\r\n/i);
      }
      await until(() => ended.length === 2);
    } finally {
      await close();
    }
  });

  it('runs a user id generator with the framework request, when the observer claims the exchange', async () => {
    const seen: string[] = [];
    configureRequestId({
      generate: (req) => {
        const viaExpress = (req as unknown as Request).get?.('x-tenant') ?? 'none';
        seen.push(viaExpress);
        return `gen-${viaExpress}`;
      },
    });
    const { app, ended } = observedExpress();
    app.get('/x', (_req, res) => { res.send('x'); });
    const { base, close } = await listen(app);
    try {
      const first = await get(base, '/x', { 'x-tenant': 'acme' });
      const second = await get(base, '/x', { 'x-tenant': 'globex' });
      await until(() => ended.length === 2);
      expect([first.id, second.id]).toEqual(['gen-acme', 'gen-globex']);
      expect(seen).toEqual(['acme', 'globex']);
    } finally {
      await close();
    }
  });

  it('leaves servers and paths without an observer alone', async () => {
    const all: Exchange[] = [];
    const stop = onExchangeEnd((ex) => all.push(ex));
    const { app, ended } = observedExpress();
    app.get('/x', (_req, res) => { res.send('x'); });
    const outer = express();
    outer.get('/plain', (_req, res) => { res.send('plain'); });
    outer.use('/api', app);
    const observed = await listen(outer);
    const other = await listen((_req, res) => res.end('other'));
    try {
      await get(observed.base, '/api/x');
      const plain = await get(observed.base, '/plain');
      const plainAgain = await get(observed.base, '/plain');
      const foreign = await get(other.base, '/');
      await get(observed.base, '/api/x');
      await until(() => ended.length === 2);
      await new Promise((r) => setTimeout(r, 50));
      expect(all).toHaveLength(2);
      expect(all.map((e) => e.route)).toEqual(['/api/x', '/api/x']);
      expect(plain.body).toBe('plain');
      expect(plainAgain.body).toBe('plain');
      // requests that no observer claims end without a sink; the id is still echoed on that server
      expect(plainAgain.id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
      expect(foreign.id).toBeNull();
    } finally {
      stop();
      await Promise.all([observed.close(), other.close()]);
    }
  });

  it('does the same for Koa: routes, ctx.throw, request ids', async () => {
    const app = new Koa();
    app.silent = true;
    const ended: Exchange[] = [];
    app.use((ctx, next) => {
      const ex = observeKoa(ctx);
      ex.onEnd((done) => ended.push(done));
      return continueKoa(ex, next);
    });
    const router = new Router({ prefix: '/api' });
    router.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id }; });
    router.get('/gone', (ctx) => ctx.throw(404));
    router.get('/fail', () => { throw new Error('koa kaput'); });
    app.use(router.routes());
    const { base, close } = await listen(app.callback());
    try {
      const a = await get(base, '/api/users/1', { 'x-request-id': 'k-1' });
      const b = await get(base, '/api/users/2', { 'x-request-id': 'k-2' });
      const gone = await get(base, '/api/gone');
      expect(gone.status).toBe(404);
      const fail = await get(base, '/api/fail', { 'x-request-id': 'k-fail' });
      await until(() => ended.length === 4);
      expect([a.id, b.id]).toEqual(['k-1', 'k-2']);
      expect(ended.map((e) => e.route)).toEqual(['/api/users/:id', '/api/users/:id', '/api/gone', '/api/fail']);
      expect(ended[2]).toMatchObject({ status: 404, outcome: 'ok' });
      expect(fail.status).toBe(500);
      expect(fail.id).toBe('k-fail');
      expect(ended[3]).toMatchObject({ status: 500, outcome: 'error', framework: 'koa' });
      expect((ended[3].error as Error).message).toBe('koa kaput');
    } finally {
      await close();
    }
  });
});
