import express, { type NextFunction, type Request, type Response } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { mergeableExpressMiddleware, observeExpress, runInExchange } from '../src';

/** A vigil-like middleware that notes its name on the request and continues. */
function vigilStep(name: string, seen: string[]): (req: Request, res: Response, next: NextFunction) => void {
  return mergeableExpressMiddleware(function step(req: Request, res: Response, next: NextFunction): void {
    const ex = observeExpress(req, res);
    seen.push(name);
    runInExchange(ex, next);
  });
}

function layerNames(app: express.Express): string[] {
  return (app.router.stack as Array<{ name: string }>).map((layer) => layer.name);
}

/** Whether the run that opened the app's stack now runs from its router's `handle` (express-hoist.ts). */
function hoisted(app: express.Express): boolean {
  return Object.prototype.hasOwnProperty.call(app.router, 'handle');
}

/** The app's own routes after the steps: `GET /ok`, and an error handler answering 500 with the message. */
function serveOkAndErrors(app: express.Express): void {
  app.get('/ok', (_req, res) => {
    res.send('ok');
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(err.message);
  });
}

describe('mergeableExpressMiddleware', () => {
  it('gives a run of adjacent vigil middlewares one layer after the first request, same order', async () => {
    const seen: string[] = [];
    const app = express();
    app.use(vigilStep('a', seen));
    app.use(vigilStep('b', seen));
    app.use(vigilStep('c', seen));
    app.get('/x', (_req, res) => {
      seen.push('handler');
      res.send('x');
    });
    expect(layerNames(app)).toEqual(['step', 'step', 'step', 'handle']);
    await request(app).get('/x').expect(200, 'x');
    expect(seen).toEqual(['a', 'b', 'c', 'handler']);
    // the run is one handler now, and as it opens the stack it runs from the router's handle; the
    // error-capture layer and the route-end marker sit at the end
    expect(layerNames(app)).toEqual(['handle', 'vigilCaptureError', 'vigilRouteEnd']);
    expect(hoisted(app)).toBe(true);
    seen.length = 0;
    await request(app).get('/x').expect(200, 'x');
    expect(seen).toEqual(['a', 'b', 'c', 'handler']);
  });

  it('never merges across a middleware of the app or one mounted on a path', async () => {
    const seen: string[] = [];
    const app = express();
    app.use(vigilStep('a', seen));
    app.use(function auth(req: Request, res: Response, next: NextFunction) {
      if (req.headers.authorization !== 'yes') {
        res.status(401).end();
        return;
      }
      next();
    });
    app.use(vigilStep('b', seen));
    app.use('/api', vigilStep('mounted', seen));
    app.use(vigilStep('c', seen));
    app.get('/api/x', (_req, res) => {
      res.send('x');
    });
    await request(app).get('/api/x').expect(401);
    expect(seen).toEqual(['a']);
    await request(app).get('/api/x').set('authorization', 'yes').expect(200);
    expect(seen).toEqual(['a', 'a', 'b', 'mounted', 'c']);
    // the first step opens the stack: it runs from the router's handle; the others stay where they are
    expect(layerNames(app)).toEqual(['auth', 'step', 'step', 'step', 'handle', 'vigilCaptureError', 'vigilRouteEnd']);
    expect(hoisted(app)).toBe(true);
  });

  it('stops the run when a step answers, and passes next(err) to the error handlers', async () => {
    const app = express();
    app.use(vigilStep('a', []));
    app.use(
      mergeableExpressMiddleware(function answers(req: Request, res: Response, next: NextFunction) {
        if (req.url === '/answered') res.send('from the step');
        else if (req.url === '/fails') next(new Error('step failed'));
        else next();
      }),
    );
    const after: string[] = [];
    app.use(vigilStep('after', after));
    serveOkAndErrors(app);
    await request(app).get('/ok').expect(200, 'ok');
    expect(hoisted(app)).toBe(true);
    expect(layerNames(app)[0]).toBe('handle');
    await request(app).get('/answered').expect(200, 'from the step');
    await request(app).get('/fails').expect(500, 'step failed');
    expect(after).toEqual(['after']);
  });

  it("continues the run on next('route'), and passes a step's rejected promise to the error handlers", async () => {
    const seen: string[] = [];
    const app = express();
    app.use(
      mergeableExpressMiddleware(function skipsRoute(_req: Request, _res: Response, next: NextFunction) {
        seen.push('route');
        next('route');
      }),
    );
    app.use(
      mergeableExpressMiddleware(async function rejects(req: Request, _res: Response, next: NextFunction) {
        seen.push('async');
        if (req.url === '/rejects') throw new Error('async step failed');
        next();
      }),
    );
    app.use(vigilStep('last', seen));
    serveOkAndErrors(app);
    await request(app).get('/ok').expect(200, 'ok');
    await request(app).get('/ok').expect(200, 'ok');
    expect(hoisted(app)).toBe(true);
    expect(seen).toEqual(['route', 'async', 'last', 'route', 'async', 'last']);
    await request(app).get('/rejects').expect(500, 'async step failed');
  });

  it('leaves requests already being routed on the stack they started with', async () => {
    const seen: string[] = [];
    const app = express();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // the first request waits in an app middleware placed before the vigil run
    app.use(async function gate(req: Request, _res: Response, next: NextFunction) {
      if (req.url === '/slow') await held;
      next();
    });
    app.use(vigilStep('a', seen));
    app.use(vigilStep('b', seen));
    app.get(['/slow', '/fast'], (req, res) => {
      seen.push(req.url);
      res.send('done');
    });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const slow = fetch(`${base}/slow`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      // this request is the first to reach a vigil layer: the stack is merged while /slow waits
      expect(await (await fetch(`${base}/fast`)).text()).toBe('done');
      // not the first layer (the gate is): merged, not hoisted
      expect(layerNames(app)).toContain('vigil');
      expect(hoisted(app)).toBe(false);
      release();
      expect(await (await slow).text()).toBe('done');
      expect(seen).toEqual(['a', 'b', '/fast', 'a', 'b', '/slow']);
    } finally {
      server.close();
    }
  });
});
