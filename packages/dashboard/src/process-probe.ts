import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { ProcessRow } from './types';

/** Timer resolution of the event-loop delay histogram, ms. Its samples include it: it is subtracted. */
const RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

/**
 * CPU, memory and event-loop lag of this process, read once a second by the sampler. Uses
 * `process.cpuUsage()` deltas and `perf_hooks.monitorEventLoopDelay` (no native addon).
 */
export class ProcessProbe {
  private readonly histogram: IntervalHistogram;
  private lastCpu: NodeJS.CpuUsage;
  private lastAt: number;

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.lastCpu = process.cpuUsage();
    this.lastAt = performance.now();
  }

  /** What happened since the previous call. */
  sample(): ProcessRow {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const elapsedMs = Math.max(1, now - this.lastAt);
    const usedMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
    this.lastCpu = cpu;
    this.lastAt = now;
    const mem = process.memoryUsage();
    const h = this.histogram;
    const hasLag = h.count > 0;
    const lagMeanMs = hasLag ? Math.max(0, h.mean / NS_PER_MS - RESOLUTION_MS) : 0;
    const lagP99Ms = hasLag ? Math.max(0, h.percentile(99) / NS_PER_MS - RESOLUTION_MS) : 0;
    h.reset();
    return {
      pid: process.pid,
      cpuPercent: round((usedMs / elapsedMs) * 100, 1),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      lagMeanMs: round(lagMeanMs, 2),
      lagP99Ms: round(lagP99Ms, 2),
      uptimeSec: Math.round(process.uptime()),
    };
  }

  stop(): void {
    this.histogram.disable();
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
