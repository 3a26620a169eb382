import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHealth, eventLoopLagCheck, heapCheck, httpCheck, tcpCheck, type Health } from '../src';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('ready-made checks', () => {
  let server: http.Server;
  let port: number;
  const hanging: http.ServerResponse[] = [];
  const healths: Health[] = [];
  const make = (): Health => {
    const h = createHealth({ service: 'checks', register: false });
    healths.push(h);
    return h;
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/ok') res.end('fine');
      else if (req.url === '/down') { res.statusCode = 500; res.end('nope'); }
      else if (req.url === '/no-content') { res.statusCode = 204; res.end(); }
      else hanging.push(res);
    });
    port = await listen(server);
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await close(server);
  });
  afterEach(() => {
    for (const h of healths.splice(0)) h.close();
  });

  describe('httpCheck', () => {
    it('passes on a 2xx and reports the response time', async () => {
      const report = await make().register('upstream', httpCheck(`http://127.0.0.1:${port}/ok`)).check();
      expect(report.checks[0]).toMatchObject({ key: 'upstream:responseTime', status: 'pass', observedUnit: 'ms', componentType: 'component' });
      expect(report.checks[0].observedValue).toEqual(expect.any(Number));
    });

    it('fails on an unexpected status and honours expectStatus', async () => {
      const health = make()
        .register('down', httpCheck(`http://127.0.0.1:${port}/down`))
        .register('nocontent', httpCheck(`http://127.0.0.1:${port}/no-content`, { expectStatus: 204 }))
        .register('strict', httpCheck(`http://127.0.0.1:${port}/ok`, { expectStatus: (s) => s === 201 }));
      const by = Object.fromEntries((await health.check()).checks.map((c) => [c.name, c]));
      expect(by.down).toMatchObject({ status: 'fail', output: 'unexpected status 500' });
      expect(by.nocontent.status).toBe('pass');
      expect(by.strict).toMatchObject({ status: 'fail', output: 'unexpected status 200' });
    });

    it('is aborted by the check timeout on a server that never answers', async () => {
      const report = await make().register('stuck', httpCheck(`http://127.0.0.1:${port}/hang`), { timeoutMs: 200 }).check();
      expect(report.checks[0]).toMatchObject({ status: 'fail', output: 'timed out after 200 ms' });
    });

    it('fails on a refused connection without showing credentials from the URL', async () => {
      const spare = net.createServer();
      const freePort = await listen(spare);
      await close(spare);
      const report = await make().register('gone', httpCheck(`http://user:hunter2@127.0.0.1:${freePort}/`)).check();
      expect(report.checks[0].status).toBe('fail');
      expect(report.checks[0].output).toMatch(/ECONNREFUSED|fetch failed/);
      expect(report.checks[0].output).not.toContain('hunter2');
    });

    it('sends credentials from the URL as Basic auth', async () => {
      let seen: string | undefined;
      const authServer = http.createServer((req, res) => { seen = req.headers.authorization; res.end(); });
      const authPort = await listen(authServer);
      try {
        const report = await make().register('auth', httpCheck(`http://user:p%40ss@127.0.0.1:${authPort}/`)).check();
        expect(report.checks[0].status).toBe('pass');
        expect(seen).toBe('Basic ' + Buffer.from('user:p@ss').toString('base64'));
      } finally {
        authServer.closeAllConnections();
        await close(authServer);
      }
    });

    it('rejects bad URLs and options at creation', () => {
      expect(() => httpCheck('not a url')).toThrow(TypeError);
      expect(() => httpCheck('ftp://example.com/')).toThrow(/http and https/);
      expect(() => httpCheck('http://x/', { expectStatus: 42 })).toThrow(/expectStatus/);
    });
  });

  describe('tcpCheck', () => {
    it('passes when the port accepts a connection', async () => {
      const report = await make().register('redis', tcpCheck('127.0.0.1', port)).check();
      expect(report.checks[0]).toMatchObject({ key: 'redis:responseTime', status: 'pass', observedUnit: 'ms' });
    });

    it('fails when nothing listens', async () => {
      const spare = net.createServer();
      const freePort = await listen(spare);
      await close(spare);
      const report = await make().register('redis', tcpCheck('127.0.0.1', freePort)).check();
      expect(report.checks[0].status).toBe('fail');
      expect(report.checks[0].output).toContain('ECONNREFUSED');
    });

    it('rejects bad ports at creation', () => {
      expect(() => tcpCheck('127.0.0.1', 0)).toThrow(/port/);
      expect(() => tcpCheck('', 80)).toThrow(/host/);
    });
  });

  describe('eventLoopLagCheck', () => {
    it('fails after the loop was blocked longer than maxMs, then recovers', async () => {
      const health = make().register('eventloop', eventLoopLagCheck(250, { resolutionMs: 10 }), { groups: ['liveness'] });
      await new Promise((r) => setTimeout(r, 50));
      const end = Date.now() + 700;
      while (Date.now() < end) { /* block the loop */ }
      await new Promise((r) => setTimeout(r, 30));
      const blocked = await health.check('liveness');
      expect(blocked.checks[0]).toMatchObject({ key: 'eventloop:eventLoopLag', status: 'fail', observedUnit: 'ms', componentType: 'system' });
      expect(blocked.checks[0].observedValue as number).toBeGreaterThan(250);
      await new Promise((r) => setTimeout(r, 200));
      const calm = await health.check('liveness');
      expect(calm.checks[0].status).toBe('pass');
    });

    it('rejects a bad threshold', () => {
      expect(() => eventLoopLagCheck(0)).toThrow(TypeError);
      expect(() => eventLoopLagCheck(10, { percentile: 101 })).toThrow(/percentile/);
    });
  });

  describe('heapCheck', () => {
    it('reports heap use in percent and fails above the ratio', async () => {
      const health = make().register('heap', heapCheck(1)).register('tiny', heapCheck(0.000001), { critical: false }).register('warned', heapCheck(1, { warnRatio: 0.000001 }));
      const by = Object.fromEntries((await health.check()).checks.map((c) => [c.name, c]));
      expect(by.heap).toMatchObject({ key: 'heap:utilization', status: 'pass', observedUnit: 'percent' });
      expect(by.heap.observedValue as number).toBeGreaterThan(0);
      expect(by.tiny.status).toBe('fail');
      expect(by.warned.status).toBe('warn');
    });

    it('rejects ratios outside (0, 1]', () => {
      expect(() => heapCheck(1.5)).toThrow(TypeError);
      expect(() => heapCheck(0.9, { warnRatio: 0 })).toThrow(/warnRatio/);
    });
  });
});
