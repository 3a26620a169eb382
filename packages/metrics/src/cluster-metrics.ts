import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { reportError } from '@vigil/core';
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { defaultEngine } from './create-metrics';
import { renderMetrics } from './exposition';
import { serveMetrics } from './serve-metrics';
import type { EndpointOptions, Metrics, MetricsServer, Scrape } from './types';

const REQUEST = 'vigil:metrics:request';
const RESPONSE = 'vigil:metrics:response';

/**
 * Options of `clusterMetrics`.
 *
 * @example
 * ```ts
 * const options: ClusterMetricsOptions = { port: 9464, timeoutMs: 2000 };
 * ```
 */
export interface ClusterMetricsOptions extends EndpointOptions {
  /** Worker side: the engine whose registry answers (default: the latest `createMetrics`, read at each request). */
  metrics?: Metrics;
  /** Worker side: a registry to answer with instead. */
  registry?: Registry;
  /** Primary side: serve the summed metrics on this port (default: do not serve; call `scrape()`). */
  port?: number;
  /** Primary side: host to bind (default `0.0.0.0`). */
  host?: string;
  /** Primary side: how long to wait for workers, ms (default 2000). Late workers are reported, not awaited. */
  timeoutMs?: number;
}

/**
 * What `clusterMetrics` returns: in the primary, `scrape()` (and `server` when a port was given);
 * in a worker, only `close()`. Each call returns its own handle; its `close()` undoes only what
 * that call set up (a second `close()` does nothing).
 *
 * @example
 * ```ts
 * const cm: ClusterMetrics = await clusterMetrics({ port: 9464 });
 * if (cm.role === 'primary') console.log((await cm.scrape()).body);
 * ```
 */
export interface ClusterMetrics {
  readonly role: 'primary' | 'worker';
  /** Primary: the workers' metrics, summed (per-worker for gauges where a sum is wrong). */
  scrape(openMetrics?: boolean): Promise<Scrape>;
  /** Primary: the metrics server, when a port was given. */
  readonly server: MetricsServer | undefined;
  /**
   * Primary: stops listening to workers and closes `server`. Worker: withdraws this call's
   * registry (the worker answers from another call still open, or stops answering when none is).
   */
  close(): Promise<void>;
}

interface RequestMessage {
  type: typeof REQUEST;
  id: number;
}

interface ResponseMessage {
  type: typeof RESPONSE;
  id: number;
  metrics?: MetricObjectWithValues<MetricValue<string>>[];
  error?: string;
}

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

/** Gauges whose aggregator is not a sum (memory, lag, apdex...) are shown per worker instead. */
function perWorker(metric: MetricObjectWithValues<MetricValue<string>>): boolean {
  const aggregator = (metric as { aggregator?: string }).aggregator ?? 'sum';
  return metric.type === ('gauge' as never) && aggregator !== 'sum' && aggregator !== 'omit';
}

/**
 * A worker's open `clusterMetrics()` calls, oldest first. Each call adds its own entry and its
 * `close()` removes only that entry; the primary is answered from the newest open one, and the IPC
 * listener is there while at least one is open.
 */
const workerSources: Array<() => Registry | undefined> = [];

function onPrimaryRequest(message: unknown): void {
  const m = message as RequestMessage | null;
  if (m === null || typeof m !== 'object' || m.type !== REQUEST || typeof process.send !== 'function') return;
  const source = workerSources[workerSources.length - 1];
  const registry = source?.();
  const reply = (body: Omit<ResponseMessage, 'type' | 'id'>): void => {
    try {
      process.send?.({ type: RESPONSE, id: m.id, ...body });
    } catch (error) {
      reportError('metrics.cluster', error);
    }
  };
  if (registry === undefined) {
    reply({ error: 'no metrics registry in this worker yet' });
    return;
  }
  registry.getMetricsAsJSON().then(
    (metrics) => reply({ metrics: metrics as ResponseMessage['metrics'] }),
    (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
  );
}

function workerSide(options: ClusterMetricsOptions): ClusterMetrics {
  const { metrics, registry } = options;
  // a new function per call: it is this call's identity in workerSources
  const source = (): Registry | undefined => registry ?? metrics?.registry ?? defaultEngine()?.registry;
  if (workerSources.length === 0) process.on('message', onPrimaryRequest);
  workerSources.push(source);
  return {
    role: 'worker',
    server: undefined,
    scrape: () => Promise.reject(new Error('vigil/metrics: scrape() is for the cluster primary')),
    close: async () => {
      const at = workerSources.lastIndexOf(source);
      if (at === -1) return; // closed already
      workerSources.splice(at, 1);
      if (workerSources.length === 0) process.off('message', onPrimaryRequest);
    },
  };
}

/** Request ids, unique in the process: two primaries' requests (and their answers) never mix. */
let nextRequestId = 0;

async function primarySide(options: ClusterMetricsOptions): Promise<ClusterMetrics> {
  const { port, host, timeoutMs = 2000, metrics: _m, registry: _r, ...endpointOptions } = options;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) fail('timeoutMs must be a positive integer');
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) fail(`port must be an integer in 0..65535, got ${String(port)}`);
  const pending = new Map<number, (worker: Worker, message: ResponseMessage) => void>();
  const onMessage = (worker: Worker, message: unknown): void => {
    const m = message as ResponseMessage | null;
    if (m === null || typeof m !== 'object' || m.type !== RESPONSE) return;
    pending.get(m.id)?.(worker, m);
  };
  cluster.on('message', onMessage);

  async function gather(): Promise<{ answered: Map<number, ResponseMessage['metrics']>; silent: number[] }> {
    const id = ++nextRequestId;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    const answered = new Map<number, ResponseMessage['metrics']>();
    const failed = new Set<number>();
    await new Promise<void>((resolve) => {
      let waiting = workers.length;
      if (waiting === 0) return resolve();
      const timer = setTimeout(resolve, timeoutMs);
      pending.set(id, (worker, message) => {
        if (answered.has(worker.id) || failed.has(worker.id)) return;
        if (message.metrics !== undefined) answered.set(worker.id, message.metrics);
        else failed.add(worker.id);
        if (--waiting === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      for (const worker of workers) {
        try {
          worker.send({ type: REQUEST, id } satisfies RequestMessage);
        } catch (error) {
          reportError('metrics.cluster', error);
        }
      }
    });
    pending.delete(id);
    const silent = workers.filter((w) => !answered.has(w.id)).map((w) => w.id);
    return { answered, silent };
  }

  async function scrape(openMetrics = false): Promise<Scrape> {
    const { answered, silent } = await gather();
    const summed: MetricObjectWithValues<MetricValue<string>>[][] = [];
    const separate = new Map<string, MetricObjectWithValues<MetricValue<string>>>();
    for (const [workerId, list] of answered) {
      const rest: MetricObjectWithValues<MetricValue<string>>[] = [];
      for (const metric of list ?? []) {
        if (!perWorker(metric)) {
          rest.push(metric);
          continue;
        }
        let merged = separate.get(metric.name);
        if (merged === undefined) {
          merged = { ...metric, values: [], aggregator: 'sum' } as MetricObjectWithValues<MetricValue<string>>;
          separate.set(metric.name, merged);
        }
        for (const v of metric.values) merged.values.push({ ...v, labels: { ...v.labels, worker: String(workerId) } });
      }
      summed.push(rest);
    }
    const registry: Registry = AggregatorRegistry.aggregate(summed);
    for (const metric of separate.values()) registry.registerMetric({ ...metric, get: () => metric } as never);
    const up = {
      name: 'vigil_cluster_worker_up',
      help: 'Whether each cluster worker answered the last metrics request in time (1) or not (0).',
      type: 'gauge',
      aggregator: 'sum',
      values: [
        ...[...answered.keys()].map((id) => ({ labels: { worker: String(id) }, value: 1 })),
        ...silent.map((id) => ({ labels: { worker: String(id) }, value: 0 })),
      ],
    };
    registry.registerMetric({ ...up, get: () => up } as never);
    if (silent.length > 0) reportError('metrics.cluster', new Error(`workers ${silent.join(', ')} did not answer within ${timeoutMs} ms`));
    return renderMetrics(registry, openMetrics);
  }

  const server = port === undefined ? undefined : await serveMetrics({ ...endpointOptions, port, host, metrics: { scrape } as unknown as Metrics });
  return {
    role: 'primary',
    server,
    scrape,
    close: async () => {
      cluster.off('message', onMessage);
      pending.clear();
      if (server !== undefined) await server.close();
    },
  };
}

/**
 * Metrics under `node:cluster`. In the primary, one `/metrics` (on `port`) that asks every worker
 * for its registry over IPC and sums them with prom-client's `AggregatorRegistry.aggregate`;
 * gauges where a sum is wrong (memory, event-loop lag, Apdex) are shown per worker with a
 * `worker` label; `vigil_cluster_worker_up{worker}` reports who answered. A worker that does not
 * answer within `timeoutMs` is reported, not waited for, and the primary and workers may start
 * in any order (the worker's registry is looked up at each request). In a worker, call it once
 * (before or after `createMetrics`) to answer the primary. Every call returns its own handle, and
 * its `close()` undoes that call only: when a worker has several calls open (two modules each
 * setting it up), the primary is answered from the newest one still open (one registry per worker;
 * give all of them the same engine or registry), and the worker stops answering once every call
 * is closed. Calls in the primary are independent of each other likewise.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { clusterMetrics, expressMetrics } from '@vigil/metrics';
 * if (cluster.isPrimary) {
 *   await clusterMetrics({ port: 9464 });
 *   for (let i = 0; i < 4; i++) cluster.fork();
 * } else {
 *   clusterMetrics();
 *   app.use(expressMetrics({ path: false }));
 * }
 * ```
 */
export function clusterMetrics(options: ClusterMetricsOptions = {}): Promise<ClusterMetrics> {
  if (options === null || typeof options !== 'object') fail('options must be an object');
  if (cluster.isWorker) return Promise.resolve(workerSide(options));
  return primarySide(options);
}
