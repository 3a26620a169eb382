import { performance } from 'node:perf_hooks';
import { hrTimeAfter, perfToHrTime } from '../src/span-time';

const toMs = ([s, ns]: [number, number]): number => s * 1000 + ns / 1e6;

describe('span times', () => {
  it('puts a performance timestamp on the wall clock, as an HrTime with nanoseconds below 1e9', () => {
    const before = Date.now();
    const hr = perfToHrTime(performance.now());
    const after = Date.now();
    expect(Number.isInteger(hr[0]) && Number.isInteger(hr[1])).toBe(true);
    expect(hr[1]).toBeGreaterThanOrEqual(0);
    expect(hr[1]).toBeLessThan(1e9);
    expect(toMs(hr)).toBeGreaterThanOrEqual(before - 1);
    expect(toMs(hr)).toBeLessThanOrEqual(after + 1);
  });

  it('keeps the order and spacing of timestamps taken close together', () => {
    const t = performance.now();
    const a = perfToHrTime(t);
    const b = perfToHrTime(t + 2.5);
    expect(toMs(b) - toMs(a)).toBeCloseTo(2.5, 3);
  });

  it('adds a duration with the carry into seconds, to the nanosecond', () => {
    expect(hrTimeAfter([10, 999_999_000], 0.002)).toEqual([11, 1_000]);
    expect(hrTimeAfter([10, 500], 1500.25)).toEqual([11, 500_250_500]);
    expect(hrTimeAfter([10, 0], 0)).toEqual([10, 0]);
  });
});
