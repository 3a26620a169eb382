import express from 'express';
import Koa from 'koa';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createLogger, expressLogging, koaLogging, maskUrl, isSecretName } from '../src';
import type { LoggingOptions } from '../src';
import { Collector, sleep, until } from './helpers';

/** Every secret-bearing header the issue names, plus look-alikes, each with a unique value. */
const SECRET_HEADERS: Record<string, string> = {
  authorization: 'Bearer sEcReT-authz-0001',
  'proxy-authorization': 'Basic sEcReT-proxy-0002',
  cookie: 'sid=sEcReT-cookie-0003; theme=dark',
  'x-api-key': 'sEcReT-apikey-0004',
  'x-auth-token': 'sEcReT-authtoken-0005',
  'x-client-secret': 'sEcReT-clientsecret-0006',
  'x-db-password': 'sEcReT-password-0007',
  'x-access-token': 'sEcReT-accesstoken-0008',
};
const SECRET_QUERY: Record<string, string> = {
  token: 'sEcReT-q-token-0101',
  access_token: 'sEcReT-q-access-0102',
  api_key: 'sEcReT-q-apikey-0103',
  apikey: 'sEcReT-q-apikey2-0104',
  password: 'sEcReT-q-password-0105',
  client_secret: 'sEcReT-q-clientsecret-0106',
  secret: 'sEcReT-q-secret-0107',
  code: 'sEcReT-q-code-0108',
  '%74oken': 'sEcReT-q-encoded-0109',
};
const SET_COOKIE = 'session=sEcReT-setcookie-0201; HttpOnly';
const ALL_SECRETS = [
  ...Object.values(SECRET_HEADERS).map((v) => v.match(/sEcReT-[a-z0-9-]+/)?.[0] as string),
  ...Object.values(SECRET_QUERY),
  'sEcReT-setcookie-0201',
];

function secretUrl(path: string): string {
  return `${path}?page=2&${Object.entries(SECRET_QUERY).map(([k, v]) => `${k}=${v}`).join('&')}`;
}

const allowEverything: Partial<LoggingOptions> = {
  requestHeaders: [...Object.keys(SECRET_HEADERS), 'user-agent'],
  responseHeaders: ['set-cookie', 'content-type'],
};

describe('secrets never reach a line', () => {
  it.each([
    ['fast path', {}],
    ['pino path (customProps)', { customProps: () => ({ tenant: 'acme' }) }],
  ])('Express, %s: no secret header or query value anywhere in the output', async (_name, extra) => {
    const out = new Collector();
    const logger = createLogger({ service: 'shop', destination: out });
    const app = express();
    app.use(expressLogging({ logger, ...allowEverything, ...extra }));
    app.get('/login', (req, res) => {
      req.log.info({ req }, 'request as an object');
      req.log.info({ headers: req.headers }, 'headers as an object');
      res.setHeader('set-cookie', SET_COOKIE);
      res.status(500).send('x');
    });
    let call = request(app).get(secretUrl('/login'));
    for (const [name, value] of Object.entries(SECRET_HEADERS)) call = call.set(name, value);
    await call;
    await until(() => out.access().length === 1);
    const text = out.text();
    for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
    const [line] = out.access();
    expect(line.request_headers.authorization).toBe('[REDACTED]');
    expect(line.request_headers['user-agent']).toBeUndefined();
    expect(line.response_headers['set-cookie']).toBe('[REDACTED]');
    expect(line.path).toContain('page=2');
    expect(line.path).toContain('token=[REDACTED]');
  });

  it('Koa: no secret header or query value anywhere in the output', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'shop', destination: out });
    const app = new Koa();
    app.use(koaLogging({ logger, ...allowEverything }));
    app.use((ctx) => {
      ctx.log.warn({ req: ctx.req, headers: ctx.headers }, 'inspecting');
      ctx.set('set-cookie', SET_COOKIE);
      ctx.body = 'ok';
    });
    let call = request(http.createServer(app.callback())).get(secretUrl('/account'));
    for (const [name, value] of Object.entries(SECRET_HEADERS)) call = call.set(name, value);
    await call;
    await until(() => out.access().length === 1);
    const text = out.text();
    for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
  });

  it('recognises secret-looking names and masks query values by decoded name', () => {
    expect(['authorization', 'Cookie', 'set-cookie', 'x-api-key', 'refresh_token', 'db_password', 'client-secret'].every(isSecretName)).toBe(true);
    expect(['user-agent', 'accept', 'page', 'x-request-id'].some(isSecretName)).toBe(false);
    expect(maskUrl('/a?x=1&%70assword=p&b')).toBe('/a?x=1&%70assword=[REDACTED]&b');
    expect(maskUrl('/plain')).toBe('/plain');
  });
});

/** Sends raw bytes and reads the whole answer. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.write(head, 'latin1');
  });
}

const HOSTILE_IDS = [
  'abc\r\nx-injected: 1',
  'id\n{"level":"fatal","message":"forged"}',
  '\u001b[31mred\u001b[0m',
  'x'.repeat(10_240),
  'has space',
  '"}{"level":"fatal"',
  'tab\there',
];

/** Query values that decode to control characters, line separators and forged JSON. */
const HOSTILE_QUERIES = ['%1B%5B31mred%1B%5B0m', '%0A%7B%22level%22%3A%22fatal%22%7D', '%E2%80%A8%E2%80%A9', '%00%07%08', '%0D%0Ax-injected%3A%201'];

const HOSTILE_PATHS = [
  '/echo/%0A%7B%22level%22%3A%22fatal%22%7D',
  '/echo/"quoted"?q="}{"',
  '/echo/\u001b[2J',
  `/echo/${'z'.repeat(10_000)}`,
  '/echo/caf\u00e9\u2028line?x=\u2029',
  '/echo/back\\slash',
];

async function serveAndHammer(server: http.Server, out: Collector): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  let answered = 0;
  try {
    for (const id of HOSTILE_IDS) {
      const query = id.length < 1000 ? `?m=${encodeURIComponent(id)}` : '';
      const reply = await rawRequest(port, `GET /echo/1${query} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`);
      if (reply.startsWith('HTTP/1.1 200')) answered++;
    }
    for (const q of HOSTILE_QUERIES) {
      const reply = await rawRequest(port, `GET /echo/q?m=${q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      if (reply.startsWith('HTTP/1.1 200')) answered++;
    }
    for (const path of HOSTILE_PATHS) {
      const reply = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      if (reply.startsWith('HTTP/1.1 200')) answered++;
    }
    await until(() => out.access().length >= answered, 10_000, 'access lines for answered requests');
    await sleep(50);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  return answered;
}

function assertOneObjectPerLine(out: Collector, answered: number): void {
  const text = out.text();
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.split('\n').slice(0, -1);
  for (const line of lines) {
    const parsed = JSON.parse(line);
    expect(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)).toBe(true);
    expect(parsed.level).not.toBe('fatal');
  }
  const access = out.access();
  expect(access).toHaveLength(answered);
  for (const a of access) {
    expect(a.request_id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(HOSTILE_IDS).not.toContain(a.request_id);
  }
  expect(text).not.toContain('\u001b');
  expect(text).not.toContain('\r');
  // the application lines got the decoded hostile values, escaped
  const logged = out.records().map((r) => r.m).filter((m) => typeof m === 'string');
  expect(logged).toContain('\u001b[31mred\u001b[0m');
  expect(logged).toContain('\n{"level":"fatal"}');
}

describe('hostile request ids and URLs', () => {
  it('Express: the output parses as exactly one JSON object per line', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'edge', destination: out });
    const app = express();
    app.use(expressLogging({ logger }));
    app.get(/^\/echo\/.*/, (req, res) => {
      req.log.info({ m: req.query.m, url: req.url }, String(req.query.m ?? req.url));
      res.send('ok');
    });
    const answered = await serveAndHammer(http.createServer(app), out);
    expect(answered).toBeGreaterThanOrEqual(14);
    assertOneObjectPerLine(out, answered);
  });

  it('Koa: the output parses as exactly one JSON object per line', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'edge', destination: out });
    const app = new Koa();
    app.use(koaLogging({ logger }));
    app.use((ctx) => {
      ctx.log.info({ m: ctx.query.m, url: ctx.url }, String(ctx.query.m ?? ctx.url));
      ctx.body = 'ok';
    });
    const answered = await serveAndHammer(http.createServer(app.callback()), out);
    expect(answered).toBeGreaterThanOrEqual(14);
    assertOneObjectPerLine(out, answered);
  });

  it('replaces a hostile id from genReqId too', async () => {
    const out = new Collector();
    const logger = createLogger({ service: 'edge', destination: out });
    const app = express();
    app.use(expressLogging({ logger, genReqId: () => 'evil\n{"forged":1}' }));
    app.get('/x', (_req, res) => {
      res.send('x');
    });
    await request(app).get('/x');
    await until(() => out.access().length === 1);
    expect(out.access()[0].request_id).not.toContain('evil');
  });
});
