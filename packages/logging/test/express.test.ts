import express, { type NextFunction, type Request, type Response } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { configureRequestId, currentExchange, onExchangeEnd, recentEvents, setErrorHandler, setTraceIdsReader, type Exchange } from '@vigil/core';
import { createLogger, expressLogging } from '../src';
import type { LoggingOptions } from '../src';
import { Collector, sleep, until } from './helpers';

function appWith(options: Partial<LoggingOptions> = {}): { app: express.Express; out: Collector; logger: ReturnType<typeof createLogger> } {
  const out = new Collector();
  const logger = createLogger({ service: 'orders', destination: out, level: 'debug' });
  const app = express();
  app.use(expressLogging({ logger, ...options }));
  const users = express.Router();
  users.get('/users/:id', async (req: Request, res: Response) => {
    await sleep(2);
    logger.info({ user_id: req.params.id }, 'loaded user');
    res.json({ id: req.params.id });
  });
  app.use('/api', users);
  app.get('/bad', (_req, res) => {
    res.status(400).json({ error: 'bad' });
  });
  app.get('/throws', () => {
    throw new Error('sync kaput');
  });
  app.get('/rejects', async () => {
    await sleep(1);
    throw new TypeError('async kaput');
  });
  app.get('/forbidden', (_req: Request, _res: Response, next: NextFunction) => {
    next(Object.assign(new Error('no'), { status: 403 }));
  });
  app.get('/slow', (_req, res) => {
    setTimeout(() => {
      if (!res.writableEnded && !res.destroyed) res.send('late');
    }, 400);
  });
  app.get('/healthz', (_req, res) => {
    res.send('ok');
  });
  app.get('/probe', (_req, res) => {
    const ex = currentExchange();
    if (ex !== undefined) ex.quiet = true;
    res.send('quiet');
  });
  return { app, out, logger };
}

async function accessLineFor(out: Collector, count: number): Promise<Record<string, any>[]> {
  await until(() => out.access().length >= count, 10_000, `${count} access lines`);
  return out.access();
}

describe('expressLogging', () => {
  it('writes one info line for a 200 with the route template, ids, status, duration and bytes', async () => {
    const { app, out } = appWith();
    const res = await request(app).get('/api/users/42?page=2').set('x-request-id', 'req-abc-1');
    expect(res.status).toBe(200);
    const [line] = await accessLineFor(out, 1);
    expect(line).toMatchObject({
      level: 'info',
      service: 'orders',
      method: 'GET',
      route: '/api/users/:id',
      path: '/api/users/42?page=2',
      status: 200,
      outcome: 'ok',
      request_id: 'req-abc-1',
      message: 'GET /api/users/:id 200',
    });
    expect(typeof line.duration_ms).toBe('number');
    expect(line.duration_ms).toBeGreaterThan(0);
    expect(line.response_bytes).toBeGreaterThan(0);
    expect(new Date(line.timestamp).toISOString()).toBe(line.timestamp);
    await sleep(50);
    expect(out.access()).toHaveLength(1);
  });

  it('gives a line written after an await inside the handler the request id', async () => {
    const { app, out } = appWith();
    const res = await request(app).get('/api/users/7');
    const id = res.headers['x-request-id'];
    expect(typeof id).toBe('string');
    await accessLineFor(out, 1);
    const inside = out.records().find((r) => r.message === 'loaded user');
    expect(inside).toMatchObject({ level: 'info', service: 'orders', user_id: '7', request_id: id });
  });

  it('writes one line per request when the same middleware is mounted again in a sub-app and a router', async () => {
    const out = new Collector();
    const log = expressLogging({ logger: createLogger({ service: 'orders', destination: out }) });
    const app = express();
    app.use(log);
    const admin = express();
    admin.use(log);
    admin.get('/users/:id', (_req, res) => { res.send('ok'); });
    app.use('/admin', admin);
    const router = express.Router();
    router.use(log);
    router.get('/x/:id', (_req, res) => { res.send('ok'); });
    app.use('/r', router);
    await request(app).get('/admin/users/1');
    await request(app).get('/r/x/2');
    const lines = await accessLineFor(out, 2);
    await sleep(30);
    expect(out.access().map((line) => line.route)).toEqual(['/admin/users/:id', '/r/x/:id']);
    expect(lines).toHaveLength(2);
  });

  it('logs 4xx at warn, including unmatched routes as one constant', async () => {
    const { app, out } = appWith();
    await request(app).get('/bad');
    await request(app).get('/no/such/path/123');
    await request(app).get('/forbidden');
    const lines = await accessLineFor(out, 3);
    expect(lines.map((l) => [l.level, l.route, l.status, l.outcome])).toEqual([
      ['warn', '/bad', 400, 'ok'],
      ['warn', '(unmatched)', 404, 'ok'],
      ['warn', '/forbidden', 403, 'ok'],
    ]);
  });

  it('logs a thrown error and a rejected promise at error, with type, message and stack', async () => {
    const { app, out } = appWith();
    await request(app).get('/throws');
    await request(app).get('/rejects');
    const [sync, async] = await accessLineFor(out, 2);
    expect(sync).toMatchObject({ level: 'error', route: '/throws', status: 500, outcome: 'error', message: 'GET /throws 500 failed' });
    expect(sync.err).toMatchObject({ type: 'Error', message: 'sync kaput' });
    expect(sync.err.stack).toContain('sync kaput');
    expect(async).toMatchObject({ level: 'error', route: '/rejects', status: 500, outcome: 'error' });
    expect(async.err).toMatchObject({ type: 'TypeError', message: 'async kaput' });
  });

  it('logs a request the client aborted as 499, at warn, saying so', async () => {
    const { app, out } = appWith();
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      const req = http.get({ host: '127.0.0.1', port, path: '/slow' });
      req.on('error', () => undefined);
      await sleep(100);
      req.destroy();
      const [line] = await accessLineFor(out, 1);
      expect(line).toMatchObject({ level: 'warn', route: '/slow', status: 499, outcome: 'aborted' });
      expect(line.message).toBe('GET /slow aborted by the client (499)');
      await sleep(500);
      expect(out.access()).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('logs a request the server timed out at error, saying so', async () => {
    const { app, out } = appWith();
    app.get('/hangs', () => undefined);
    const server = http.createServer(app);
    server.setTimeout(150);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      const req = http.get({ host: '127.0.0.1', port, path: '/hangs' });
      req.on('error', () => undefined);
      const [line] = await accessLineFor(out, 1);
      expect(line).toMatchObject({ level: 'error', route: '/hangs', status: 504, outcome: 'timeout', message: 'GET /hangs timed out (504)' });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('writes exactly one line per request under concurrency', async () => {
    const { app, out } = appWith();
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const agent = request(server);
      const urls = Array.from({ length: 60 }, (_, i) => ['/api/users/' + i, '/bad', '/throws', '/nope'][i % 4]);
      const responses = await Promise.all(urls.map((u) => agent.get(u)));
      const ids = responses.map((r) => r.headers['x-request-id'] as string);
      const lines = await accessLineFor(out, 60);
      await sleep(50);
      expect(out.access()).toHaveLength(60);
      expect(new Set(lines.map((l) => l.request_id))).toEqual(new Set(ids));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('makes req.log only when a handler reads it, bound to the request', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'orders', destination: out });
    const app = express();
    app.use(expressLogging({ logger }));
    const seen: Exchange[] = [];
    const stop = onExchangeEnd((ex) => seen.push(ex));
    app.get('/quiet-handler', (_req, res) => {
      res.send('no log');
    });
    app.get('/uses-log', async (req, res) => {
      const first = req.log;
      await sleep(1);
      expect(req.log).toBe(first);
      setImmediate(() => req.log.info({ order_id: 'ORD-456' }, 'from a callback'));
      req.log.child({ step: 'charge' }).warn('charging');
      res.send('logged');
    });
    try {
      await request(app).get('/quiet-handler');
      const res = await request(app).get('/uses-log');
      await until(() => seen.length >= 2 && out.records().some((r) => r.message === 'from a callback'));
      expect(seen[0].logger).toBeUndefined();
      expect(seen[1].logger).toBeDefined();
      const id = res.headers['x-request-id'];
      const callback = out.records().find((r) => r.message === 'from a callback');
      const charging = out.records().find((r) => r.message === 'charging');
      expect(callback).toMatchObject({ request_id: id, order_id: 'ORD-456', service: 'orders' });
      expect(charging).toMatchObject({ request_id: id, step: 'charge', level: 'warn' });
      // the request id is written once, not twice (binding and mixin)
      const raw = out.text().split('\n').find((l) => l.includes('"charging"')) ?? '';
      expect(raw.split('"request_id"').length).toBe(2);
    } finally {
      stop();
    }
  });

  it('keeps req.log in mounted sub-apps and lets other code assign req.log', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'orders', destination: out });
    const app = express();
    app.use(expressLogging({ logger }));
    const shop = express();
    shop.get('/items/:id', (req, res) => {
      req.log.info({ item: req.params.id }, 'in sub-app');
      res.send('i');
    });
    app.use('/shop', shop);
    app.get('/assigned', (req, res) => {
      const mine = { info: () => undefined } as unknown as typeof req.log;
      req.log = mine;
      res.send(req.log === mine ? 'kept' : 'lost');
    });
    const res = await request(app).get('/shop/items/3');
    await until(() => out.records().some((r) => r.message === 'in sub-app'));
    expect(out.records().find((r) => r.message === 'in sub-app')).toMatchObject({ request_id: res.headers['x-request-id'], item: '3' });
    expect((await request(app).get('/assigned')).text).toBe('kept');
    const plain = express();
    plain.get('/', (req, res) => {
      res.send(String(req.log));
    });
    expect((await request(plain).get('/')).text).toBe('undefined');
  });

  it('skips ignored paths, which still get a request id, and quiet exchanges', async () => {
    const { app, out } = appWith({ ignorePaths: ['/healthz'], autoLogging: { ignore: (req) => req.url === '/bad' } });
    const health = await request(app).get('/healthz');
    expect(health.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]+$/);
    await request(app).get('/bad');
    await request(app).get('/probe');
    await request(app).get('/api/users/1');
    const lines = await accessLineFor(out, 1);
    await sleep(50);
    expect(out.access().map((l) => l.route)).toEqual(['/api/users/:id']);
    expect(lines[0].route).toBe('/api/users/:id');
  });

  it('ignores /healthz/ and /HEALTHZ with /healthz, as Express routes them there, and takes RegExps in either list', async () => {
    const { app, out } = appWith({ ignorePaths: ['/healthz', /^\/api\/users\/9\d*$/], autoLogging: { ignorePaths: ['/BAD'] } });
    for (const path of ['/healthz', '/healthz/', '/HEALTHZ', '/Healthz/?x=1', '/api/users/99']) {
      const res = await request(app).get(path);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]+$/);
    }
    expect((await request(app).get('/bad/')).status).toBe(400);
    await request(app).get('/api/users/1').expect(200);
    await accessLineFor(out, 1);
    await sleep(50);
    expect(out.access().map((l) => l.path)).toEqual(['/api/users/1']);
  });

  it('logs quiet exchanges when asked, and nothing at all with autoLogging false', async () => {
    const loud = appWith({ logQuiet: true });
    await request(loud.app).get('/probe');
    expect((await accessLineFor(loud.out, 1))[0].route).toBe('/probe');
    const off = appWith({ autoLogging: false });
    await request(off.app).get('/api/users/1');
    await until(() => off.out.records().some((r) => r.message === 'loaded user'));
    await sleep(50);
    expect(off.out.access()).toHaveLength(0);
  });

  it('takes customLogLevel, customProps, genReqId and messages the way pino-http does', async () => {
    const { app, out } = appWith({
      customLogLevel: (_req, res, err) => (err ? 'fatal' : res.statusCode >= 400 ? 'error' : 'debug'),
      customProps: (req) => ({ tenant: req.headers['x-tenant'] ?? 'none' }),
      genReqId: (req) => `gen-${String(req.headers['x-tenant'] ?? 'x')}`,
      customSuccessMessage: (req, res) => `done ${req.method} ${res.statusCode}`,
      customErrorMessage: (_req, _res, err) => `broke: ${(err as Error).message}`,
    });
    const res = await request(app).get('/api/users/3').set('x-tenant', 'acme');
    expect(res.headers['x-request-id']).toBe('gen-acme');
    await request(app).get('/bad');
    await request(app).get('/throws');
    const lines = await accessLineFor(out, 3);
    expect(lines[0]).toMatchObject({ level: 'debug', tenant: 'acme', request_id: 'gen-acme', message: 'done GET 200' });
    expect(lines[1]).toMatchObject({ level: 'error', tenant: 'none', status: 400 });
    expect(lines[2]).toMatchObject({ level: 'fatal', message: 'broke: sync kaput' });
    expect(lines[2].err).toMatchObject({ type: 'Error', message: 'sync kaput' });
    // the user line inside the handler carries the generated id too
    expect(out.records().find((r) => r.message === 'loaded user')?.request_id).toBe('gen-acme');
  });

  it('echoes a genReqId id in the request id header the core is configured with', async () => {
    configureRequestId({ header: 'x-correlation-id' });
    try {
      const { app, out } = appWith({ genReqId: () => 'gen-corr-1' });
      const res = await request(app).get('/api/users/4');
      expect(res.headers['x-correlation-id']).toBe('gen-corr-1');
      expect(res.headers['x-request-id']).toBeUndefined();
      const [line] = await accessLineFor(out, 1);
      expect(line.request_id).toBe('gen-corr-1');
    } finally {
      configureRequestId({ header: 'x-request-id' });
    }
  });

  it('applies serializers and redact to the access line', async () => {
    const { app, out } = appWith({
      serializers: { req: (req: http.IncomingMessage) => ({ m: req.method, ua: req.headers['user-agent'] }) },
      requestHeaders: ['user-agent', 'x-tenant'],
      redact: ['request_headers["x-tenant"]'],
    });
    await request(app).get('/api/users/5').set('user-agent', 'probe/1').set('x-tenant', 'acme');
    const [line] = await accessLineFor(out, 1);
    expect(line.req).toEqual({ m: 'GET', ua: 'probe/1' });
    expect(line.request_headers).toEqual({ 'user-agent': 'probe/1', 'x-tenant': '[Redacted]' });
  });

  it('adds trace ids when tracing is on, to access lines and handler lines', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    setTraceIdsReader(() => {
      const ex = currentExchange();
      return ex === undefined ? undefined : { traceId, spanId: '00f067aa0ba902b7' };
    });
    try {
      const { app, out } = appWith();
      await request(app).get('/api/users/9');
      await accessLineFor(out, 1);
      const inside = out.records().find((r) => r.message === 'loaded user');
      expect(inside).toMatchObject({ trace_id: traceId, span_id: '00f067aa0ba902b7' });
    } finally {
      setTraceIdsReader(undefined);
    }
  });

  it('writes the exchange trace ids on the access line', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'orders', destination: out });
    const app = express();
    app.use(expressLogging({ logger }));
    app.get('/t', (_req, res) => {
      const ex = currentExchange() as Exchange;
      ex.traceId = 'abcdefabcdefabcdefabcdefabcdef12';
      ex.spanId = '1234567890abcdef';
      res.send('t');
    });
    await request(app).get('/t');
    const [line] = await accessLineFor(out, 1);
    expect(line).toMatchObject({ trace_id: 'abcdefabcdefabcdefabcdefabcdef12', span_id: '1234567890abcdef' });
  });

  it('keeps warn and error lines in the core ring for the dashboard', async () => {
    recentEvents.logs.clear();
    const { app } = appWith();
    await request(app).get('/throws');
    await until(() => recentEvents.logs.length > 0);
    const [event] = recentEvents.logs.toArray();
    expect(event).toMatchObject({ level: 'error', message: 'GET /throws 500 failed' });
    expect(typeof event.requestId).toBe('string');
  });

  it('throws a precise TypeError for bad options, at construction', () => {
    expect(() => expressLogging({ customLogLevel: 'warn' as never })).toThrow(/customLogLevel must be a function/);
    expect(() => expressLogging({ logger: {} as never })).toThrow(/pino logger/);
    expect(() => expressLogging({ ignorePaths: '/healthz' as never })).toThrow(/ignorePaths/);
    expect(() => expressLogging({ autoLogging: { ignore: 1 as never } })).toThrow(/autoLogging.ignore/);
  });

  it('keeps serving when a user hook throws, and reports it to the core error handler', async () => {
    const reported: string[] = [];
    setErrorHandler((kind) => reported.push(kind));
    const { app, out } = appWith({
      customLogLevel: () => {
        throw new Error('hook bug');
      },
      autoLogging: {
        ignore: () => {
          throw new Error('ignore bug');
        },
      },
    });
    const res = await request(app).get('/api/users/1');
    expect(res.status).toBe(200);
    const [line] = await accessLineFor(out, 1);
    setErrorHandler(undefined);
    expect(line.level).toBe('info');
    expect(reported).toEqual(expect.arrayContaining(['logging.autoLogging.ignore', 'logging.customLogLevel']));
  });
});
