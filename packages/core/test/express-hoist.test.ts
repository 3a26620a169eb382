import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { mergeableExpressMiddleware, observeExpress, runInExchange, type Exchange } from '../src';
import { express4 } from './helpers';

type Step = (req: Request, res: Response, next: NextFunction) => unknown;

/** A vigil-like middleware: observes the request, keeps its ended exchange in `ended`, then runs `then`. */
function vigilStep(ended: Exchange[], then?: Step): Step {
  return mergeableExpressMiddleware(function step(req: Request, res: Response, next: NextFunction): unknown {
    const ex = observeExpress(req, res);
    ex.onEnd((done) => ended.push(done));
    if (then !== undefined) return then(req, res, next);
    runInExchange(ex, next);
    return undefined;
  });
}

function hoisted(router: object): boolean {
  return Object.prototype.hasOwnProperty.call(router, 'handle');
}

function layerNames(app: express.Express): string[] {
  return (app.router.stack as Array<{ name: string }>).map((layer) => layer.name);
}

/** `GET /users/:id`, a sub-router at `/shop`, and an error handler answering 500 with the message. */
function serve(app: express.Express): void {
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const shop = express.Router();
  shop.get('/items/:sku', (_req, res) => {
    res.send('item');
  });
  app.use('/shop', shop);
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(`handled: ${err.message}`);
  });
}

describe('a vigil run that opens the root app runs from the router handle', () => {
  it('serves, routes and names templates as the layer did, from the first request on', async () => {
    const ended: Exchange[] = [];
    const app = express();
    app.use(vigilStep(ended));
    serve(app);
    await request(app).get('/users/1').expect(200, { id: '1' });
    expect(hoisted(app.router)).toBe(true);
    expect(layerNames(app)).not.toContain('step');
    await request(app).get('/users/2').expect(200, { id: '2' });
    await request(app).get('/shop/items/9').expect(200, 'item');
    await request(app).get('/nowhere').expect(404);
    expect(ended.map((ex) => `${ex.status} ${ex.route}`)).toEqual(['200 /users/:id', '200 /users/:id', '200 /shop/items/:sku', '404 (unmatched)']);
  });

  it('sends next(err), a throw and a rejected promise to the app error handlers, and keeps the error', async () => {
    const ended: Exchange[] = [];
    const app = express();
    app.use(
      vigilStep(ended, (req, _res, next) => {
        if (req.url === '/next-error') next(new Error('passed on'));
        else if (req.url === '/throws') throw new Error('thrown');
        else if (req.url === '/rejects') return Promise.reject(new Error('rejected'));
        else next();
        return undefined;
      }),
    );
    serve(app);
    await request(app).get('/users/1').expect(200);
    expect(hoisted(app.router)).toBe(true);
    await request(app).get('/next-error').expect(500, 'handled: passed on');
    await request(app).get('/throws').expect(500, 'handled: thrown');
    await request(app).get('/rejects').expect(500, 'handled: rejected');
    expect(ended.slice(1).map((ex) => [ex.status, ex.outcome, (ex.error as Error | undefined)?.message])).toEqual([
      [500, 'error', 'passed on'],
      [500, 'error', 'thrown'],
      [500, 'error', 'rejected'],
    ]);
    // a route is not matched with an error pending, as the router does after a layer's next(err)
    await request(app).get('/users/1').expect(200);
  });

  it("continues on next('route'), leaves the router on next('router'), and stops when the run answers", async () => {
    const app = express();
    app.use(
      vigilStep([], (req, res, next) => {
        if (req.url === '/answered') res.send('from the run');
        else if (req.url.startsWith('/users/9')) next('router');
        else next('route');
        return undefined;
      }),
    );
    serve(app);
    await request(app).get('/users/1').expect(200, { id: '1' });
    expect(hoisted(app.router)).toBe(true);
    await request(app).get('/answered').expect(200, 'from the run');
    await request(app).get('/users/9').expect(404);
  });

  it('gives the run the request fields the router sets for a layer, and the app the ones it had', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.use(
      vigilStep([], (req, _res, next) => {
        seen.push([req.originalUrl, req.baseUrl, JSON.stringify(req.params), typeof req.next]);
        next();
        return undefined;
      }),
    );
    app.get('/users/:id', (req, res) => {
      seen.push([req.originalUrl, req.baseUrl, JSON.stringify(req.params)]);
      res.send('ok');
    });
    await request(app).get('/users/1?x=1').expect(200);
    await request(app).get('/users/2?x=2').expect(200);
    expect(hoisted(app.router)).toBe(true);
    expect(seen).toEqual([
      ['/users/1?x=1', '', '{}', 'function'],
      ['/users/1?x=1', '', '{"id":"1"}'],
      ['/users/2?x=2', '', '{}', 'function'],
      ['/users/2?x=2', '', '{"id":"2"}'],
    ]);
  });

  it('goes on with the router walk when the run calls next again (a throw after next())', async () => {
    const seen: string[] = [];
    const app = express();
    app.use(
      vigilStep([], (req, _res, next) => {
        next();
        if (req.url === '/users/throws') throw new Error('after next');
        return undefined;
      }),
    );
    // an app middleware that goes on later: the walk is still at it when the run throws
    app.use(function later(_req: Request, _res: Response, next: NextFunction) {
      seen.push('later');
      setTimeout(next, 5);
    });
    app.get('/users/:id', (req, res) => {
      seen.push(`route ${req.params.id}`);
      res.send('ok');
    });
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(`error ${err.message}`);
      res.status(500).send('failed');
    });
    await request(app).get('/users/1').expect(200);
    expect(hoisted(app.router)).toBe(true);
    seen.length = 0;
    await request(app).get('/users/throws').expect(500, 'failed');
    await new Promise((resolve) => setTimeout(resolve, 30));
    // as for a layer: the walk goes on from the app middleware in error mode, to the error
    // handler; the stack is not walked again from the top, and the route never runs
    expect(seen).toEqual(['later', 'error after next']);
  });

  it('runs routes and middlewares added after the first request', async () => {
    const app = express();
    app.use(vigilStep([]));
    serve(app);
    await request(app).get('/users/1').expect(200);
    app.get('/late', (_req, res) => {
      res.send('late');
    });
    await request(app).get('/late').expect(200, 'late');
  });

  it('answers OPTIONS and HEAD as Express does', async () => {
    const app = express();
    app.use(vigilStep([]));
    serve(app);
    await request(app).get('/users/1').expect(200);
    const options = await request(app).options('/users/1').expect(200);
    expect(options.headers.allow).toBe('GET, HEAD');
    await request(app).head('/users/1').expect(200);
  });

  it('leaves a run after a middleware of the app, and a router whose handle is wrapped, as layers', async () => {
    const after = express();
    after.use(function own(_req: Request, _res: Response, next: NextFunction) {
      next();
    });
    after.use(vigilStep([]));
    serve(after);
    await request(after).get('/users/1').expect(200);
    expect(hoisted(after.router)).toBe(false);
    expect(layerNames(after)).toContain('step');

    const wrapped = express();
    const router = wrapped.router as unknown as { handle: (...args: unknown[]) => unknown };
    const original = router.handle;
    let calls = 0;
    router.handle = function handle(this: unknown, ...args: unknown[]) {
      calls++;
      return original.apply(this, args);
    };
    wrapped.use(vigilStep([]));
    serve(wrapped);
    await request(wrapped).get('/users/1').expect(200);
    await request(wrapped).get('/users/2').expect(200);
    expect(router.handle).not.toBe(original);
    expect(calls).toBe(2);
    expect(layerNames(wrapped)[0]).toBe('step');
  });

  it('leaves Express 4 as it is (its own layers open the stack)', async () => {
    const ended: Exchange[] = [];
    const app = express4();
    app.use(vigilStep(ended) as never);
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    await request(app).get('/users/1').expect(200);
    await request(app).get('/users/2').expect(200);
    const router = (app as unknown as { _router: object })._router;
    expect(hoisted(router)).toBe(false);
    expect(ended.map((ex) => ex.route)).toEqual(['/users/:id', '/users/:id']);
  });
});
