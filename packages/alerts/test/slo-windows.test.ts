import { SloWindows } from '../src/index';
import { manualClock } from './helpers/memory-channel';

const M = 60_000;
const H = 60 * M;

describe('SloWindows (long counts-only windows for burn rates)', () => {
  it('counts requests and errors over 5 m … 3 d windows', () => {
    const clock = manualClock();
    const slo = new SloWindows({ now: clock.now });
    const start = clock.now();
    // one request a minute for 3 days; errors during the first day only
    for (let m = 0; m < 72 * 60; m++) slo.record('/pay', m < 24 * 60, start + m * M);
    clock.set(start + 72 * 60 * M - 1);
    expect(slo.counts(5 * M)).toMatchObject({ count: 5, errors: 0 });
    expect(slo.counts(H)).toMatchObject({ count: 60, errors: 0 });
    expect(slo.counts(6 * H)?.count).toBe(360);
    const threeDays = slo.counts(72 * H);
    expect(threeDays?.count).toBeGreaterThanOrEqual(72 * 60 - 5); // 5 min buckets: at most one bucket of slack
    expect(threeDays?.errorRatio).toBeCloseTo(1 / 3, 2);
  });

  it('tracks a route only when asked, and bounds the number of routes', () => {
    const slo = new SloWindows({ maxRoutes: 1 });
    expect(slo.counts(H, '/pay')).toBeUndefined();
    expect(slo.track('/pay')).toBe(true);
    expect(slo.track('/other')).toBe(false);
    slo.record('/pay', true);
    slo.record('/other', false);
    expect(slo.counts(H, '/pay')).toEqual({ count: 1, errors: 1, errorRatio: 1 });
    expect(slo.counts(H)).toEqual({ count: 2, errors: 1, errorRatio: 0.5 });
  });

  it('drops what is older than the window and refuses windows it does not keep', () => {
    const clock = manualClock();
    const slo = new SloWindows({ now: clock.now, maxWindowMs: 6 * H });
    slo.record('/', true);
    clock.advance(7 * H);
    expect(slo.counts(6 * H)).toEqual({ count: 0, errors: 0, errorRatio: 0 });
    expect(() => slo.counts(72 * H)).toThrow(RangeError);
    expect(() => new SloWindows({ fineBucketMs: 0 })).toThrow(TypeError);
  });
});
