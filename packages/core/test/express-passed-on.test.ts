import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import request from 'supertest';
import { UNMATCHED_ROUTE } from '../src';
import { EXPRESS_VERSIONS, exchangeOf, observedApp, routerStackOf, until, type ExpressModule } from './helpers';

type Layer = { name: string; handle: unknown };

const passOn = (_req: Request, _res: Response, next: NextFunction): void => { next(); };
const notFound = (_req: Request, res: Response): void => { res.status(404).send('no such page'); };

function rootStack(app: express.Express): Layer[] {
  return routerStackOf<Layer>(app);
}

/** The route Express left on the request, as the app sees it (vigil never changes it). */
function routePathOf(req: unknown): unknown {
  return (req as { route?: { path?: unknown } }).route?.path;
}

describe.each(EXPRESS_VERSIONS)('routes that passed on with next() (%s)', (_name, lib: ExpressModule) => {
  it("labels a request that Express's final handler answered after a matching route passed on as unmatched, leaving req.route alone", async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', passOn);
    const ex = await exchangeOf(app, ended, '/users/7');
    expect(ex).toMatchObject({ status: 404, route: UNMATCHED_ROUTE, routeMatched: false, outcome: 'ok' });
    // the mark is vigil's own: Express's req.route still names the route that passed on
    expect(routePathOf(ex.req)).toBe('/users/:id');
  });

  it("does the same for next('route') and for routes inside routers and sub-apps", async () => {
    const { app, ended } = observedApp(lib);
    const api = lib.Router();
    api.get('/users/:id', passOn);
    const shop = lib();
    shop.get('/items/:sku', (_req, _res, next) => { next('route'); });
    app.use('/api', api);
    app.use('/shop', shop);
    expect(await exchangeOf(app, ended, '/shop/items/1')).toMatchObject({ status: 404, route: UNMATCHED_ROUTE });
    expect(await exchangeOf(app, ended, '/api/users/1')).toMatchObject({ status: 404, route: UNMATCHED_ROUTE });
  });

  it('keeps the template of a route that answered 404 itself, or answered and then called next()', async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', (_req, res) => { res.status(404).json({ error: 'no such user' }); });
    app.get('/orders/:id', (_req: Request, res: Response, next: NextFunction) => { res.send('order'); next(); });
    const audited: string[] = [];
    // runs after the order was sent, and answers nothing: the request then reaches Express's final handler
    app.use('/orders', (req: Request, _res: Response, next: NextFunction) => { audited.push(req.originalUrl); next(); });
    expect(await exchangeOf(app, ended, '/users/7')).toMatchObject({ status: 404, route: '/users/:id', routeMatched: true });
    expect(await exchangeOf(app, ended, '/orders/7')).toMatchObject({ status: 200, route: '/orders/:id' });
    expect(audited).toEqual(['/orders/7']);
  });

  it('keeps the template, and req.route, when a middleware after the routes answers what a route prepared and passed on', async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', (req: Request, res: Response, next: NextFunction) => {
      res.locals.data = { id: req.params.id };
      next();
    });
    const seenByApp: unknown[] = [];
    app.use((req: Request, res: Response) => {
      seenByApp.push(routePathOf(req));
      res.json({ data: res.locals.data, route: routePathOf(req) ?? null });
    });
    for (let i = 0; i < 2; i++) {
      const before = ended.length;
      const res = await request(app).get('/users/7').expect(200);
      expect(res.body).toEqual({ data: { id: '7' }, route: '/users/:id' });
      await until(() => ended.length > before);
      expect(ended[before]).toMatchObject({ status: 200, route: '/users/:id', routeMatched: true });
      expect(routePathOf(ended[before].req)).toBe('/users/:id');
    }
    expect(seenByApp).toEqual(['/users/:id', '/users/:id']);
  });

  it('labels the request by a later route that answered after an earlier one passed on', async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', passOn);
    app.get('/users/:name', (_req, res) => { res.send('by name'); });
    expect(await exchangeOf(app, ended, '/users/ada')).toMatchObject({ status: 200, route: '/users/:name' });
  });

  it("keeps the route's template when the app's own 404 catch-all answered after it passed on (known limitation)", async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', passOn);
    app.use(notFound);
    expect(await exchangeOf(app, ended, '/users/7')).toMatchObject({ status: 404, route: '/users/:id' });
    expect(await exchangeOf(app, ended, '/nothing/here')).toMatchObject({ status: 404, route: UNMATCHED_ROUTE });
  });

  it('neither moves the marker nor replaces the stack when layers are added after the first request: the marker then does nothing (known limitation)', async () => {
    const { app, ended } = observedApp(lib);
    app.get('/first', (_req, res) => { res.send('first'); });
    app.get('/early/:id', passOn);
    expect((await exchangeOf(app, ended, '/first')).route).toBe('/first');
    const stack = rootStack(app);
    const names = stack.map((layer) => layer.name);
    expect(names[names.length - 1]).toBe('vigilRouteEnd');
    app.get('/late/:id', (req, res, next) => { if (req.params.id === 'skip') next(); else res.send('late'); });
    expect(await exchangeOf(app, ended, '/late/1')).toMatchObject({ status: 200, route: '/late/:id' });
    // the marker is no longer the last layer: a request passing it may still be answered after it
    expect(await exchangeOf(app, ended, '/late/skip')).toMatchObject({ status: 404, route: '/late/:id' });
    expect(await exchangeOf(app, ended, '/early/1')).toMatchObject({ status: 404, route: '/early/:id' });
    expect(rootStack(app)).toBe(stack);
    expect(stack).toHaveLength(names.length + 1);
    expect(stack.slice(0, names.length).map((layer) => layer.name)).toEqual(names);
  });

  it('keeps the template when the app was called with a next() of its own that answered after every layer passed on', async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', passOn);
    const outer = (req: IncomingMessage, res: ServerResponse): void => {
      (app as unknown as (req: IncomingMessage, res: ServerResponse, next: () => void) => void)(req, res, () => {
        res.statusCode = req.url === '/users/404' ? 404 : 200;
        res.end('answered outside the app');
      });
    };
    const before = ended.length;
    await request(outer).get('/users/7').expect(200, 'answered outside the app');
    await request(outer).get('/users/404').expect(404);
    await until(() => ended.length >= before + 2);
    expect(ended[before]).toMatchObject({ status: 200, route: '/users/:id' });
    expect(ended[before + 1]).toMatchObject({ status: 404, route: UNMATCHED_ROUTE });
  });

  it('leaves the app answering as before (status and body of the final handler and of the catch-all)', async () => {
    const { app } = observedApp(lib);
    app.get('/users/:id', passOn);
    await request(app).get('/users/7').expect(404, /Cannot GET \/users\/7/);
    app.use(notFound);
    await request(app).get('/users/7').expect(404, 'no such page');
  });
});
