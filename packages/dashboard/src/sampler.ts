import { BoundedRing, reportError, trafficWindows, type TrafficWindows } from '@vigil/core';
import { WorkerLink } from './cluster-link';
import { localFrame } from './frame';
import { ProcessProbe } from './process-probe';
import { alertsSection, healthSection, logsSection, packagesSection, tracesSection } from './sections';
import type { Frame, SeriesPoint } from './types';

/** Seconds of history kept (15 minutes, one point a second). */
export const HISTORY_POINTS = 900;
const TICK_MS = 1000;
const MB = 1024 * 1024;

/** What a payload includes: the largest limits any dashboard asked for. */
interface Limits {
  maxRoutes: number;
  maxTraces: number;
  maxLogs: number;
}

type Listener = (payload: string) => void;

function pointOf(frame: Frame): SeriesPoint {
  const o = frame.overall;
  const has = o.count > 0;
  let cpu = 0;
  let rss = 0;
  let heap = 0;
  let lag = 0;
  for (const p of frame.processes) {
    cpu += p.cpuPercent;
    rss += p.rssBytes;
    heap += p.heapUsedBytes;
    if (p.lagP99Ms > lag) lag = p.lagP99Ms;
  }
  return [
    Math.round(frame.t / 1000),
    o.rate,
    has ? Math.round(o.errorRatio * 10000) / 100 : null,
    has ? o.p50 : null,
    has ? o.p95 : null,
    has ? o.p99 : null,
    has ? o.apdex : null,
    Math.round(cpu * 10) / 10,
    Math.round((rss / MB) * 10) / 10,
    Math.round((heap / MB) * 10) / 10,
    lag,
  ];
}

/**
 * The one sampler of the process: a single unref'd one-second timer, started by the first
 * dashboard. Each tick reads the core's windows and this process's CPU, memory and event-loop
 * lag, keeps 15 minutes of points in a bounded ring, and (only when a page is watching) builds
 * one JSON payload that every open stream receives as is.
 */
export class Sampler {
  readonly history = new BoundedRing<SeriesPoint>(HISTORY_POINTS);
  readonly windows: TrafficWindows;
  readonly windowMs: number;
  private readonly probe = new ProcessProbe();
  private readonly listeners = new Set<Listener>();
  private readonly link: WorkerLink | undefined;
  private readonly limits: Limits = { maxRoutes: 0, maxTraces: 0, maxLogs: 0 };
  private readonly timer: NodeJS.Timeout;
  private frame: Frame;
  private serviceName = '';

  constructor() {
    this.windows = trafficWindows();
    this.windowMs = this.windows.windowsMs[0];
    this.link = WorkerLink.applies() ? new WorkerLink() : undefined;
    this.frame = localFrame(this.windows, this.windowMs, this.probe.sample(), false, 0, Date.now());
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Raises the payload limits to cover one more dashboard's options. */
  configure(limits: Limits, serviceName: string): void {
    this.limits.maxRoutes = Math.max(this.limits.maxRoutes, limits.maxRoutes);
    this.limits.maxTraces = Math.max(this.limits.maxTraces, limits.maxTraces);
    this.limits.maxLogs = Math.max(this.limits.maxLogs, limits.maxLogs);
    if (this.serviceName === '') this.serviceName = serviceName;
  }

  get clientCount(): number {
    return this.listeners.size;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** One second: sample, remember, publish. Never throws. */
  tick(now: number = Date.now()): void {
    try {
      const watching = this.listeners.size > 0;
      const link = this.link;
      const collecting = link !== undefined && link.primaryListening;
      const local = localFrame(this.windows, this.windowMs, this.probe.sample(), watching || collecting, this.limits.maxRoutes, now);
      if (collecting) link.send(local);
      this.frame = link?.mergedFrame(now, 3 * TICK_MS) ?? local;
      const point = pointOf(this.frame);
      this.history.push(point);
      if (watching) {
        const payload = JSON.stringify(this.payloadOf(this.frame, point));
        for (const listener of this.listeners) listener(payload);
      }
    } catch (error) {
      reportError('dashboard.sample', error);
    }
  }

  /**
   * Everything the page shows, read now: the whole service's frame when a cluster primary sends
   * one, otherwise this process's windows (the process row is the last second's).
   */
  payload(): Record<string, unknown> {
    const now = Date.now();
    const frame = this.link?.mergedFrame(now, 3 * TICK_MS)
      ?? localFrame(this.windows, this.windowMs, this.frame.processes[0], true, this.limits.maxRoutes, now);
    return this.payloadOf(frame, pointOf(frame));
  }

  private payloadOf(frame: Frame, point: SeriesPoint): Record<string, unknown> {
    return {
      t: frame.t,
      service: this.serviceName,
      pid: process.pid,
      windowMs: frame.windowMs,
      workers: frame.workers,
      point,
      overall: frame.overall,
      routes: frame.routes.length > this.limits.maxRoutes ? frame.routes.slice(0, this.limits.maxRoutes) : frame.routes,
      processes: frame.processes,
      packages: packagesSection(),
      health: healthSection(),
      alerts: alertsSection(),
      traces: tracesSection(this.limits.maxTraces),
      logs: logsSection(this.limits.maxLogs),
    };
  }

  /** The 15-minute history, oldest first. */
  points(): SeriesPoint[] {
    return this.history.toArray();
  }

  stop(): void {
    clearInterval(this.timer);
    this.probe.stop();
    this.link?.stop();
    this.listeners.clear();
  }
}

let shared: Sampler | undefined;

/** The process's sampler, created (and its timer started) on first use. */
export function sharedSampler(): Sampler {
  if (shared === undefined) shared = new Sampler();
  return shared;
}

/** Stops and forgets the shared sampler (tests, shutdown). */
export function resetSampler(): void {
  shared?.stop();
  shared = undefined;
}
