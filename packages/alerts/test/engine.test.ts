import { registerPackage, registeredPackage, TrafficWindows, unregisterPackage, type AlertsSnapshot, type HealthSnapshot } from '@vigil/core';
import { burnRateRule, createAlerts, errorRateRule, healthRule, latencyRule, SloWindows, thresholdRule, type AlertsOptions } from '../src/index';
import { manualClock, memoryChannel, summary } from './helpers/memory-channel';
import { until } from './helpers/receiver';

const S = 1000;
const M = 60 * S;

function setup(overrides: Partial<AlertsOptions> & { value?: () => number } = {}) {
  const clock = manualClock();
  const mem = memoryChannel();
  let value = 0;
  const rule = thresholdRule({
    name: 'HighQueue', value: () => value, op: '>', threshold: 10, for: '1m', keepFiringFor: '2m', labels: { queue: 'orders' },
    annotations: { summary: 'Queue {{ $labels.queue }} is long', description: 'Depth {{ $value }} ({{ $value | humanizePercentage }} of nothing)' },
  });
  const alerts = createAlerts({
    rules: [rule], channels: [mem.channel], now: clock.now, autoStart: false, register: false,
    root: { groupWait: '30s', groupInterval: '5m', repeatInterval: '1h' }, ...overrides,
  });
  return { clock, mem, alerts, setValue: (v: number) => { value = v; } };
}

describe('createAlerts: rule state machine (injected clock)', () => {
  it('goes inactive → pending → firing after `for` → keeps firing → resolved', async () => {
    const { clock, mem, alerts, setValue } = setup();
    alerts.evaluate();
    expect(alerts.snapshot().alerts).toEqual([expect.objectContaining({ name: 'HighQueue', state: 'inactive', value: 0 })]);

    setValue(20);
    alerts.evaluate();
    expect(alerts.alerts()).toEqual([expect.objectContaining({ state: 'pending', value: 20 })]);
    clock.advance(30 * S);
    alerts.evaluate();
    expect(alerts.alerts()[0].state).toBe('pending');
    clock.advance(30 * S); // 1 m since active
    alerts.evaluate();
    const firing = alerts.alerts()[0];
    expect(firing).toMatchObject({ state: 'firing', severity: 'warning', labels: { alertname: 'HighQueue', queue: 'orders', severity: 'warning' } });
    expect(firing.annotations).toEqual({ summary: 'Queue orders is long', description: 'Depth 20 (2000% of nothing)' });
    expect(firing.firedAtEpochMs - firing.activeAtEpochMs).toBe(M);

    await alerts.flush();
    expect(mem.got).toHaveLength(0); // groupWait not over yet
    clock.advance(30 * S);
    alerts.evaluate();
    await alerts.flush();
    expect(summary(mem.got)).toEqual([['firing:HighQueue']]);
    expect(mem.got[0]).toMatchObject({ status: 'firing', groupLabels: { alertname: 'HighQueue' }, commonLabels: { queue: 'orders' } });
    expect(mem.got[0].alerts[0].endsAt).toBe('0001-01-01T00:00:00Z');

    setValue(3); // condition gone: keepFiringFor 2 m holds it
    clock.advance(30 * S);
    alerts.evaluate();
    expect(alerts.alerts()[0].state).toBe('firing');
    clock.advance(M);
    alerts.evaluate();
    expect(alerts.alerts()[0].state).toBe('firing');
    clock.advance(M);
    alerts.evaluate();
    expect(alerts.alerts()[0].state).toBe('resolved');
    expect(alerts.snapshot().alerts[0].state).toBe('inactive');

    clock.advance(3 * M); // next group flush (5 m after the first)
    alerts.evaluate();
    await alerts.flush();
    expect(summary(mem.got)).toEqual([['firing:HighQueue'], ['resolved:HighQueue']]);
    expect(mem.got[1].status).toBe('resolved');
    expect(Date.parse(mem.got[1].alerts[0].endsAt)).toBeGreaterThan(Date.parse(mem.got[1].alerts[0].startsAt));
  });

  it('drops a pending alert whose condition clears before `for`', () => {
    const { clock, alerts, setValue } = setup();
    setValue(50);
    alerts.evaluate();
    clock.advance(20 * S);
    setValue(1);
    alerts.evaluate();
    expect(alerts.alerts()).toEqual([]);
  });

  it('repeats an unchanged firing group after repeatInterval, not every groupInterval', async () => {
    const { clock, mem, alerts, setValue } = setup({ rules: [thresholdRule({ name: 'Hot', value: () => 99, threshold: 1 })] });
    setValue(0);
    alerts.evaluate();
    clock.advance(30 * S);
    alerts.evaluate(); // groupWait over: first notification
    for (let i = 0; i < 11; i++) { clock.advance(5 * M); alerts.evaluate(); } // 55 min: unchanged
    await alerts.flush();
    expect(mem.got).toHaveLength(1);
    clock.advance(5 * M); // 60 min after the first notification: repeat
    alerts.evaluate();
    await alerts.flush();
    expect(summary(mem.got)).toEqual([['firing:Hot'], ['firing:Hot']]);
  });

  it('groups alerts by labels: one notification per group, changes wait for groupInterval', async () => {
    const clock = manualClock();
    const traffic = new TrafficWindows({ windowsMs: [M, 5 * M], now: clock.now });
    const by = memoryChannel('by-alertname');
    const perRoute = memoryChannel('per-route');
    const alerts = createAlerts({
      rules: [errorRateRule({ byRoute: true, threshold: 0.1 })], traffic, now: clock.now, autoStart: false, register: false,
      channels: [by.channel, perRoute.channel],
      routes: [
        { channels: ['by-alertname'], groupWait: '10s', groupInterval: '1m', continue: true },
        { channels: ['per-route'], groupBy: ['alertname', 'route'], groupWait: '10s', groupInterval: '1m' },
      ],
    });
    for (let i = 0; i < 10; i++) { traffic.record('/a', 5, i < 5); traffic.record('/b', 5, i < 3); traffic.record('/c', 5, false); }
    alerts.evaluate();
    expect(alerts.alerts().map((a) => `${a.labels.route}:${a.state}`).sort()).toEqual(['/a:firing', '/b:firing']);
    expect(alerts.alerts().find((a) => a.labels.route === '/a')?.annotations.description).toBe('Error rate is 50%');
    clock.advance(10 * S);
    alerts.evaluate();
    await alerts.flush();
    expect(summary(by.got)).toEqual([['firing:HighErrorRate:/a', 'firing:HighErrorRate:/b']]);
    expect(by.got[0].groupLabels).toEqual({ alertname: 'HighErrorRate' });
    expect(summary(perRoute.got).sort()).toEqual([['firing:HighErrorRate:/a'], ['firing:HighErrorRate:/b']]);

    for (let i = 0; i < 10; i++) traffic.record('/c', 5, true); // /c joins the group
    clock.advance(10 * S);
    alerts.evaluate();
    await alerts.flush();
    expect(by.got).toHaveLength(1); // waits for groupInterval
    clock.advance(50 * S); // one groupInterval after the first flush
    alerts.evaluate();
    await alerts.flush();
    expect(summary(by.got)[1]).toEqual(['firing:HighErrorRate:/a', 'firing:HighErrorRate:/b', 'firing:HighErrorRate:/c']);
  });

  it('sends alerts no route matches to the root route', async () => {
    const clock = manualClock();
    const pager = memoryChannel('pager');
    const chat = memoryChannel('chat');
    const alerts = createAlerts({
      rules: [thresholdRule({ name: 'Crit', value: () => 2, threshold: 1, severity: 'critical' }), thresholdRule({ name: 'Info', value: () => 2, threshold: 1, severity: 'info' })],
      channels: [pager.channel, chat.channel], now: clock.now, autoStart: false, register: false,
      routes: [{ match: { severity: /critical|page/ }, channels: ['pager'] }],
      root: { channels: ['chat'], groupWait: 0 },
    });
    alerts.evaluate();
    await alerts.flush();
    expect(summary(pager.got)).toEqual([['firing:Crit']]);
    expect(summary(chat.got)).toEqual([['firing:Info']]);
  });

  it('does not notify silenced alerts, and notifies them once the silence is lifted', async () => {
    const { clock, mem, alerts, setValue } = setup();
    const id = alerts.silence({ alertname: 'HighQueue', queue: /ord.*/ }, '2h', 'maintenance');
    expect(alerts.silences()).toEqual([expect.objectContaining({ id, comment: 'maintenance', endsAtEpochMs: clock.now() + 2 * 3600 * S })]);
    setValue(20);
    alerts.evaluate();
    clock.advance(M);
    alerts.evaluate();
    clock.advance(M);
    alerts.evaluate();
    await alerts.flush();
    expect(mem.got).toHaveLength(0);
    expect(alerts.alerts()[0]).toMatchObject({ state: 'firing', suppressed: true });
    expect(alerts.unsilence(id)).toBe(true);
    clock.advance(5 * M);
    alerts.evaluate();
    await alerts.flush();
    expect(summary(mem.got)).toEqual([['firing:HighQueue']]);
  });

  it('lets a silence expire on its own', async () => {
    const { clock, mem, alerts, setValue } = setup({ rules: [thresholdRule({ name: 'Hot', value: () => 5, threshold: 1 })] });
    setValue(0);
    alerts.silence({ alertname: 'Hot' }, clock.now() + 10 * M);
    alerts.evaluate();
    clock.advance(M);
    alerts.evaluate();
    await alerts.flush();
    expect(mem.got).toHaveLength(0);
    clock.advance(10 * M);
    alerts.evaluate();
    await alerts.flush();
    expect(summary(mem.got)).toEqual([['firing:Hot']]);
    expect(alerts.silences()).toEqual([]);
  });

  it('inhibits a warning while a critical alert of the same name fires', async () => {
    const clock = manualClock();
    const mem = memoryChannel();
    let disk = 0.97;
    const alerts = createAlerts({
      rules: [
        thresholdRule({ name: 'DiskFull', value: () => disk, threshold: 0.8, severity: 'warning' }),
        thresholdRule({ name: 'DiskFull', value: () => disk, threshold: 0.95, severity: 'critical' }),
        thresholdRule({ name: 'Other', value: () => 1, threshold: 0, severity: 'warning' }),
      ],
      channels: [mem.channel], now: clock.now, autoStart: false, register: false, root: { groupBy: ['...'], groupWait: 0, groupInterval: '1m' },
    });
    alerts.evaluate();
    await alerts.flush();
    expect(summary(mem.got).flat().sort()).toEqual(['firing:DiskFull', 'firing:Other']);
    expect(mem.got.flatMap((n) => n.alerts).find((a) => a.labels.alertname === 'DiskFull')?.severity).toBe('critical');
    expect(alerts.alerts().filter((a) => a.suppressed).map((a) => `${a.name}/${a.severity}`)).toEqual(['DiskFull/warning']);

    disk = 0.9; // critical resolves, the warning is no longer inhibited
    clock.advance(M);
    alerts.evaluate();
    await alerts.flush();
    const later = mem.got.slice(2).flatMap((n) => n.alerts.map((a) => `${a.status}:${a.labels.alertname}/${a.severity}`)).sort();
    expect(later).toEqual(['firing:DiskFull/warning', 'resolved:DiskFull/critical']);
  });

  it('sends nothing on resolve when sendResolved is false', async () => {
    const { clock, mem, alerts, setValue } = setup({ root: { groupWait: 0, groupInterval: '1m', sendResolved: false } });
    setValue(20);
    alerts.evaluate();
    clock.advance(M);
    alerts.evaluate();
    setValue(0);
    clock.advance(M);
    alerts.evaluate(); // keepFiringFor (2 m) starts
    clock.advance(3 * M);
    alerts.evaluate();
    clock.advance(M);
    alerts.evaluate();
    await alerts.flush();
    expect(summary(mem.got)).toEqual([['firing:HighQueue']]);
    expect(alerts.alerts()[0].state).toBe('resolved');
  });
});

describe('createAlerts: timers', () => {
  it('evaluates on its own timer and flushes groups when groupWait is over', async () => {
    const mem = memoryChannel();
    const alerts = createAlerts({
      rules: [thresholdRule({ name: 'Hot', value: () => 2, threshold: 1 })], channels: [mem.channel], register: false,
      evaluateEveryMs: 50, root: { groupWait: 200, groupInterval: '1h' },
    });
    try {
      await until(() => mem.got.length === 1, 20_000, 'a notification from the timers');
      expect(summary(mem.got)).toEqual([['firing:Hot']]);
      const firedAt = alerts.alerts()[0].firedAtEpochMs;
      expect(Date.parse(mem.got[0].alerts[0].startsAt)).toBe(firedAt);
    } finally {
      await alerts.close();
    }
  });
});

describe('createAlerts: imperative checks (the guide)', () => {
  it('deduplicates repeated checks into one alert and resolves it when the value recovers', async () => {
    const clock = manualClock();
    const mem = memoryChannel();
    const alerts = createAlerts({ channels: [mem.channel], now: clock.now, autoStart: false, register: false, root: { groupWait: 0, groupInterval: '1m' } });
    expect(alerts.checkErrorRate(1000, 60, 5)).toBe(true);
    expect(alerts.checkErrorRate(1000, 70, 5)).toBe(true);
    expect(alerts.checkThreshold('cpu_usage', 85, 80, 'greater')).toBe(true);
    expect(alerts.checkLatency([100, 200, 500, 1200, 800], 1000)).toBe(true);
    expect(alerts.checkThreshold('free_disk', 50, 10, 'less')).toBe(false);
    await alerts.flush();
    expect(summary(mem.got).flat().sort()).toEqual(['firing:HighErrorRate', 'firing:HighLatency', 'firing:ThresholdExceeded']);
    const byName = Object.fromEntries(alerts.alerts().map((a) => [a.name, a]));
    expect(byName.HighErrorRate).toMatchObject({ value: 7, annotations: { description: 'Error rate: 7.00% (threshold: 5%)' }, labels: { source: 'check', severity: 'warning' } });
    expect(byName.ThresholdExceeded).toMatchObject({ severity: 'critical', labels: { metric: 'cpu_usage' }, annotations: { summary: 'cpu_usage threshold exceeded', description: 'cpu_usage is 85 (threshold: 80)' } });
    expect(byName.HighLatency.value).toBe(1200);

    clock.advance(M);
    alerts.checkErrorRate(1000, 80, 5); // still bad: no new notification
    alerts.tick();
    await alerts.flush();
    expect(mem.got).toHaveLength(3);
    expect(alerts.checkErrorRate(1000, 10, 5)).toBe(false);
    clock.advance(M);
    alerts.tick();
    await alerts.flush();
    expect(summary(mem.got.slice(3))).toEqual([['resolved:HighErrorRate']]);
  });

  it('ignores bad input without throwing', () => {
    const alerts = createAlerts({ autoStart: false, register: false });
    const errors: unknown[] = [];
    const { setErrorHandler } = jest.requireActual('@vigil/core') as typeof import('@vigil/core');
    setErrorHandler((_kind, err) => errors.push(err));
    try {
      expect(alerts.checkErrorRate(10, 20)).toBe(false);
      expect(alerts.checkLatency('x' as unknown as number[])).toBe(false);
      expect(alerts.checkThreshold('', 1, 2)).toBe(false);
      expect(alerts.checkErrorRate(0, 0)).toBe(false);
    } finally {
      setErrorHandler(undefined);
    }
    expect(errors).toHaveLength(3);
  });
});

describe('rules', () => {
  it('latencyRule reports seconds and fires above the threshold', () => {
    const clock = manualClock();
    const traffic = new TrafficWindows({ windowsMs: [5 * M], now: clock.now });
    const alerts = createAlerts({ rules: [latencyRule({ quantile: 0.95, threshold: '1s' })], traffic, now: clock.now, autoStart: false, register: false });
    for (let i = 0; i < 100; i++) traffic.record('/slow', i < 90 ? 100 : 2500, false);
    alerts.evaluate();
    const [a] = alerts.alerts();
    expect(a.state).toBe('firing');
    expect(a.value).toBeCloseTo(2.5, 1);
    expect(a.annotations.description).toMatch(/^P95 latency is 2\.\d+s$/);
  });

  it('burnRateRule pages on the fast pairs and files a ticket on the slow pair (inhibited while paging)', () => {
    const clock = manualClock();
    const slo = new SloWindows({ now: clock.now });
    const alerts = createAlerts({ rules: [burnRateRule({ objective: 0.999 })], sloWindows: slo, now: clock.now, autoStart: false, register: false });
    // 2 % errors for the last hour: burn rate 20 (> 14.4 over 1 h and 5 m)
    for (let m = 60; m > 0; m--) for (let i = 0; i < 50; i++) slo.record('/pay', i === 0, clock.now() - m * M + 1);
    alerts.evaluate();
    const states = alerts.alerts().map((a) => ({ sev: a.severity, state: a.state, suppressed: a.suppressed, value: Math.round(a.value ?? 0) }));
    expect(states).toEqual([
      { sev: 'critical', state: 'firing', suppressed: false, value: 20 },
      { sev: 'warning', state: 'firing', suppressed: true, value: 20 },
    ]);

    // errors stop; 35 minutes later the 5 m and 30 m windows are clean: the page resolves, the
    // ticket stays (the 3 d and 6 h windows still burn above 1x)
    for (let m = 0; m < 35; m++) for (let i = 0; i < 50; i++) slo.record('/pay', false, clock.now() + m * M + 1);
    clock.advance(35 * M);
    alerts.evaluate();
    expect(alerts.alerts().map((a) => `${a.severity}:${a.state}:${a.suppressed}`)).toEqual(['critical:resolved:false', 'warning:firing:false']);
  });

  it('burnRateRule with a route reads that route only', () => {
    const clock = manualClock();
    const slo = new SloWindows({ now: clock.now });
    const alerts = createAlerts({ rules: [burnRateRule({ objective: 0.99, route: '/pay', name: 'PayBudget' })], sloWindows: slo, now: clock.now, autoStart: false, register: false });
    for (let i = 0; i < 100; i++) { slo.record('/pay', false); slo.record('/other', true); }
    alerts.evaluate();
    expect(alerts.alerts()).toEqual([]);
    expect(alerts.snapshot().alerts[0]).toMatchObject({ name: 'PayBudget', state: 'inactive', value: 0 });
  });

  it('healthRule reads the health package through the core registry', () => {
    const clock = manualClock();
    let snap: HealthSnapshot = { status: 'pass', checks: [] };
    const check = (name: string, status: 'pass' | 'warn' | 'fail', critical = true) => ({ name, status, critical, groups: [], durationMs: 1, lastRunEpochMs: 1, lastSuccessEpochMs: 1 });
    const alerts = createAlerts({ rules: [healthRule({ for: '1m' })], now: clock.now, autoStart: false, register: false });
    alerts.evaluate(); // no health package: nothing
    expect(alerts.alerts()).toEqual([]);
    registerPackage({ name: 'health', snapshot: () => snap });
    try {
      snap = { status: 'fail', checks: [check('database', 'fail'), check('cache', 'warn', false)] };
      alerts.evaluate();
      clock.advance(M);
      alerts.evaluate();
      expect(alerts.alerts().map((a) => [a.labels.check, a.state, a.annotations.summary])).toEqual([['database', 'firing', 'Health check database is failing']]);
      snap = { status: 'pass', checks: [check('database', 'pass'), check('cache', 'pass', false)] };
      clock.advance(M);
      alerts.evaluate();
      expect(alerts.alerts()[0].state).toBe('resolved');
    } finally {
      unregisterPackage('health');
    }
  });

  it('publishes the core AlertsSnapshot in the registry', async () => {
    const clock = manualClock();
    const alerts = createAlerts({ rules: [thresholdRule({ name: 'Always', value: () => 3, threshold: 1, severity: 'info' })], now: clock.now, autoStart: false });
    alerts.evaluate();
    const snap = registeredPackage('alerts')?.snapshot?.() as AlertsSnapshot;
    expect(snap.alerts).toEqual([{ name: 'Always', state: 'firing', severity: 'info', labels: { alertname: 'Always', severity: 'info' }, annotations: { summary: 'Always is 3 (threshold: 1)' }, value: 3, activeSinceEpochMs: clock.now() }]);
    await alerts.close();
    expect(registeredPackage('alerts')).toBeUndefined();
  });
});

describe('createAlerts: options are checked once', () => {
  it('throws precise TypeErrors', () => {
    expect(() => errorRateRule({ threshold: 5 })).toThrow(/threshold must be a ratio/);
    expect(() => thresholdRule({ name: 'bad name', value: () => 1, threshold: 1 })).toThrow(/valid alert name/);
    expect(() => latencyRule({ for: '5 minutes' })).toThrow(/for must be ms or a duration/);
    expect(() => burnRateRule({ objective: 99.9 })).toThrow(/objective must be in \(0, 1\)/);
    expect(() => createAlerts({ rules: [latencyRule({ window: '2m' })], autoStart: false, register: false })).toThrow(/reads a 2m window; the traffic windows are 1m, 5m, 1h/);
    expect(() => createAlerts({ routes: [{ channels: ['nope'] }], autoStart: false, register: false })).toThrow(/unknown channel "nope"/);
    expect(() => createAlerts({ evaluateEveryMs: 0, autoStart: false, register: false })).toThrow(/evaluateEveryMs/);
    const { channel } = memoryChannel('x');
    expect(() => createAlerts({ channels: [channel, channel], autoStart: false, register: false })).toThrow(/two channels are named "x"/);
  });
});
