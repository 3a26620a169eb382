import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { continueExpress, continueKoa, currentExchange, enableRequestContext, observeExpress, observeKoa, requestContextEnabled } from '../src';

// Module state is fresh per test file: nothing has asked for the request context yet.
describe('request context on demand', () => {
  it('continueExpress skips the context until something asks for it, then enters it', async () => {
    expect(requestContextEnabled()).toBe(false);
    const app = express();
    app.use((req, res, next) => continueExpress(observeExpress(req, res), next));
    app.get('/', async (_req, res) => {
      await Promise.resolve();
      res.json({ id: currentExchange()?.requestId ?? null });
    });
    // the first read finds no context (none was entered) and turns it on for later requests
    const first = await request(app).get('/').set('x-request-id', 'first');
    expect(first.body.id).toBeNull();
    expect(requestContextEnabled()).toBe(true);
    const second = await request(app).get('/').set('x-request-id', 'second');
    expect(second.body.id).toBe('second');
  });

  it('continueKoa enters the context once enabled and keeps thrown errors on the exchange', async () => {
    enableRequestContext();
    const app = new Koa();
    app.silent = true;
    const errors: unknown[] = [];
    app.use(async (ctx, next) => {
      const ex = observeKoa(ctx);
      ex.onEnd((done) => errors.push(done.error));
      await continueKoa(ex, next);
    });
    app.use(async (ctx) => {
      await new Promise((r) => setTimeout(r, 2));
      if (ctx.path === '/boom') throw new Error('boom');
      ctx.body = { id: currentExchange()?.requestId };
    });
    expect((await request(app.callback()).get('/').set('x-request-id', 'k1')).body.id).toBe('k1');
    expect((await request(app.callback()).get('/boom')).status).toBe(500);
    await new Promise((r) => setTimeout(r, 20));
    expect((errors[1] as Error).message).toBe('boom');
  });
});
