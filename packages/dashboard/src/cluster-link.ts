import cluster from 'node:cluster';
import { reportError } from '@vigil/core';
import { mergeFrames } from './frame';
import type { Frame } from './types';

/** Marker of the dashboard's IPC messages (other messages are left alone). */
export const MESSAGE_KEY = '__vigilDashboard';

interface DashboardMessage {
  [MESSAGE_KEY]: 'frame' | 'merged';
  frame: Frame | null;
}

function isDashboardMessage(message: unknown): message is DashboardMessage {
  return message !== null && typeof message === 'object' && MESSAGE_KEY in message;
}

/**
 * The worker side of the cluster view: sends this worker's frame to the primary once a second
 * (only after the primary has shown it collects them) and keeps the merged frame it sends back.
 */
export class WorkerLink {
  /** `true` once a primary running `clusterDashboard()` has spoken. */
  primaryListening = false;
  private merged: Frame | undefined;
  private mergedAt = 0;
  private readonly onMessage = (message: unknown): void => {
    if (!isDashboardMessage(message)) return;
    this.primaryListening = true;
    if (message[MESSAGE_KEY] === 'merged' && message.frame !== null) {
      this.merged = message.frame;
      this.mergedAt = Date.now();
    }
  };

  constructor() {
    process.on('message', this.onMessage);
  }

  /** Whether this process is a cluster worker with an IPC channel. */
  static applies(): boolean {
    return cluster.isWorker && typeof process.send === 'function';
  }

  send(frame: Frame): void {
    if (!this.primaryListening || !process.connected || typeof process.send !== 'function') return;
    try {
      process.send({ [MESSAGE_KEY]: 'frame', frame } satisfies DashboardMessage);
    } catch (error) {
      reportError('dashboard.cluster', error);
    }
  }

  /** The whole service's frame from the primary, if it is fresh (at most `maxAgeMs` old). */
  mergedFrame(now: number, maxAgeMs: number): Frame | undefined {
    return this.merged !== undefined && now - this.mergedAt <= maxAgeMs ? this.merged : undefined;
  }

  stop(): void {
    process.off('message', this.onMessage);
  }
}

/**
 * Options of `clusterDashboard`.
 *
 * @example
 * ```ts
 * const options: ClusterDashboardOptions = { intervalMs: 1000, staleMs: 5000 };
 * ```
 */
export interface ClusterDashboardOptions {
  /** How often the merged view is sent to the workers, ms (default 1000). */
  intervalMs?: number;
  /** A worker whose last frame is older than this is left out, ms (default 5000). */
  staleMs?: number;
}

/**
 * Call once in the cluster primary: it collects each worker's dashboard frame over IPC, merges
 * them (rates, counts, error ratios and Apdex exactly; latency quantiles as the highest worker
 * value, an upper bound) and sends the whole-service view back to every worker once a second, so
 * the dashboard page shows the whole service whichever worker serves it. Returns `stop()`.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { clusterDashboard } from '@vigil/dashboard';
 * if (cluster.isPrimary) {
 *   clusterDashboard();
 *   for (let i = 0; i < 4; i++) cluster.fork();
 * } else {
 *   startServer(); // an app using expressDashboard() or koaDashboard()
 * }
 * ```
 */
export function clusterDashboard(options: ClusterDashboardOptions = {}): { stop(): void } {
  if (!cluster.isPrimary) throw new TypeError('vigil: clusterDashboard() must be called in the cluster primary');
  const intervalMs = options.intervalMs ?? 1000;
  const staleMs = options.staleMs ?? 5000;
  if (!(Number.isFinite(intervalMs) && intervalMs >= 100)) throw new TypeError(`vigil: clusterDashboard intervalMs must be a number ≥ 100, got ${String(options.intervalMs)}`);
  if (!(Number.isFinite(staleMs) && staleMs > 0)) throw new TypeError(`vigil: clusterDashboard staleMs must be a positive number, got ${String(options.staleMs)}`);
  const latest = new Map<number, { frame: Frame; at: number }>();
  const onMessage = (worker: { id: number }, message: unknown): void => {
    if (isDashboardMessage(message) && message[MESSAGE_KEY] === 'frame' && message.frame !== null) {
      latest.set(worker.id, { frame: message.frame, at: Date.now() });
    }
  };
  const onExit = (worker: { id: number }): void => {
    latest.delete(worker.id);
  };
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  const timer = setInterval(() => {
    const now = Date.now();
    const frames: Frame[] = [];
    for (const [id, entry] of latest) {
      if (now - entry.at > staleMs) latest.delete(id);
      else frames.push(entry.frame);
    }
    const message: DashboardMessage = { [MESSAGE_KEY]: 'merged', frame: frames.length > 0 ? mergeFrames(frames, now) : null };
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker === undefined || !worker.isConnected()) continue;
      try {
        worker.send(message);
      } catch (error) {
        reportError('dashboard.cluster', error);
      }
    }
  }, intervalMs);
  timer.unref();
  return {
    stop(): void {
      clearInterval(timer);
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
    },
  };
}
