import { apdex, BoundedRing, CardinalityGuard, normalizePath, quantiles, RollingWindow, TrafficWindows } from '../src';

describe('apdex', () => {
  it('scores the guide example at 0.875 for T = 0.5', () => {
    expect(apdex([0.1, 0.2, 0.15, 0.8, 0.3, 0.5, 1.2, 0.4], 0.5)).toBe(0.875);
  });
  it('is 1 with no samples and rejects a bad threshold', () => {
    expect(apdex([], 0.5)).toBe(1);
    expect(() => apdex([1], 0)).toThrow(TypeError);
  });
});

describe('quantiles', () => {
  it('uses the nearest-rank method on sorted values', () => {
    expect(quantiles([0.1, 0.2, 0.15, 0.8, 0.3, 0.5, 1.2, 0.4], [0.5, 0.95, 0.99])).toEqual([0.3, 1.2, 1.2]);
    expect(quantiles([5, 1, 3], [0, 1])).toEqual([1, 5]);
    expect(quantiles([], [0.5])[0]).toBeNaN();
  });
});

describe('normalizePath', () => {
  it.each([
    ['/users/42', '/users/:id'],
    ['/users/42/orders/9f1c2e3a-0b4d-4e5f-8a9b-0c1d2e3f4a5b', '/users/:id/orders/:id'],
    ['/objects/507f1f77bcf86cd799439011', '/objects/:id'],
    ['/t/eyJhbGciOiJIUzI1NiJ9abc123XYZ', '/t/:id'],
    ['/static/app.js?v=3', '/static/app.js'],
    ['//double//slash/', '/double/slash'],
    ['/deadbeef', '/deadbeef'],
    ['/', '/'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });
  it('cuts huge and deep paths', () => {
    expect(normalizePath('/a'.repeat(100_000)).length).toBeLessThan(300);
    expect(normalizePath('/x/'.repeat(50)).endsWith('/…')).toBe(true);
  });
});

describe('CardinalityGuard', () => {
  it('keeps at most the cap plus one values over 100,000 distinct paths, counting the overflow', () => {
    const guard = new CardinalityGuard({ limit: 100 });
    const out = new Set<string>();
    for (let i = 0; i < 100_000; i++) out.add(guard.admit(`/random/${i.toString(36)}x`));
    expect(out.size).toBe(101);
    expect(out.has('other')).toBe(true);
    expect(guard.overflowCount).toBe(100_000 - 100);
    expect(guard.admit('/random/0x')).toBe('/random/0x');
  });
  it('rejects a bad limit', () => {
    expect(() => new CardinalityGuard({ limit: 0 })).toThrow(TypeError);
  });
});

/** Box-Muller log-normal samples from a seeded generator, so the test is repeatable. */
function logNormalSamples(n: number, seed = 42): number[] {
  let state = seed;
  const rand = (): number => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return (state + 0.5) / 4294967296;
  };
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    out.push(Math.exp(3 + 0.8 * z));
  }
  return out;
}

describe('RollingWindow', () => {
  it('gives quantiles within 1% relative error of exact on 100,000 log-normal samples', () => {
    let now = 1_000_000;
    const w = new RollingWindow({ windowMs: 60_000, now: () => now });
    const samples = logNormalSamples(100_000);
    samples.forEach((s) => w.record(s, false, now));
    const qs = [0.5, 0.95, 0.99];
    const exact = quantiles(samples, qs);
    const stats = w.stats(now);
    [stats.p50, stats.p95, stats.p99].forEach((approx, i) => {
      expect(Math.abs(approx - exact[i]) / exact[i]).toBeLessThanOrEqual(0.01);
    });
    expect(stats.count).toBe(100_000);
    now += 1;
  });

  it('forgets what is older than the window and computes rate, errors and Apdex', () => {
    let now = 0;
    const w = new RollingWindow({ windowMs: 10_000, buckets: 10, apdexThresholdMs: 100, now: () => now });
    for (let i = 0; i < 10; i++) w.record(50, false);
    now = 5_000;
    w.record(300, true);
    w.record(1000, false);
    let s = w.stats();
    expect(s.count).toBe(12);
    expect(s.errors).toBe(1);
    expect(s.apdex).toBeCloseTo((10 + 0.5) / 12, 10);
    expect(s.ratePerSec).toBeCloseTo(12 / 5, 10);
    now = 12_000;
    s = w.stats();
    expect(s.count).toBe(2);
    now = 30_000;
    s = w.stats();
    expect(s.count).toBe(0);
    expect(s.p95).toBeNaN();
    expect(s.apdex).toBe(1);
  });

  it('does not grow with traffic', () => {
    let now = 0;
    const w = new RollingWindow({ windowMs: 1000, buckets: 4, now: () => now });
    for (let i = 0; i < 200_000; i++) {
      now = i;
      w.record((i % 1000) + 1, false);
    }
    const buckets = (w as unknown as { buckets: unknown[] }).buckets;
    expect(buckets).toHaveLength(4);
  });
});

describe('TrafficWindows', () => {
  it('tracks routes and overall over 1 m, 5 m and 1 h by default', () => {
    const now = 10_000_000;
    const t = new TrafficWindows({ now: () => now });
    expect(t.windowsMs).toEqual([60_000, 300_000, 3_600_000]);
    t.record('/a', 10, false, now);
    t.record('/b', 20, true, now);
    expect(t.overall().count).toBe(2);
    expect(t.route('/b', 300_000)?.errors).toBe(1);
    expect(t.route('/missing')).toBeUndefined();
    expect(t.routes().sort()).toEqual(['/a', '/b']);
  });
  it('feeds the longer windows from the shortest and reads the same as windows recorded one by one', () => {
    let now = 7_000_000;
    const t = new TrafficWindows({ now: () => now, apdexThresholdMs: 100 });
    const separate = t.windowsMs.map((windowMs) => new RollingWindow({ windowMs, apdexThresholdMs: 100, now: () => now }));
    const samples = logNormalSamples(6_000);
    // two hours of traffic with gaps: 6,000 requests at uneven steps, read back every 500
    for (let i = 0; i < samples.length; i++) {
      now += i % 997 === 0 ? 400_000 : 1 + ((i * 7919) % 2_000);
      const error = i % 13 === 0;
      t.record('/a', samples[i], error, now);
      for (const w of separate) w.record(samples[i], error, now);
      if (i % 500 === 499) {
        t.windowsMs.forEach((windowMs, k) => {
          const got = t.overall(windowMs);
          const want = separate[k].stats(now);
          expect([got.count, got.errors, got.apdex, got.maxMs]).toEqual([want.count, want.errors, want.apdex, want.maxMs]);
          expect(got.meanMs).toBeCloseTo(want.meanMs, 9);
          expect([got.p50, got.p95, got.p99]).toEqual([want.p50, want.p95, want.p99]);
          expect(t.route('/a', windowMs)?.count).toBe(want.count);
        });
      }
    }
    // long after the last request every window is empty again
    now += 3_700_000;
    for (const windowMs of t.windowsMs) expect(t.overall(windowMs).count).toBe(0);
  });

  it('caps the number of routes', () => {
    const t = new TrafficWindows({ maxRoutes: 3, windowsMs: [60_000] });
    for (let i = 0; i < 50; i++) t.record(`/r${i}`, 1, false);
    expect(t.routes()).toHaveLength(4);
  });
});

describe('BoundedRing', () => {
  it('drops the oldest and counts it', () => {
    const ring = new BoundedRing<number>(3);
    [1, 2, 3, 4, 5].forEach((n) => ring.push(n));
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.dropped).toBe(2);
  });
});
