import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { exchangeOf, observedApp } from './helpers';

// Express 4.x installed under an npm alias; its Layer has `regexp` and `keys`, not `rawPath`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as typeof import('express');

type ExpressModule = typeof express;

/** An error handler of the app's own that answers 500 without passing the error on. */
const answer500 = (_err: Error, _req: Request, res: Response, _next: NextFunction): void => { res.status(500).json({ error: 'internal' }); };

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
])('errors answered inside routers and sub-apps (%s)', (_name, lib: ExpressModule) => {
  it('keeps an error that an error handler of a router answered', async () => {
    const { app, ended } = observedApp(lib);
    const boom = new Error('boom');
    const api = lib.Router();
    api.get('/boom', () => { throw boom; });
    api.use(answer500);
    app.use('/api', api);
    const ex = await exchangeOf(app, ended, '/api/boom');
    expect(ex).toMatchObject({ status: 500, outcome: 'error', route: '/api/boom' });
    expect(ex.error).toBe(boom);
  });

  it('keeps an error that an error handler of a mounted sub-app answered, on the first request through it', async () => {
    const { app, ended } = observedApp(lib);
    const boom = new Error('boom');
    const shop = lib();
    shop.get('/items/:sku', () => { throw boom; });
    shop.use(answer500);
    app.use('/shop', shop);
    const ex = await exchangeOf(app, ended, '/shop/items/1');
    expect(ex).toMatchObject({ status: 500, outcome: 'error', route: '/shop/items/:sku' });
    expect(ex.error).toBe(boom);
  });

  it('keeps errors forwarded later, in a sub-app of a sub-app, in a sub-app mounted by a router, and answered by a route', async () => {
    const { app, ended } = observedApp(lib);
    const late = new Error('late');
    const inner = lib();
    inner.get('/deep', (_req, _res, next) => { setTimeout(() => next(late), 5); });
    inner.use(answer500);
    const outer = lib();
    outer.use('/inner', inner);
    app.use('/outer', outer);
    const viaRouter = lib();
    const routed = new Error('routed');
    viaRouter.get('/r', () => { throw routed; });
    viaRouter.use(answer500);
    const api = lib.Router();
    api.use('/app', viaRouter);
    app.use('/api', api);
    const own = new Error('own');
    app.get('/own', () => { throw own; }, answer500);
    expect((await exchangeOf(app, ended, '/outer/inner/deep')).error).toBe(late);
    expect((await exchangeOf(app, ended, '/api/app/r')).error).toBe(routed);
    expect((await exchangeOf(app, ended, '/own')).error).toBe(own);
  });

  it('keeps the original error when an inner error handler passes another one on', async () => {
    const { app, ended } = observedApp(lib);
    const original = new Error('original');
    const api = lib.Router();
    api.get('/x', () => { throw original; });
    api.use((_err: Error, _req: Request, _res: Response, next: NextFunction) => { next(new Error('wrapped')); });
    app.use('/api', api);
    app.use(answer500);
    const ex = await exchangeOf(app, ended, '/api/x');
    expect(ex.error).toBe(original);
  });

  it('leaves requests without an error, and what the error handlers answer, unchanged', async () => {
    const { app, ended } = observedApp(lib);
    const api = lib.Router();
    api.get('/ok', (_req, res) => { res.send('ok'); });
    api.get('/fail', () => { throw Object.assign(new Error('teapot'), { status: 418 }); });
    api.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => { res.status(err.status ?? 500).send(err.message); });
    app.use('/api', api);
    await request(app).get('/api/ok').expect(200, 'ok');
    await request(app).get('/api/fail').expect(418, 'teapot');
    const ok = await exchangeOf(app, ended, '/api/ok');
    expect(ok).toMatchObject({ status: 200, outcome: 'ok', error: undefined });
    const fail = await exchangeOf(app, ended, '/api/fail');
    expect(fail).toMatchObject({ status: 418, outcome: 'ok' });
    expect((fail.error as Error).message).toBe('teapot');
  });
});
