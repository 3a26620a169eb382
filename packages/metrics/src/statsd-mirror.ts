import { onExchangeEnd, reportError } from '@vigil/core';
import { StatsD, type ClientOptions } from 'hot-shots';
import { defaultEngine, type MetricsEngine } from './create-metrics';
import type { Metrics } from './types';

/**
 * Options of `statsdMirror`.
 *
 * @example
 * ```ts
 * const options: StatsdMirrorOptions = { host: '127.0.0.1', port: 8125, prefix: 'shop.', dogstatsd: true };
 * ```
 */
export interface StatsdMirrorOptions {
  /** The engine to mirror (its HTTP requests and `recordRequest` calls). Default: every exchange in the process. */
  metrics?: Metrics;
  /** StatsD host (default `127.0.0.1`). */
  host?: string;
  /** StatsD port (default 8125). */
  port?: number;
  /** `udp` (default) or `tcp`. */
  protocol?: 'udp' | 'tcp';
  /** Prefix of every stat name, e.g. `shop.` (default `''`). */
  prefix?: string;
  /** DogStatsD: method, route and status as tags, not in the stat name (default `false`). */
  dogstatsd?: boolean;
  /** Tags added to every stat (DogStatsD only). */
  globalTags?: Record<string, string>;
  /** Publish the in-flight gauge this often, ms (default 10 000; 0 turns it off). */
  gaugeIntervalMs?: number;
  /** A hot-shots client to use instead of creating one. */
  client?: StatsD;
}

/**
 * A running StatsD mirror.
 *
 * @example
 * ```ts
 * const mirror: StatsdMirror = statsdMirror({ port: 8125 });
 * mirror.client.increment('orders.created');
 * await mirror.close();
 * ```
 */
export interface StatsdMirror {
  /** The hot-shots client (send your own stats with it). */
  readonly client: StatsD;
  /** Times one call: `timing(name, ms)`. */
  timing(name: string, ms: number): void;
  /** Stops mirroring and closes the client (when it made it). */
  close(): Promise<void>;
}

interface StatNames {
  counter: string;
  timer: string;
  tags: string[] | undefined;
}

function statPart(value: string): string {
  const part = value.replace(/^\/+|\/+$/g, '').replace(/[^A-Za-z0-9_-]+/g, '_');
  return part === '' ? 'root' : part;
}

function fail(message: string): never {
  throw new TypeError(`vigil/metrics: ${message}`);
}

let lastMirror: StatsdMirror | undefined;

/** The mirror `timed()` uses by default. */
export function defaultMirror(): StatsdMirror | undefined {
  return lastMirror;
}

/**
 * Mirrors the RED metrics to StatsD or DogStatsD through hot-shots: a counter
 * `http.requests` and a timer `http.request_duration` (ms) per request, and an
 * `http.requests_in_flight` gauge. Plain StatsD gets method, route and status in the stat name
 * (`http.requests.GET.users_id.200`); DogStatsD gets them as tags. Stat names are made once per
 * (route, method, status) and cached.
 *
 * @example
 * ```ts
 * import { createMetrics, statsdMirror } from '@vigil/metrics';
 * const metrics = createMetrics();
 * const mirror = statsdMirror({ metrics, host: 'statsd.internal', prefix: 'shop.' });
 * process.on('SIGTERM', () => mirror.close());
 * ```
 */
export function statsdMirror(options: StatsdMirrorOptions = {}): StatsdMirror {
  if (options === null || typeof options !== 'object') fail('options must be an object');
  const { metrics, host = '127.0.0.1', port = 8125, protocol = 'udp', prefix = '', dogstatsd = false, globalTags, gaugeIntervalMs = 10_000, client: given } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port must be an integer in 1..65535, got ${String(port)}`);
  if (protocol !== 'udp' && protocol !== 'tcp') fail(`protocol must be 'udp' or 'tcp', got ${String(protocol)}`);
  if (typeof prefix !== 'string') fail('prefix must be a string');
  if (!Number.isInteger(gaugeIntervalMs) || gaugeIntervalMs < 0) fail('gaugeIntervalMs must be a non-negative integer');
  if (metrics !== undefined && (metrics === null || typeof (metrics as { recordRequest?: unknown }).recordRequest !== 'function')) fail('metrics must be an engine made by createMetrics()');
  if (given !== undefined) {
    const ignored = (['host', 'port', 'protocol', 'prefix', 'globalTags'] as const).filter((key) => options[key] !== undefined);
    if (ignored.length > 0) fail(`${ignored.join(', ')} would be ignored next to client: set them on the client`);
  }
  const clientOptions: ClientOptions = {
    host,
    port,
    protocol,
    prefix,
    globalTags: dogstatsd ? globalTags : undefined,
    includeDataDogTags: dogstatsd,
    datadog: dogstatsd ? undefined : false,
    maxBufferSize: 1400,
    bufferFlushInterval: 200,
    errorHandler: (error) => reportError('metrics.statsd', error),
  };
  const client = given ?? new StatsD(clientOptions);
  const names = new Map<string, Map<string, Map<number, StatNames>>>();

  function statNames(method: string, route: string, status: number): StatNames {
    let byMethod = names.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      names.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let found = byStatus.get(status);
    if (found === undefined) {
      if (dogstatsd) found = { counter: 'http.requests', timer: 'http.request_duration', tags: [`method:${method}`, `route:${route}`, `status_code:${status}`] };
      else {
        const suffix = `${statPart(method)}.${statPart(route)}.${status}`;
        found = { counter: `http.requests.${suffix}`, timer: `http.request_duration.${suffix}`, tags: undefined };
      }
      byStatus.set(status, found);
    }
    return found;
  }

  function mirror(method: string, route: string, status: number, seconds: number): void {
    const n = statNames(method, route, status);
    if (n.tags === undefined) {
      client.increment(n.counter);
      client.timing(n.timer, seconds * 1000);
    } else {
      client.increment(n.counter, 1, n.tags);
      client.timing(n.timer, seconds * 1000, n.tags);
    }
  }

  let stop: () => void;
  let inFlight: () => number;
  if (metrics !== undefined) {
    const engine = metrics as MetricsEngine;
    stop = engine.addListener(mirror);
    inFlight = () => engine.inFlight;
  } else {
    stop = onExchangeEnd((ex) => mirror(ex.method, ex.route, ex.status, ex.durationMs / 1000));
    inFlight = () => defaultEngine()?.inFlight ?? 0;
  }
  let timer: NodeJS.Timeout | undefined;
  if (gaugeIntervalMs > 0) {
    timer = setInterval(() => client.gauge('http.requests_in_flight', inFlight()), gaugeIntervalMs);
    timer.unref();
  }
  const result: StatsdMirror = {
    client,
    timing: (name, ms) => client.timing(name, ms),
    close: () =>
      new Promise<void>((resolve) => {
        stop();
        if (timer !== undefined) clearInterval(timer);
        if (lastMirror === result) lastMirror = undefined;
        if (given !== undefined) return resolve();
        client.close(() => resolve());
      }),
  };
  lastMirror = result;
  return result;
}
