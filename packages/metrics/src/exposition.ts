import { Registry } from 'prom-client';
import { RedView } from './red-views';
import type { Scrape } from './types';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

interface RegistryInternals {
  _defaultLabels?: Record<string, unknown>;
}

interface StringRenderer {
  getMetricsAsString(metric: unknown): Promise<string>;
}

interface AnyMetric {
  name: string;
  type?: string;
}

const QUEUE_TIMEOUT_MS = 10_000;

/** Scrapes run one at a time per registry: the content type is switched for the length of one. */
const queues = new WeakMap<Registry, Promise<unknown>>();

/** Does the `Accept` header ask for OpenMetrics? */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
}

async function renderForeign(registry: Registry, metric: AnyMetric, openMetrics: boolean): Promise<string> {
  const renderer = registry as unknown as StringRenderer;
  if (openMetrics && metric.type === 'counter' && metric.name.endsWith('_total')) {
    // prom-client appends `_total` to OpenMetrics counter samples: give it the family name for
    // this render only (registry.metrics() would rename the counter for good).
    const original = metric.name;
    metric.name = original.slice(0, -'_total'.length);
    try {
      return await renderer.getMetricsAsString(metric);
    } finally {
      metric.name = original;
    }
  }
  return renderer.getMetricsAsString(metric);
}

async function renderRegistry(registry: Registry, openMetrics: boolean): Promise<Scrape> {
  const previous = registry.contentType;
  const wanted = openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  if (previous !== wanted) registry.setContentType(wanted as never);
  try {
    const defaults = (registry as unknown as RegistryInternals)._defaultLabels;
    const fast = defaults === undefined || Object.keys(defaults).length === 0;
    const metrics = registry.getMetricsAsArray() as unknown as AnyMetric[];
    // prom-client metrics may collect asynchronously: start them together, in registry order
    const foreign = await Promise.all(metrics.map((m) => (fast && m instanceof RedView ? undefined : renderForeign(registry, m, openMetrics))));
    const lines: string[] = [];
    const separator = openMetrics ? undefined : '';
    for (let i = 0; i < metrics.length; i++) {
      if (i > 0 && separator !== undefined) lines.push(separator);
      const rendered = foreign[i];
      if (rendered === undefined) (metrics[i] as unknown as RedView).renderInto(lines, openMetrics);
      else lines.push(rendered);
    }
    lines.push(openMetrics ? '# EOF\n' : '');
    return { contentType: wanted, body: lines.join('\n') };
  } finally {
    if (previous !== wanted) registry.setContentType(previous as never);
  }
}

/**
 * Renders every metric of a registry in the Prometheus text format or OpenMetrics, whatever
 * content type the registry was made with. vigil's RED metrics use their fast serialiser; other
 * metrics go through prom-client. A collector that throws rejects the promise.
 */
export function renderMetrics(registry: Registry, openMetrics: boolean): Promise<Scrape> {
  const before = queues.get(registry) ?? Promise.resolve();
  const run = before.then(
    () => renderRegistry(registry, openMetrics),
    () => renderRegistry(registry, openMetrics),
  );
  // a collector that never settles must not hold every later scrape: the next one may start
  // after QUEUE_TIMEOUT_MS whatever happened to this one
  let timer: NodeJS.Timeout | undefined;
  const settled = Promise.race([
    run.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), QUEUE_TIMEOUT_MS);
      t.unref();
      timer = t;
    }),
  ]).finally(() => clearTimeout(timer));
  queues.set(registry, settled);
  return run;
}
