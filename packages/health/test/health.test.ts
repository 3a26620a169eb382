import { recentEvents, registeredPackage, type HealthSnapshot } from '@vigil/core';
import { createHealth, type Health, type HealthLogger } from '../src';

function recordingLogger(): HealthLogger & { lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> } {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: object, message: string) => { lines.push({ level, fields: fields as Record<string, unknown>, message }); };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('createHealth', () => {
  const healths: Health[] = [];
  const make = (options: Parameters<typeof createHealth>[0] = { service: 'orders' }): Health => {
    const h = createHealth(options);
    healths.push(h);
    return h;
  };
  afterEach(() => {
    for (const h of healths.splice(0)) h.close();
  });

  it('turns what a check returns into pass, warn or fail', async () => {
    const health = make()
      .register('undef', () => undefined)
      .register('yes', () => true)
      .register('no', () => false, { critical: false })
      .register('result', async () => ({ status: 'warn', observedValue: 0.93, observedUnit: 'ratio', output: 'pool nearly full' }))
      .register('alias', () => ({ status: 'ok' as 'pass' }))
      .register('bogus', () => ({ status: 'great' as 'pass' }), { critical: false })
      .register('throws', () => { throw new Error('ECONNREFUSED 10.0.0.7:5432'); }, { critical: false })
      .register('rejects', () => Promise.reject(new Error('no route')), { critical: false });
    const report = await health.check();
    const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(by.undef.status).toBe('pass');
    expect(by.yes.status).toBe('pass');
    expect(by.no).toMatchObject({ status: 'fail', output: 'check returned false' });
    expect(by.result).toMatchObject({ status: 'warn', observedValue: 0.93, observedUnit: 'ratio', output: 'pool nearly full' });
    expect(by.alias.status).toBe('pass');
    expect(by.bogus).toMatchObject({ status: 'fail', output: 'invalid check result status: great' });
    expect(by.throws).toMatchObject({ status: 'fail', output: 'ECONNREFUSED 10.0.0.7:5432' });
    expect(by.rejects).toMatchObject({ status: 'fail', output: 'no route' });
    expect(report.status).toBe('warn');
    expect(report.output).toBe('degraded');
  });

  it('masks the whole user-info of URLs in outputs, even a password containing @', async () => {
    const messages: Array<[string, string]> = [
      ['connect ECONNREFUSED postgres://app:s3cr@t!@db.internal:5432/orders', 'connect ECONNREFUSED postgres://***@db.internal:5432/orders'],
      ['auth failed for postgres://app:s3cret@db:5432/orders', 'auth failed for postgres://***@db:5432/orders'],
      ['redis://:p@ss@cache:6379 refused', 'redis://***@cache:6379 refused'],
      ['amqp://guest@mq unreachable', 'amqp://***@mq unreachable'],
      ['HTTPS://Admin:Pa:ss@@Host/x', 'HTTPS://***@Host/x'],
      ['mongodb://u:p@ss@h1:27017,h2:27017/db', 'mongodb://***@h1:27017,h2:27017/db'],
      ['primary postgres://a:x@y@db1/orders and replica postgres://b:z@db2/orders failed', 'primary postgres://***@db1/orders and replica postgres://***@db2/orders failed'],
      ['GET https://api.example.com/users/me@example.com returned 404', 'GET https://api.example.com/users/me@example.com returned 404'],
      ['mail to ops@example.com bounced', 'mail to ops@example.com bounced'],
    ];
    const health = make();
    messages.forEach(([message], i) => {
      health.register(`thrown${i}`, () => { throw new Error(message); }, { critical: false });
      health.register(`returned${i}`, () => ({ status: 'warn', output: message }), { critical: false });
    });
    const by = Object.fromEntries((await health.check()).checks.map((c) => [c.name, c.output]));
    messages.forEach(([, masked], i) => {
      expect(by[`thrown${i}`]).toBe(masked);
      expect(by[`returned${i}`]).toBe(masked);
    });
  });

  it('fails the service only for a failing critical check', async () => {
    const health = make().register('cache', () => false, { critical: false });
    expect((await health.check()).status).toBe('warn');
    health.register('database', () => false);
    const report = await health.check();
    expect(report.status).toBe('fail');
    expect(report.output).toBe('unhealthy');
  });

  it('aborts a check through its AbortSignal when the timeout elapses (default 2 s)', async () => {
    let signalSeen: AbortSignal | undefined;
    const health = make().register('slow', (signal) => {
      signalSeen = signal;
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(true)));
    }, { timeoutMs: 100 });
    const report = await health.check();
    expect(report.checks[0]).toMatchObject({ status: 'fail', output: 'timed out after 100 ms' });
    expect(signalSeen?.aborted).toBe(true);
    const defaults = make().register('default', (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(true))));
    const d = await defaults.check();
    expect(d.checks[0].output).toBe('timed out after 2000 ms');
  });

  it('shares one run among concurrent callers of an on-demand check (single flight)', async () => {
    let runs = 0;
    const health = make().register('database', async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 50));
      return true;
    });
    const reports = await Promise.all(Array.from({ length: 1000 }, () => health.check('readiness')));
    expect(runs).toBe(1);
    expect(reports.every((r) => r.status === 'pass')).toBe(true);
    await health.check('readiness');
    expect(runs).toBe(2);
  });

  it('runs interval checks in the background and serves the cached result', async () => {
    let runs = 0;
    let healthy = true;
    const health = make().register('database', () => { runs++; return healthy; }, { intervalMs: 30 });
    await until(() => runs >= 1);
    const first = await health.check();
    expect(first.status).toBe('pass');
    healthy = false;
    const seenRuns = runs;
    await until(() => runs >= seenRuns + 2);
    expect((await health.check()).status).toBe('fail');
    health.close();
    const stopped = runs;
    await new Promise((r) => setTimeout(r, 120));
    expect(runs).toBe(stopped);
  });

  it('counts a result older than staleAfterMs as fail', async () => {
    let runs = 0;
    const health = make().register('database', async () => {
      runs++;
      if (runs > 1) await new Promise(() => undefined); // the second run never finishes ...
      return true;
    }, { intervalMs: 20, timeoutMs: 100_000, staleAfterMs: 60 });
    await until(() => runs >= 2);
    await new Promise((r) => setTimeout(r, 100));
    const report = await health.check();
    expect(report.status).toBe('fail');
    expect(report.checks[0].output).toMatch(/^stale: last result is \d+ ms old$/);
    expect(health.snapshot().checks[0].status).toBe('fail');
  });

  it('feeds each probe only the checks of its group; liveness has none by default', async () => {
    const health = make()
      .register('database', () => true)
      .register('eventloop', () => true, { groups: ['liveness'] })
      .register('migrations', () => true, { groups: ['startup', 'readiness'] });
    expect(health.names('readiness')).toEqual(['database', 'migrations']);
    expect(health.names('liveness')).toEqual(['eventloop']);
    expect(health.names('startup')).toEqual(['migrations']);
    expect(health.names()).toEqual(['database', 'eventloop', 'migrations']);
    expect((await make().register('db', () => false).check('liveness')).checks).toEqual([]);
  });

  it('keys checks name:measurement for the IETF body', async () => {
    const health = make().register('database', { measurement: 'responseTime', componentType: 'datastore', run: () => true });
    health.register('pool', () => true, { measurement: 'connections' });
    const report = await health.check();
    expect(report.checks.map((c) => c.key)).toEqual(['database:responseTime', 'pool:connections']);
    expect(report.checks[0].componentType).toBe('datastore');
  });

  it('publishes a HealthSnapshot in the core registry', async () => {
    const health = make({ service: 'orders', version: '2.0.0' })
      .register('database', () => ({ status: 'pass', observedValue: 4, observedUnit: 'ms' }))
      .register('cache', () => false, { critical: false, groups: ['readiness', 'startup'] });
    const before = registeredPackage('health')?.snapshot?.() as HealthSnapshot;
    expect(before.checks.map((c) => [c.name, c.status, c.output, c.lastRunEpochMs])).toEqual([
      ['database', 'warn', 'not run yet', 0],
      ['cache', 'warn', 'not run yet', 0],
    ]);
    await health.check();
    const snap = registeredPackage('health')?.snapshot?.() as HealthSnapshot;
    expect(snap.status).toBe('warn');
    const db = snap.checks[0];
    expect(db).toMatchObject({ name: 'database', status: 'pass', critical: true, groups: ['readiness'], observedValue: 4, observedUnit: 'ms' });
    expect(db.lastRunEpochMs).toBeGreaterThan(0);
    expect(db.lastSuccessEpochMs).toBe(db.lastRunEpochMs);
    expect(db.durationMs).toBeGreaterThanOrEqual(0);
    expect(snap.checks[1]).toMatchObject({ name: 'cache', status: 'fail', critical: false, groups: ['readiness', 'startup'], lastSuccessEpochMs: 0, output: 'check returned false' });
  });

  it('logs and records each status change once', async () => {
    const logger = recordingLogger();
    let status: 'pass' | 'warn' | 'fail' = 'pass';
    const health = make({ service: 'orders', logger }).register('database', () => ({ status, output: status === 'pass' ? undefined : `is ${status}` }));
    const ringBefore = recentEvents.health.toArray().length;
    await health.check();
    await health.check();
    expect(logger.lines).toEqual([]);
    status = 'fail';
    await health.check();
    await health.check();
    await health.check();
    status = 'warn';
    await health.check();
    status = 'pass';
    await health.check();
    await health.check();
    const checkLines = logger.lines.filter((l) => l.fields.check === 'database');
    expect(checkLines.map((l) => [l.level, l.fields.from, l.fields.to])).toEqual([
      ['error', 'pass', 'fail'],
      ['warn', 'fail', 'warn'],
      ['info', 'warn', 'pass'],
    ]);
    expect(checkLines[0].message).toBe('health: check database pass -> fail');
    expect(checkLines[0].fields.output).toBe('is fail');
    const serviceLines = logger.lines.filter((l) => l.fields.health_service === 'orders');
    expect(serviceLines.map((l) => l.fields.to)).toEqual(['fail', 'warn', 'pass']);
    const ring = recentEvents.health.toArray().slice(ringBefore);
    expect(ring.filter((t) => t.check === 'database').map((t) => `${t.from}>${t.to}`)).toEqual(['pass>fail', 'fail>warn', 'warn>pass']);
    expect(ring.filter((t) => t.check === '(service)').map((t) => `${t.from}>${t.to}`)).toEqual(['pass>fail', 'fail>warn', 'warn>pass']);
  });

  it('records a first result that is not passing as a change from unknown', async () => {
    const logger = recordingLogger();
    const health = make({ service: 'orders', logger }).register('database', () => false);
    await health.check();
    expect(logger.lines[0]).toMatchObject({ level: 'error', fields: { from: 'unknown', to: 'fail' } });
  });

  it('keeps a logger that throws away from the app', async () => {
    const thrower = { info: () => { throw new Error('x'); }, warn: () => { throw new Error('x'); }, error: () => { throw new Error('x'); } };
    const health = make({ service: 'orders', logger: thrower }).register('database', () => false);
    await expect(health.check()).resolves.toMatchObject({ status: 'fail' });
  });

  it('fails readiness and the whole report once shutting down, but not liveness', async () => {
    const health = make().register('database', () => true).register('eventloop', () => true, { groups: ['liveness'] });
    health.markShuttingDown();
    expect(health.shuttingDown).toBe(true);
    expect(await health.check('readiness')).toMatchObject({ status: 'fail', output: 'shutting down', shuttingDown: true });
    expect((await health.check()).status).toBe('fail');
    expect((await health.check('liveness')).status).toBe('pass');
  });

  it('unregisters checks and releases their resources', async () => {
    const close = jest.fn();
    const health = make().register('x', { run: () => true, close });
    expect(health.unregister('x')).toBe(true);
    expect(close).toHaveBeenCalledTimes(1);
    expect(health.unregister('x')).toBe(false);
    expect(health.names()).toEqual([]);
  });

  it('throws a precise TypeError for bad options, at registration', () => {
    expect(() => createHealth({} as { service: string })).toThrow(/service/);
    const health = make();
    expect(() => health.register('bad name', () => true)).toThrow(/check name/);
    expect(() => health.register('a:b', () => true)).toThrow(TypeError);
    expect(() => health.register('x', 42 as unknown as () => boolean)).toThrow(/function or \{ run \}/);
    expect(() => health.register('x', () => true, { timeoutMs: 0 })).toThrow(/timeoutMs of "x"/);
    expect(() => health.register('x', () => true, { intervalMs: -5 })).toThrow(/intervalMs/);
    expect(() => health.register('x', () => true, { staleAfterMs: Number.NaN })).toThrow(/staleAfterMs/);
    expect(() => health.register('x', () => true, { groups: 'readiness' as unknown as string[] })).toThrow(/groups/);
    expect(() => health.register('x', () => true, { critical: 'yes' as unknown as boolean })).toThrow(/critical/);
    expect(() => health.register('x', () => true, { measurement: 'a:b' })).toThrow(/measurement/);
    expect(() => createHealth({ service: 'x', logger: {} as HealthLogger })).toThrow(/logger/);
    health.register('x', () => true);
    expect(() => health.register('x', () => true)).toThrow(/already registered/);
  });
});
