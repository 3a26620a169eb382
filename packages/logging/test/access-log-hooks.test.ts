import express from 'express';
import Koa from 'koa';
import http from 'node:http';
import pino from 'pino';
import request from 'supertest';
import { setErrorHandler } from '@vigil/core';
import { createLogger, expressLogging, koaLogging } from '../src';
import type { LoggingOptions } from '../src';
import { Collector, sleep, until } from './helpers';

interface Report {
  kind: string;
  error: unknown;
}

/** Collects what reaches the core's error handler while `fn` runs. */
async function withReports(fn: (reports: Report[]) => Promise<void>): Promise<void> {
  const reports: Report[] = [];
  setErrorHandler((kind, error) => reports.push({ kind, error }));
  try {
    await fn(reports);
  } finally {
    setErrorHandler(undefined);
  }
}

function expressApp(options: Partial<LoggingOptions>, logger = createLogger({ service: 'orders', destination: new Collector() })): express.Express {
  const app = express();
  app.use(expressLogging({ logger, ...options }));
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/throws', () => {
    throw new Error('sync kaput');
  });
  return app;
}

function broken(message: string): (value: unknown) => never {
  return () => {
    throw new Error(message);
  };
}

async function oneAccessLine(out: Collector): Promise<Record<string, any>> {
  await until(() => out.access().length >= 1, 10_000, 'the access line');
  await sleep(20);
  const lines = out.access();
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe('access line with a user hook that throws', () => {
  it('still writes the line when a serializer throws, with a marker in that field, and reports it once', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = createLogger({ service: 'orders', destination: out });
      const app = expressApp(
        {
          serializers: { req: broken('req serializer bug'), res: (res: http.ServerResponse) => ({ code: res.statusCode }) },
          customProps: () => ({ tenant: 'acme' }),
        },
        logger,
      );
      const res = await request(app).get('/users/7');
      expect(res.status).toBe(200);
      const line = await oneAccessLine(out);
      expect(line).toMatchObject({
        level: 'info',
        method: 'GET',
        route: '/users/:id',
        status: 200,
        outcome: 'ok',
        tenant: 'acme',
        req: '[serializer error: Error]',
        res: { code: 200 },
        message: 'GET /users/:id 200',
      });
      expect(reports.map((r) => r.kind)).toEqual(['logging.serializers.req']);
      expect(((reports[0].error as Error).cause as Error).message).toBe('req serializer bug');
      expect((reports[0].error as Error).message).toBe('Error thrown by the req serializer (message withheld: it may quote the value; see cause)');
    });
  });

  it('marks each line whose serializer throws, and reports every failure once', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = createLogger({ service: 'orders', destination: out });
      let calls = 0;
      const app = expressApp(
        {
          serializers: {
            tenant: (value: string) => {
              calls++;
              if (value === 'bad') throw new TypeError('no tenant');
              return value.toUpperCase();
            },
          },
          customProps: (req) => ({ tenant: String(req.headers['x-tenant']) }),
        },
        logger,
      );
      await request(app).get('/users/1').set('x-tenant', 'bad');
      await request(app).get('/users/2').set('x-tenant', 'acme');
      await until(() => out.access().length >= 2);
      const [first, second] = out.access();
      expect(first.tenant).toBe('[serializer error: TypeError]');
      expect(second.tenant).toBe('ACME');
      expect(calls).toBe(2);
      expect(reports.map((r) => r.kind)).toEqual(['logging.serializers.tenant']);
    });
  });

  it('keeps the error message (which may quote a secret) out of the line, and survives a thrown non-Error', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = createLogger({ service: 'orders', destination: out });
      const app = expressApp(
        {
          serializers: {
            a: broken('x'.repeat(5000)),
            b: () => {
              throw { toString: () => { throw new Error('even toString fails'); } };
            },
            c: () => JSON.parse('Bearer s3cr3t-token'),
          },
          customProps: () => ({ a: 1, b: 2, c: 3 }),
        },
        logger,
      );
      await request(app).get('/users/1');
      const line = await oneAccessLine(out);
      expect(line.a).toBe('[serializer error: Error]');
      expect(line.b).toBe('[serializer error: unknown error]');
      expect(line.c).toBe('[serializer error: SyntaxError]');
      expect(JSON.stringify(line)).not.toContain('s3cr3t-token');
      // nor in what the default error handler would print (the message of the reported error)
      for (const r of reports) expect((r.error as Error).message).not.toContain('s3cr3t-token');
      expect(line.status).toBe(200);
      expect(reports.map((r) => r.kind).sort()).toEqual(['logging.serializers.a', 'logging.serializers.b', 'logging.serializers.c']);
    });
  });

  it('still writes the line when a serializer of the logger itself throws on an access-line field', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = createLogger({ service: 'orders', destination: out, serializers: { err: broken('err serializer bug') } });
      const app = expressApp({}, logger);
      const res = await request(app).get('/throws');
      expect(res.status).toBe(500);
      const line = await oneAccessLine(out);
      expect(line).toMatchObject({ level: 'error', status: 500, outcome: 'error', err: '[serializer error: Error]' });
      expect(reports.map((r) => r.kind)).toEqual(['logging.serializers.err']);
    });
  });

  it('still writes the line with a plain pino logger whose serializer throws', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = pino({ serializers: { err: broken('plain pino err bug') } }, out);
      const app = expressApp({}, logger);
      await request(app).get('/throws');
      const line = await oneAccessLine(out);
      expect(line).toMatchObject({ status: 500, err: '[serializer error: Error]' });
      expect(reports.map((r) => r.kind)).toEqual(['logging.serializers.err']);
    });
  });

  it('still writes the line, without the extra fields, when customProps throws, and reports it once', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = createLogger({ service: 'orders', destination: out });
      const app = expressApp({ customProps: broken('props bug') }, logger);
      const res = await request(app).get('/users/3');
      expect(res.status).toBe(200);
      const line = await oneAccessLine(out);
      expect(line).toMatchObject({ level: 'info', route: '/users/:id', status: 200, message: 'GET /users/:id 200' });
      expect(reports.map((r) => r.kind)).toEqual(['logging.customProps']);
    });
  });

  it('still writes the line at the default level when customLogLevel throws, and reports it once', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = createLogger({ service: 'orders', destination: out });
      const app = expressApp({ customLogLevel: broken('level bug') }, logger);
      await request(app).get('/throws');
      const line = await oneAccessLine(out);
      expect(line).toMatchObject({ level: 'error', status: 500, outcome: 'error' });
      expect(reports.map((r) => r.kind)).toEqual(['logging.customLogLevel']);
    });
  });

  it('Koa: still writes the line when a serializer throws', async () => {
    await withReports(async (reports) => {
      const out = new Collector();
      const logger = createLogger({ service: 'orders', destination: out });
      const app = new Koa();
      app.use(koaLogging({ logger, serializers: { res: broken('koa res bug') } }));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      const res = await request(http.createServer(app.callback())).get('/k');
      expect(res.status).toBe(200);
      const line = await oneAccessLine(out);
      expect(line).toMatchObject({ status: 200, outcome: 'ok', res: '[serializer error: Error]' });
      expect(reports.map((r) => r.kind)).toEqual(['logging.serializers.res']);
    });
  });
});
