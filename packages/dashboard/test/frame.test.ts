import { TrafficWindows } from '@vigil/core';
import { localFrame, mergeFrames } from '../src/frame';
import { safeText } from '../src/sections';
import type { Frame, ProcessRow } from '../src/types';

const proc = (pid: number): ProcessRow => ({ pid, cpuPercent: 10, rssBytes: 100, heapUsedBytes: 50, heapTotalBytes: 80, lagMeanMs: 1, lagP99Ms: 2, uptimeSec: 5 });

function frameOf(pid: number, samples: Array<[string, number, boolean]>, now: number): Frame {
  let clock = now - 60_000;
  const windows = new TrafficWindows({ windowsMs: [60_000], now: () => clock });
  clock = now;
  for (const [route, ms, error] of samples) windows.record(route, ms, error, now - 1000);
  return localFrame(windows, 60_000, proc(pid), true, 100, now);
}

describe('localFrame', () => {
  it('reads per-route stats from the windows, busiest route first', () => {
    const now = Date.now();
    const frame = frameOf(1, [['/a', 10, false], ['/b', 20, true], ['/b', 30, false]], now);
    expect(frame.routes.map((r) => r.route)).toEqual(['/b', '/a']);
    expect(frame.routes[0]).toMatchObject({ count: 2, errors: 1, errorRatio: 0.5 });
    expect(frame.overall.count).toBe(3);
  });

  it('skips routes when nobody needs them, and caps them', () => {
    const windows = new TrafficWindows({ windowsMs: [60_000] });
    windows.record('/a', 1, false);
    windows.record('/b', 1, false);
    expect(localFrame(windows, 60_000, proc(1), false, 10, Date.now()).routes).toEqual([]);
    expect(localFrame(windows, 60_000, proc(1), true, 1, Date.now()).routes).toHaveLength(1);
  });

  it('gives null, not NaN, for quantiles of an empty window', () => {
    const frame = localFrame(new TrafficWindows({ windowsMs: [60_000] }), 60_000, proc(1), true, 10, Date.now());
    expect(frame.overall.p95).toBeNull();
    expect(JSON.parse(JSON.stringify(frame)).overall.p95).toBeNull();
  });
});

describe('mergeFrames', () => {
  it('adds counts and rates, weighs Apdex by count and bounds quantiles from above', () => {
    const now = Date.now();
    const a = frameOf(1, [['/a', 100, false], ['/a', 100, false], ['/a', 100, true]], now);
    const b = frameOf(2, [['/a', 3000, false], ['/c', 5, false]], now);
    const merged = mergeFrames([a, b], now);
    expect(merged.workers).toBe(2);
    expect(merged.overall.count).toBe(5);
    expect(merged.overall.errors).toBe(1);
    expect(merged.overall.errorRatio).toBeCloseTo(0.2);
    expect(merged.overall.rate).toBeCloseTo(a.overall.rate + b.overall.rate);
    // Apdex (T = 500 ms): 4 satisfied, 1 frustrated (3000 ms > 4T)
    expect(merged.overall.apdex).toBeCloseTo(0.8);
    const route = merged.routes.find((r) => r.route === '/a');
    expect(route?.count).toBe(4);
    expect(route?.p99).toBeGreaterThanOrEqual(2900);
    expect(merged.processes.map((p) => p.pid)).toEqual([1, 2]);
  });
});

describe('safeText', () => {
  it('masks credentials in free text', () => {
    expect(safeText('Authorization: Bearer eyJhbGciOi.x.y')).not.toContain('eyJhbGciOi');
    expect(safeText('login failed password=hunter2 user=bob')).toBe('login failed password=[redacted] user=bob');
    expect(safeText('{"api_key":"k-123","n":1}')).not.toContain('k-123');
    expect(safeText('plain message')).toBe('plain message');
    expect(safeText('x'.repeat(1000)).length).toBeLessThan(450);
  });
});
