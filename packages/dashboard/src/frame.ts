import type { TrafficWindows, WindowStats } from '@vigil/core';
import type { Frame, ProcessRow, RouteRow, TrafficRow } from './types';

function finite(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null;
}

/** A window's stats as a JSON-safe row (no NaN). */
export function toRow(stats: WindowStats): TrafficRow {
  return {
    rate: Math.round(stats.ratePerSec * 1000) / 1000,
    errorRatio: stats.errorRatio,
    p50: finite(stats.p50),
    p95: finite(stats.p95),
    p99: finite(stats.p99),
    apdex: Math.round(stats.apdex * 1000) / 1000,
    count: stats.count,
    errors: stats.errors,
  };
}

/**
 * This process's frame: overall stats, per-route stats (only when `withRoutes`: somebody watches
 * or a cluster primary collects them), busiest routes first, at most `maxRoutes`.
 */
export function localFrame(windows: TrafficWindows, windowMs: number, process: ProcessRow, withRoutes: boolean, maxRoutes: number, t: number): Frame {
  const routes: RouteRow[] = [];
  if (withRoutes) {
    for (const route of windows.routes()) {
      const stats = windows.route(route, windowMs);
      if (stats === undefined || stats.count === 0) continue;
      const row = toRow(stats) as RouteRow;
      row.route = route;
      routes.push(row);
    }
    routes.sort((a, b) => b.count - a.count);
    if (routes.length > maxRoutes) routes.length = maxRoutes;
  }
  return { t, windowMs, overall: toRow(windows.overall(windowMs)), routes, processes: [process], workers: 1 };
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

/** Adds `row` into `into`: counts and rates add up, Apdex is count-weighted (exact), quantiles take the highest. */
function accumulate(into: TrafficRow, row: TrafficRow): void {
  const total = into.count + row.count;
  into.apdex = total === 0 ? 1 : (into.apdex * into.count + row.apdex * row.count) / total;
  into.rate += row.rate;
  into.count = total;
  into.errors += row.errors;
  into.errorRatio = total === 0 ? 0 : into.errors / total;
  into.p50 = maxOf(into.p50, row.p50);
  into.p95 = maxOf(into.p95, row.p95);
  into.p99 = maxOf(into.p99, row.p99);
}

function emptyRow(): TrafficRow {
  return { rate: 0, errorRatio: 0, p50: null, p95: null, p99: null, apdex: 1, count: 0, errors: 0 };
}

/**
 * Merges the frames of several processes (cluster workers) into one view of the whole service.
 * Rates, counts and error ratios are exact sums; Apdex is exact (count-weighted); a latency
 * quantile is the highest of the workers' values, an upper bound of the true merged quantile
 * (each worker only keeps its own sketch).
 */
export function mergeFrames(frames: Frame[], t: number): Frame {
  const overall = emptyRow();
  const byRoute = new Map<string, RouteRow>();
  const processes: ProcessRow[] = [];
  let windowMs = 0;
  for (const frame of frames) {
    windowMs = Math.max(windowMs, frame.windowMs);
    accumulate(overall, frame.overall);
    for (const row of frame.routes) {
      let merged = byRoute.get(row.route);
      if (merged === undefined) {
        merged = { ...emptyRow(), route: row.route };
        byRoute.set(row.route, merged);
      }
      accumulate(merged, row);
    }
    for (const p of frame.processes) processes.push(p);
  }
  const routes = [...byRoute.values()].sort((a, b) => b.count - a.count);
  processes.sort((a, b) => a.pid - b.pid);
  return { t, windowMs, overall, routes, processes, workers: frames.length };
}
