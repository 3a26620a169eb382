import express, { type NextFunction, type Request, type Response } from 'express';
import connectTimeout from 'connect-timeout';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import request from 'supertest';
import { currentExchange, mergeableExpressMiddleware, observeExpress, runInExchange, UNMATCHED_ROUTE, type Exchange } from '../src';
import { observedApp, until } from './helpers';

async function routeOf(app: express.Express, ended: Exchange[], method: 'get' | 'post', url: string): Promise<Exchange> {
  const before = ended.length;
  await request(app)[method](url);
  await until(() => ended.length > before);
  return ended[ended.length - 1];
}

describe('observeExpress', () => {
  it('labels routers nested three deep by their full template', async () => {
    const { app, ended } = observedApp();
    const api = express.Router();
    const v1 = express.Router();
    const users = express.Router();
    users.get('/users/:id', (req, res) => { res.json({ id: req.params.id }); });
    v1.use(users);
    api.use('/v1', v1);
    app.use('/api', api);
    const ex = await routeOf(app, ended, 'get', '/api/v1/users/42');
    expect(ex.route).toBe('/api/v1/users/:id');
    expect(ex.routeMatched).toBe(true);
    expect(ex.status).toBe(200);
    expect(ex.outcome).toBe('ok');
  });

  it('keeps the pattern of parametric mounts, never the real id', async () => {
    const { app, ended } = observedApp();
    const projects = express.Router({ mergeParams: true });
    projects.get('/projects/:pid', (_req, res) => { res.send('p'); });
    app.use('/orgs/:orgId', projects);
    const a = await routeOf(app, ended, 'get', '/orgs/7/projects/9');
    const b = await routeOf(app, ended, 'get', '/orgs/8/projects/10');
    expect(a.route).toBe('/orgs/:orgId/projects/:pid');
    expect(b.route).toBe('/orgs/:orgId/projects/:pid');
  });

  it('labels a mounted sub-app with its mount path', async () => {
    const { app, ended } = observedApp();
    const shop = express();
    shop.get('/items/:itemId', (_req, res) => { res.send('i'); });
    app.use('/shop', shop);
    expect((await routeOf(app, ended, 'get', '/shop/items/3')).route).toBe('/shop/items/:itemId');
  });

  it('labels router.route() chains, array paths and regex paths', async () => {
    const { app, ended } = observedApp();
    const r = express.Router();
    r.route('/things/:id').get((_q, s) => { s.send('g'); }).post((_q, s) => { s.send('p'); });
    app.use('/r', r);
    app.get(['/alpha', '/beta/:x'], (_q, s) => { s.send('arr'); });
    app.get(/^\/files\/.+\.txt$/, (_q, s) => { s.send('re'); });
    expect((await routeOf(app, ended, 'get', '/r/things/1')).route).toBe('/r/things/:id');
    expect((await routeOf(app, ended, 'post', '/r/things/1')).route).toBe('/r/things/:id');
    expect((await routeOf(app, ended, 'get', '/alpha')).route).toBe('/alpha');
    expect((await routeOf(app, ended, 'get', '/beta/2')).route).toBe('/beta/:x');
    expect((await routeOf(app, ended, 'get', '/files/a.txt')).route).toBe(String(/^\/files\/.+\.txt$/));
  });

  it('gives every unmatched request one constant route', async () => {
    const { app, ended } = observedApp();
    app.get('/known', (_q, s) => { s.send('k'); });
    const a = await routeOf(app, ended, 'get', '/nope/1');
    const b = await routeOf(app, ended, 'get', '/other/thing?x=1');
    expect(a.route).toBe(UNMATCHED_ROUTE);
    expect(b.route).toBe(UNMATCHED_ROUTE);
    expect(a.routeMatched).toBe(false);
    expect(a.status).toBe(404);
  });

  it('records a thrown sync error as outcome error with the original error kept', async () => {
    const { app, ended } = observedApp();
    const boom = new Error('boom');
    app.get('/boom', () => { throw boom; });
    const ex = await routeOf(app, ended, 'get', '/boom');
    expect(ex.status).toBe(500);
    expect(ex.outcome).toBe('error');
    expect(ex.error).toBe(boom);
  });

  it('records a rejected async handler and next(err)', async () => {
    const { app, ended } = observedApp();
    const rejected = new Error('rejected');
    const forwarded = new Error('forwarded');
    app.get('/reject', async () => { await Promise.resolve(); throw rejected; });
    app.get('/next', (_req, _res, next) => { next(forwarded); });
    const a = await routeOf(app, ended, 'get', '/reject');
    const b = await routeOf(app, ended, 'get', '/next');
    expect([a.outcome, a.error]).toEqual(['error', rejected]);
    expect([b.outcome, b.error]).toEqual(['error', forwarded]);
  });

  it('keeps the error when the app answers errors with its own trailing error handler', async () => {
    const { app, ended } = observedApp();
    const failure = new Error('payment failed');
    app.get('/pay', async () => { throw failure; });
    app.use((_e: Error, _req: Request, res: Response, _next: NextFunction) => { res.status(502).json({ error: 'upstream' }); });
    const ex = await routeOf(app, ended, 'get', '/pay');
    const again = await routeOf(app, ended, 'get', '/pay');
    expect(ex.status).toBe(502);
    expect(ex.outcome).toBe('error');
    expect(ex.error).toBe(failure);
    expect(again.error).toBe(failure);
  });

  it('keeps the error when the app answers errors and then has a 404 catch-all after its error handler', async () => {
    const app = express();
    const ended: Exchange[] = [];
    app.use(mergeableExpressMiddleware(function vigilObserver(req: Request, res: Response, next: NextFunction) {
      observeExpress(req, res).onEnd((done) => ended.push(done));
      next();
    }));
    const failure = new Error('payment failed');
    app.get('/pay', async () => { throw failure; });
    app.use((_e: Error, _req: Request, res: Response, _next: NextFunction) => { res.status(500).json({ error: 'internal' }); });
    app.use((_req: Request, res: Response) => { res.status(404).send('no such page'); });
    const first = await routeOf(app, ended, 'get', '/pay');
    const again = await routeOf(app, ended, 'get', '/pay');
    const missing = await routeOf(app, ended, 'get', '/nowhere');
    expect(first).toMatchObject({ status: 500, outcome: 'error', error: failure });
    expect(again.error).toBe(failure);
    expect(missing).toMatchObject({ status: 404, outcome: 'ok', error: undefined });
  });

  it('keeps errors seen by a user error handler that forwards them', async () => {
    const { app, ended } = observedApp();
    const err = Object.assign(new Error('teapot'), { status: 418 });
    app.get('/tea', () => { throw err; });
    app.use((e: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => { res.status(e.status ?? 500).send('handled'); });
    const ex = await routeOf(app, ended, 'get', '/tea');
    expect(ex.status).toBe(418);
    expect(ex.outcome).toBe('ok');
  });

  it('completes exactly once when the client destroys the socket mid-response (aborted, 499)', async () => {
    const { app, ended } = observedApp();
    app.get('/slow', (_req, res) => {
      res.write('partial');
      setTimeout(() => res.end('late'), 300);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/slow' }, (res) => {
        res.once('data', () => { req.destroy(); resolve(); });
      });
      req.on('error', () => resolve());
    });
    await until(() => ended.length === 1);
    await new Promise((r) => setTimeout(r, 400));
    server.close();
    expect(ended).toHaveLength(1);
    expect(ended[0].outcome).toBe('aborted');
    expect(ended[0].status).toBe(499);
  });

  it('ends a sink added after the client went away at once, as aborted (499), before and after another observer', async () => {
    const app = express();
    const early: Exchange[] = [];
    const late: Exchange[] = [];
    const unseen: Exchange[] = [];
    let arrived = 0;
    app.use((_req, _res, next) => { arrived++; next(); });
    app.use('/seen', function observeEarly(req: Request, res: Response, next: NextFunction) {
      observeExpress(req, res).onEnd((done) => early.push(done));
      next();
    });
    // an app middleware that is still working when the client goes away
    app.use((_req, _res, next) => { setTimeout(next, 400); });
    app.use(function observeLate(req: Request, res: Response, next: NextFunction) {
      const ex = observeExpress(req, res);
      ex.onEnd((done) => (req.originalUrl.startsWith('/seen') ? late : unseen).push(done));
      next();
    });
    app.use((_req, res) => { res.end('too late'); });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    for (const path of ['/seen', '/unseen']) {
      const before = arrived;
      const req = http.get({ host: '127.0.0.1', port, path });
      req.on('error', () => undefined);
      await until(() => arrived > before);
      req.destroy();
    }
    try {
      await until(() => late.length === 1 && unseen.length === 1);
    } finally {
      server.close();
      server.closeAllConnections();
    }
    expect(early).toHaveLength(1);
    expect(late[0]).toBe(early[0]);
    for (const ex of [late[0], unseen[0]]) {
      expect(ex).toMatchObject({ outcome: 'aborted', status: 499, ended: true });
      expect(ex.durationMs).toBeGreaterThan(0);
    }
  });

  it('marks a server timeout as outcome timeout', async () => {
    const { app, ended } = observedApp();
    app.get('/hang', () => { /* never answers */ });
    const server = app.listen(0, '127.0.0.1');
    server.setTimeout(200);
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/hang' }, () => resolve());
      req.on('error', () => resolve());
    });
    await until(() => ended.length === 1);
    server.close();
    expect(ended[0].outcome).toBe('timeout');
    expect(ended[0].status).toBe(504);
  });

  it('marks a connect-timeout 503 as outcome timeout, with the status sent', async () => {
    const { app, ended } = observedApp();
    app.get('/slow', connectTimeout('50ms'), (req, res, next) => {
      setTimeout(() => { if (!(req as Request & { timedout?: boolean }).timedout) res.send('late'); }, 150);
      void next;
    });
    app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err.status ?? 500).send(err.message);
    });
    const res = await request(app).get('/slow');
    expect(res.status).toBe(503);
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ outcome: 'timeout', status: 503, route: '/slow' });
    expect((ended[0].error as { code?: string }).code).toBe('ETIMEDOUT');
  });

  it('shares one exchange and one close listener between stacked observers', async () => {
    const { app, ended } = observedApp();
    const second: Exchange[] = [];
    let listeners = -1;
    app.use((req, res, next) => {
      const ex = observeExpress(req, res);
      ex.onEnd((done) => second.push(done));
      listeners = res.listenerCount('close');
      runInExchange(ex, next);
    });
    app.get('/x', (_q, s) => { s.send('x'); });
    await routeOf(app, ended, 'get', '/x');
    await until(() => second.length === 1);
    expect(second[0]).toBe(ended[0]);
    const bare = express();
    let bareListeners = -1;
    bare.get('/x', (_q, res) => { bareListeners = res.listenerCount('close'); res.send('x'); });
    await request(bare).get('/x');
    expect(listeners).toBe(bareListeners + 1);
  });

  it('gives the request id from the header when plain, a new one otherwise, and echoes it', async () => {
    const { app, ended } = observedApp();
    app.get('/id', (_q, s) => { s.send(currentExchange()?.requestId); });
    const kept = await request(app).get('/id').set('x-request-id', 'abc-123.def:9_z');
    expect(kept.headers['x-request-id']).toBe('abc-123.def:9_z');
    expect(kept.text).toBe('abc-123.def:9_z');
    for (const hostile of ['a b', 'x'.repeat(129), 'tab\there', 'y'.repeat(10_000), 'a%0Ab', '<script>']) {
      const res = await request(app).get('/id').set('x-request-id', hostile);
      expect(res.headers['x-request-id']).not.toBe(hostile);
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
    const fresh = await request(app).get('/id');
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    await until(() => ended.length === 8);
    expect(new Set(ended.map((e) => e.requestId)).size).toBe(8);
  });

  it('keeps the request context across await, timers and promise chains', async () => {
    const { app } = observedApp();
    app.get('/ctx', async (_req, res) => {
      const ids: Array<string | undefined> = [currentExchange()?.requestId];
      await new Promise((r) => setTimeout(r, 5));
      ids.push(currentExchange()?.requestId);
      await new Promise<void>((r) => setImmediate(() => { ids.push(currentExchange()?.requestId); r(); }));
      await Promise.resolve().then(() => ids.push(currentExchange()?.requestId));
      res.json(ids);
    });
    const results = await Promise.all(
      ['r1', 'r2', 'r3'].map((id) => request(app).get('/ctx').set('x-request-id', id).then((r) => ({ id, ids: r.body as string[] }))),
    );
    for (const { id, ids } of results) expect(ids).toEqual([id, id, id, id]);
    expect(currentExchange()).toBeUndefined();
  });

  it('measures sizes and duration', async () => {
    const { app, ended } = observedApp();
    app.post('/echo', express.text(), (req, res) => { res.send(String(req.body).toUpperCase()); });
    const before = ended.length;
    await request(app).post('/echo').set('content-type', 'text/plain').send('hello');
    await until(() => ended.length > before);
    const ex = ended[ended.length - 1];
    expect(ex.requestBytes).toBe(5);
    expect(ex.responseBytes).toBe(5);
    expect(ex.durationMs).toBeGreaterThan(0);
    expect(ex.startEpochMs).toBeGreaterThan(Date.now() - 60_000);
  });

  /**
   * Two chunked GET /stream requests on one connection, the second sent once the first answered
   * (keep-alive) or with it in one write (pipelined): asserts that each exchange counted the bytes
   * of its own response.
   */
  async function eachCountsItsOwnBytes(pipelined: boolean): Promise<void> {
    const { app, ended } = observedApp();
    app.get('/stream', (_req, res) => {
      res.write('abc');
      setTimeout(() => res.end('de'), 20);
    });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    const before = ended.length;
    const received = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const GET = 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n';
      let sentSecond = pipelined;
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        text += d;
        const done = text.split('0\r\n\r\n').length - 1;
        if (done === 1 && !sentSecond) {
          sentSecond = true;
          socket.write(GET);
        } else if (done === 2) socket.end();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(pipelined ? GET + GET : GET);
    });
    await until(() => ended.length >= before + 2);
    server.close();
    const [first, second] = received.split(/(?<=0\r\n\r\n)/);
    expect(ended[before].responseBytes).toBe(Buffer.byteLength(first, 'latin1'));
    expect(ended[before + 1].responseBytes).toBe(Buffer.byteLength(second, 'latin1'));
  }

  it('counts the bytes a streamed response put on the socket when it has no content-length', async () => {
    // one after the other on one keep-alive connection: the second counts only its own bytes
    await eachCountsItsOwnBytes(false);
  });

  it('counts only its own bytes for a pipelined response without content-length', async () => {
    // both in one write: the second is parsed, and its exchange made, while the first is still answering
    await eachCountsItsOwnBytes(true);
  });
});
