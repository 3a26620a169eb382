import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { UNMATCHED_ROUTE } from '../src';
import { exchangeOf, observedApp } from './helpers';

// Express 4.x installed under an npm alias; its Layer has `regexp` and `keys`, not `rawPath`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as typeof import('express');

type ExpressModule = typeof express;

const passOn = (_req: Request, _res: Response, next: NextFunction): void => { next(); };
const notFound = (_req: Request, res: Response): void => { res.status(404).send('no such page'); };

function layerNames(app: express.Express): string[] {
  const holder = app as unknown as { _router?: { stack: Array<{ name: string }> }; router: { stack: Array<{ name: string }> } };
  return (holder._router ?? holder.router).stack.map((layer) => layer.name);
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
])('routes that passed on with next() (%s)', (_name, lib: ExpressModule) => {
  it("labels a request that Express's final handler answered after a matching route passed on as unmatched", async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', passOn);
    const ex = await exchangeOf(app, ended, '/users/7');
    expect(ex).toMatchObject({ status: 404, route: UNMATCHED_ROUTE, routeMatched: false, outcome: 'ok' });
  });

  it("labels a request that the app's own 404 catch-all answered after a matching route passed on as unmatched", async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', passOn);
    app.use(notFound);
    const ex = await exchangeOf(app, ended, '/users/7');
    expect(ex).toMatchObject({ status: 404, route: UNMATCHED_ROUTE, routeMatched: false });
  });

  it("does the same for a catch-all of a router or of a sub-app after one of their routes passed on, and for next('route')", async () => {
    const { app, ended } = observedApp(lib);
    const api = lib.Router();
    api.get('/users/:id', passOn);
    api.use(notFound);
    const shop = lib();
    shop.get('/items/:sku', (_req, _res, next) => { next('route'); });
    shop.use(notFound);
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
    // runs after the order was sent, and answers nothing
    app.use('/orders', (req: Request) => { audited.push(req.originalUrl); });
    app.use(notFound);
    expect(await exchangeOf(app, ended, '/users/7')).toMatchObject({ status: 404, route: '/users/:id', routeMatched: true });
    expect(await exchangeOf(app, ended, '/orders/7')).toMatchObject({ status: 200, route: '/orders/:id' });
    expect(audited).toEqual(['/orders/7']);
  });

  it('labels the request by a later route that answered after an earlier one passed on', async () => {
    const { app, ended } = observedApp(lib);
    app.get('/users/:id', passOn);
    app.get('/users/:name', (_req, res) => { res.send('by name'); });
    app.use(notFound);
    expect(await exchangeOf(app, ended, '/users/ada')).toMatchObject({ status: 200, route: '/users/:name' });
  });

  it('handles routes and a catch-all added after the first request, without a vigil layer before the new routes for long', async () => {
    const { app, ended } = observedApp(lib);
    app.get('/first', (_req, res) => { res.send('first'); });
    expect((await exchangeOf(app, ended, '/first')).route).toBe('/first');
    app.get('/late/:id', (req, res, next) => { if (req.params.id === 'skip') next(); else res.send('late'); });
    app.use(notFound);
    expect(await exchangeOf(app, ended, '/late/1')).toMatchObject({ status: 200, route: '/late/:id' });
    expect(await exchangeOf(app, ended, '/late/skip')).toMatchObject({ status: 404, route: UNMATCHED_ROUTE });
    expect(await exchangeOf(app, ended, '/late/2')).toMatchObject({ status: 200, route: '/late/:id' });
    // the marker moved after the routes added late: a request they answer does not pass it
    const names = layerNames(app);
    expect(names.indexOf('vigilRouteEnd')).toBeGreaterThan(names.lastIndexOf('handle'));
  });

  it('leaves the app answering as before (status and body of the final handler and of the catch-all)', async () => {
    const { app } = observedApp(lib);
    app.get('/users/:id', passOn);
    await request(app).get('/users/7').expect(404, /Cannot GET \/users\/7/);
    app.use(notFound);
    await request(app).get('/users/7').expect(404, 'no such page');
  });
});
