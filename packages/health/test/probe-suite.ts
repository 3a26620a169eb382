import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { onExchangeEnd, setErrorHandler, type Exchange } from '@vigil/core';
import { createHealth, type Health } from '../src';
import { assertIetfBody, statusCodeMatches } from './ietf-schema';

/** Builds a server for a framework with the probes mounted; `prefix` mounts them under a path. */
export type MountProbes = (health: Health, options: Record<string, unknown>, mountAt?: string) => Server;

function textOf(res: request.Response): string {
  return typeof res.text === 'string' ? res.text : String(res.body);
}

function jsonOf(res: request.Response): Record<string, any> {
  return JSON.parse(textOf(res)) as Record<string, any>;
}

function passing(): Health {
  return createHealth({ service: 'orders', version: '1.4.2', releaseId: 'abc123' })
    .register('database', () => ({ status: 'pass', observedValue: 3, observedUnit: 'ms' }), { measurement: 'responseTime', componentType: 'datastore' })
    .register('cache', () => true, { critical: false });
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The same behaviour, checked through Express and through Koa. */
export function probeSuite(framework: string, mount: MountProbes): void {
  const healths: Health[] = [];
  const track = (h: Health): Health => {
    healths.push(h);
    return h;
  };
  afterEach(() => {
    for (const h of healths.splice(0)) h.close();
  });

  describe(`${framework}: /health`, () => {
    it('answers application/health+json in the IETF format with no-store caching', async () => {
      const health = track(passing());
      const res = await request(mount(health, {})).get('/health');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/health+json');
      expect(res.headers['cache-control']).toBe('no-store');
      const body = jsonOf(res);
      assertIetfBody(body);
      expect(statusCodeMatches(res.status, body.status)).toBe(true);
      expect(body).toMatchObject({ status: 'pass', version: '1.4.2', releaseId: 'abc123', serviceId: 'orders', description: 'orders' });
      expect(body.checks['database:responseTime'][0]).toMatchObject({ status: 'pass', componentType: 'datastore', observedValue: 3, observedUnit: 'ms' });
      expect(Date.parse(body.checks['database:responseTime'][0].time)).not.toBeNaN();
      expect(body.checks.cache[0].status).toBe('pass');
      expect(body.checks.uptime[0]).toMatchObject({ componentType: 'system', observedUnit: 's', status: 'pass' });
      expect(body.output).toBeUndefined();
    });

    it('reports a failing non-critical check as warn, "degraded", with HTTP 200', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', () => true).register('cache', () => false, { critical: false }));
      const res = await request(mount(health, {})).get('/health');
      const body = jsonOf(res);
      assertIetfBody(body);
      expect(res.status).toBe(200);
      expect(body.status).toBe('warn');
      expect(body.output).toBe('degraded');
      expect(body.checks.cache[0]).toMatchObject({ status: 'fail', output: 'check returned false' });
      expect(statusCodeMatches(res.status, body.status)).toBe(true);
    });

    it('reports a failing critical check as fail with HTTP 503', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', () => ({ status: 'fail', output: 'connection refused' })));
      const res = await request(mount(health, {})).get('/health');
      const body = jsonOf(res);
      assertIetfBody(body);
      expect(res.status).toBe(503);
      expect(body).toMatchObject({ status: 'fail', output: 'unhealthy' });
      expect(body.checks.database[0]).toMatchObject({ status: 'fail', output: 'connection refused' });
      expect(statusCodeMatches(res.status, body.status)).toBe(true);
    });

    it('reports warn results of a check as warn with HTTP 200', async () => {
      const health = track(createHealth({ service: 'orders' }).register('replica', () => ({ status: 'warn', output: 'lagging', observedValue: 12, observedUnit: 's' })));
      const res = await request(mount(health, {})).get('/health');
      const body = jsonOf(res);
      assertIetfBody(body);
      expect(res.status).toBe(200);
      expect(body.status).toBe('warn');
      expect(body.checks.replica[0]).toMatchObject({ status: 'warn', output: 'lagging', observedValue: 12 });
    });

    it('tolerates query strings and a trailing slash', async () => {
      const server = mount(track(passing()), {});
      expect((await request(server).get('/health?cachebust=1')).status).toBe(200);
      expect((await request(server).get('/health/')).status).toBe(200);
      expect(textOf(await request(server).get('/readyz/?x=1&y'))).toBe('ok\n');
    });
  });

  describe(`${framework}: /readiness and /liveness (as in the guide)`, () => {
    it('serve IETF bodies for their group with ready / alive flags', async () => {
      const health = track(
        createHealth({ service: 'orders' })
          .register('database', () => false)
          .register('eventloop', () => true, { groups: ['liveness'] }),
      );
      const server = mount(health, {});
      const ready = await request(server).get('/readiness');
      expect(ready.status).toBe(503);
      const readyBody = jsonOf(ready);
      assertIetfBody(readyBody);
      expect(readyBody.ready).toBe(false);
      expect(Object.keys(readyBody.checks)).toEqual(expect.arrayContaining(['database']));
      expect(readyBody.checks.eventloop).toBeUndefined();
      const live = await request(server).get('/liveness');
      expect(live.status).toBe(200);
      const liveBody = jsonOf(live);
      assertIetfBody(liveBody);
      expect(liveBody.alive).toBe(true);
      expect(liveBody.checks.database).toBeUndefined();
      expect(liveBody.checks.eventloop[0].status).toBe('pass');
    });
  });

  describe(`${framework}: Kubernetes probes`, () => {
    it('answers /readyz, /livez and /startupz with plain ok', async () => {
      const server = mount(track(passing()), {});
      for (const path of ['/readyz', '/livez', '/startupz']) {
        const res = await request(server).get(path);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(textOf(res)).toBe('ok\n');
      }
    });

    it('keeps liveness up when a readiness dependency fails (liveness has no checks by default)', async () => {
      const server = mount(track(createHealth({ service: 'orders' }).register('database', () => false)), {});
      const ready = await request(server).get('/readyz');
      expect(ready.status).toBe(503);
      expect(textOf(ready)).toContain('[-]database failed: check returned false');
      expect(textOf(ready)).toContain('readyz check failed');
      expect((await request(server).get('/livez')).status).toBe(200);
    });

    it('lists checks with ?verbose, Kubernetes style', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', () => true).register('cache', () => false, { critical: false }));
      const res = await request(mount(health, {})).get('/readyz?verbose');
      expect(res.status).toBe(200);
      expect(textOf(res)).toBe('[+]database ok\n[-]cache failed (non-critical): check returned false\nreadyz check passed\n');
      const healthText = await request(mount(health, {})).get('/health?verbose=1');
      expect(healthText.headers['content-type']).toMatch(/^text\/plain/);
      expect(textOf(healthText)).toContain('[+]database ok');
    });

    it('serves a path per check and 404 for an unknown one', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', () => true).register('cache', () => false, { critical: false }));
      const server = mount(health, {});
      expect(textOf(await request(server).get('/readyz/database'))).toBe('ok\n');
      const cache = await request(server).get('/readyz/cache');
      expect(cache.status).toBe(503);
      expect(textOf(cache)).toContain('[-]cache failed (non-critical)');
      expect((await request(server).get('/readyz/nope')).status).toBe(404);
      expect((await request(server).get('/livez/database')).status).toBe(404);
    });

    it('leaves checks out with ?exclude= and warns about names that match nothing', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', () => false).register('cache', () => false));
      const server = mount(health, {});
      expect((await request(server).get('/readyz?exclude=database')).status).toBe(503);
      expect((await request(server).get('/readyz?exclude=database&exclude=cache')).status).toBe(200);
      expect((await request(server).get('/readyz?exclude=database,cache')).status).toBe(200);
      const unknown = await request(server).get('/readyz?exclude=database&exclude=cache&exclude=ghost&verbose');
      expect(unknown.status).toBe(200);
      expect(textOf(unknown)).toContain('warn: some health checks cannot be excluded: no matches for "ghost"');
      const body = jsonOf(await request(server).get('/health?exclude=database'));
      expect(body.checks.database).toBeUndefined();
      expect(body.checks.cache[0].status).toBe('fail');
    });

    it('answers HEAD with the status and headers and no body', async () => {
      const server = mount(track(createHealth({ service: 'orders' }).register('database', () => false)), {});
      const head = await request(server).head('/readyz');
      expect(head.status).toBe(503);
      expect(head.headers['cache-control']).toBe('no-store');
      expect(head.text ?? '').toBe('');
      const ok = await request(server).head('/livez');
      expect(ok.status).toBe(200);
      const healthHead = await request(server).head('/health');
      expect(healthHead.status).toBe(503);
      expect(healthHead.headers['content-type']).toBe('application/health+json');
    });

    it('fails /startupz until the startup checks pass, then stays started', async () => {
      let ready = false;
      const health = track(createHealth({ service: 'orders' }).register('migrations', () => ready, { groups: ['startup'] }));
      const server = mount(health, {});
      expect((await request(server).get('/startupz')).status).toBe(503);
      expect((await request(server).get('/readyz')).status).toBe(200);
      ready = true;
      expect((await request(server).get('/startupz')).status).toBe(200);
      ready = false;
      expect((await request(server).get('/startupz')).status).toBe(200);
    });

    it('does not latch /startupz on an answer that left failing checks out', async () => {
      let dbReady = false;
      const health = track(
        createHealth({ service: 'orders' })
          .register('db', () => dbReady, { groups: ['startup'] })
          .register('cache', () => true, { groups: ['startup'] }),
      );
      const server = mount(health, {});
      expect((await request(server).get('/startupz')).status).toBe(503);
      expect((await request(server).get('/startupz?exclude=db')).status).toBe(200);
      expect((await request(server).get('/startupz/cache')).status).toBe(200);
      expect((await request(server).get('/startupz')).status).toBe(503);
      expect((await request(server).get('/startupz?exclude=ghost')).status).toBe(503);
      dbReady = true;
      expect((await request(server).get('/startupz')).status).toBe(200);
      dbReady = false;
      expect((await request(server).get('/startupz')).status).toBe(200);
    });

    it('fails readiness and /health while shutting down, liveness stays up', async () => {
      const health = track(passing());
      const server = mount(health, {});
      health.markShuttingDown();
      const ready = await request(server).get('/readyz');
      expect(ready.status).toBe(503);
      expect(textOf(ready)).toContain('[-]shutdown failed: shutting down');
      const body = jsonOf(await request(server).get('/health'));
      assertIetfBody(body);
      expect(body).toMatchObject({ status: 'fail', output: 'shutting down' });
      expect((await request(server).get('/readiness')).status).toBe(503);
      expect((await request(server).get('/livez')).status).toBe(200);
      expect((await request(server).get('/liveness')).status).toBe(200);
    });
  });

  describe(`${framework}: routing`, () => {
    it('passes other paths and methods to the app', async () => {
      const server = mount(track(passing()), {});
      const other = await request(server).get('/orders');
      expect(other.status).toBe(200);
      expect(textOf(other)).toBe('app');
      expect((await request(server).post('/health')).status).toBe(404);
      expect((await request(server).get('/healthz')).status).toBe(404);
    });

    it('serves under a basePath and honours renamed or disabled endpoints', async () => {
      const server = mount(track(passing()), { basePath: '/ops', paths: { health: '/status', liveness: false } });
      expect((await request(server).get('/ops/status')).status).toBe(200);
      expect((await request(server).get('/ops/readyz/database')).status).toBe(200);
      expect((await request(server).get('/ops/liveness')).status).toBe(404);
      expect((await request(server).get('/health')).status).toBe(404);
    });

    it('marks probe exchanges quiet, with the probe route as their template', async () => {
      const seen: Exchange[] = [];
      const stop = onExchangeEnd((ex) => seen.push(ex));
      try {
        const server = mount(track(passing()), {});
        await request(server).get('/readyz/database?verbose');
        await until(() => seen.some((ex) => ex.path === '/readyz/database'));
        const probe = seen.find((ex) => ex.path === '/readyz/database');
        expect(probe?.quiet).toBe(true);
        expect(probe?.route).toBe('/readyz/:check');
        expect(probe?.routeMatched).toBe(true);
        expect(probe?.status).toBe(200);
        expect(probe?.outcome).toBe('ok');
      } finally {
        stop();
      }
    });

    it('throws a precise TypeError for bad options', () => {
      const health = track(passing());
      expect(() => mount(health, { basePath: 'ops' })).toThrow(TypeError);
      expect(() => mount(health, { paths: { healthz: '/x' } })).toThrow(/unknown endpoint/);
      expect(() => mount(health, { canSeeDetails: 'yes' })).toThrow(/canSeeDetails/);
      expect(() => mount({} as Health, {})).toThrow(/createHealth/);
    });
  });

  describe(`${framework}: details`, () => {
    const boom = (): never => {
      throw new Error('password authentication failed for postgres://app:s3cret@db:5432/orders');
    };

    it('withholds the reason of a throwing check from an anonymous caller in production', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', boom).register('lag', () => ({ status: 'pass', observedValue: 4, observedUnit: 'ms' })));
      const server = mount(health, { production: true });
      const res = await request(server).get('/health');
      expect(res.status).toBe(503);
      const body = jsonOf(res);
      assertIetfBody(body);
      expect(body.checks.database[0]).toMatchObject({ status: 'fail', output: 'reason withheld' });
      expect(body.checks.lag[0].observedValue).toBeUndefined();
      expect(body.checks.uptime).toBeUndefined();
      expect(textOf(res)).not.toContain('password');
      const text = await request(server).get('/readyz');
      expect(text.status).toBe(503);
      expect(textOf(text)).toContain('[-]database failed: reason withheld');
      expect(textOf(text)).not.toContain('password');
    });

    it('shows details to callers canSeeDetails allows, with credentials masked', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', boom));
      const server = mount(health, { production: true, canSeeDetails: (req: { headers: Record<string, string> }) => req.headers['x-ops-token'] === 'let-me-see' });
      const anonymous = jsonOf(await request(server).get('/health'));
      expect(anonymous.checks.database[0].output).toBe('reason withheld');
      const allowed = jsonOf(await request(server).get('/health').set('x-ops-token', 'let-me-see'));
      expect(allowed.checks.database[0].output).toContain('password authentication failed');
      expect(allowed.checks.database[0].output).not.toContain('s3cret');
      expect(allowed.checks.uptime[0].observedValue).toEqual(expect.any(Number));
    });

    it('shows details to everyone outside production', async () => {
      const health = track(createHealth({ service: 'orders' }).register('database', boom));
      const body = jsonOf(await request(mount(health, { production: false })).get('/health'));
      expect(body.checks.database[0].output).toContain('password authentication failed');
    });

    it('treats a canSeeDetails that throws as "no" and reports the error', async () => {
      const reported: string[] = [];
      setErrorHandler((kind, error) => reported.push(`${kind}: ${(error as Error).message}`));
      try {
        const health = track(createHealth({ service: 'orders' }).register('database', boom));
        const server = mount(health, { production: true, canSeeDetails: () => { throw new Error('bad hook'); } });
        const res = await request(server).get('/health');
        expect(res.status).toBe(503);
        expect(jsonOf(res).checks.database[0].output).toBe('reason withheld');
        expect(reported).toEqual(['health.canSeeDetails: bad hook']);
      } finally {
        setErrorHandler(undefined);
      }
    });
  });

  describe(`${framework}: timeouts and single flight`, () => {
    it('answers a probe on a hanging check within its timeout plus a margin, aborting the check', async () => {
      let aborted: unknown;
      const health = track(
        createHealth({ service: 'orders' }).register(
          'stuck',
          (signal) =>
            new Promise(() => {
              signal.addEventListener('abort', () => { aborted = signal.reason; });
            }),
          { timeoutMs: 300 },
        ),
      );
      const started = Date.now();
      const res = await request(mount(health, {})).get('/health');
      const elapsed = Date.now() - started;
      expect(res.status).toBe(503);
      expect(jsonOf(res).checks.stuck[0].output).toBe('timed out after 300 ms');
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(300 + 2500);
      expect(aborted).toBeInstanceOf(Error);
      expect((aborted as Error).name).toBe('TimeoutError');
    });

    it('runs an on-demand check once for a thousand concurrent probes', async () => {
      const probes = 1000;
      let runs = 0;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const health = track(
        createHealth({ service: 'orders' }).register('database', async () => {
          runs++;
          await gate;
          return { status: 'pass' };
        }, { timeoutMs: 20_000 }),
      );
      const server = mount(health, {});
      let arrived = 0;
      server.on('request', () => {
        arrived++;
        if (arrived === probes) setImmediate(release);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
      const fallback = setTimeout(release, 15_000);
      try {
        const statuses = await Promise.all(
          Array.from({ length: probes }, () =>
            new Promise<number>((resolve, reject) => {
              const req = http.get({ host: '127.0.0.1', port, path: '/readyz', agent }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              });
              req.on('error', reject);
            }),
          ),
        );
        expect(arrived).toBe(probes);
        expect(statuses.every((s) => s === 200)).toBe(true);
        expect(runs).toBe(1);
      } finally {
        clearTimeout(fallback);
        agent.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }, 60_000);

    it('answers from the cached result of a background check without running it per probe', async () => {
      let runs = 0;
      const health = track(createHealth({ service: 'orders' }).register('database', () => { runs++; return true; }, { intervalMs: 60_000 }));
      const server = mount(health, {});
      for (let i = 0; i < 5; i++) expect((await request(server).get('/readyz')).status).toBe(200);
      expect(runs).toBe(1);
    });
  });
}
