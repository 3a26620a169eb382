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
  get?: () => unknown;
  getForPromString?: () => unknown;
}

interface MetricData {
  name: string;
}

/**
 * A view of `registry` that renders in the given format: an object whose prototype is the
 * registry, with its own content type. prom-client's renderer reads the format from
 * `this.contentType` and the default labels from `this._defaultLabels`; the view answers the
 * first itself and reads the second, live, from the registry. The registry itself is never
 * switched, so a scrape never changes what another reader of the same registry (an app's own
 * endpoint, `pushMetrics`) gets, and scrapes need not wait for each other.
 */
function rendererFor(registry: Registry, contentType: string): StringRenderer {
  const view = Object.create(registry) as Registry & { _contentType: string };
  view._contentType = contentType;
  return view as unknown as StringRenderer;
}

const renderers = new WeakMap<Registry, { text: StringRenderer; open: StringRenderer }>();

function renderersOf(registry: Registry): { text: StringRenderer; open: StringRenderer } {
  let pair = renderers.get(registry);
  if (pair === undefined) {
    pair = { text: rendererFor(registry, PROMETHEUS_CONTENT_TYPE), open: rendererFor(registry, OPENMETRICS_CONTENT_TYPE) };
    renderers.set(registry, pair);
  }
  return pair;
}

async function renderForeign(renderer: StringRenderer, metric: AnyMetric, openMetrics: boolean): Promise<string> {
  if (openMetrics && metric.type === 'counter' && metric.name.endsWith('_total')) {
    // prom-client appends `_total` to OpenMetrics counter samples: render a copy of the collected
    // values under the family name (registry.metrics() would rename the counter for good)
    const data = (await (typeof metric.getForPromString === 'function' ? metric.getForPromString() : metric.get?.())) as MetricData;
    const family = { ...data, name: data.name.slice(0, -'_total'.length) };
    return renderer.getMetricsAsString({ get: () => family });
  }
  return renderer.getMetricsAsString(metric);
}

async function renderRegistry(registry: Registry, openMetrics: boolean): Promise<Scrape> {
  const contentType = openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  const pair = renderersOf(registry);
  const renderer = openMetrics ? pair.open : pair.text;
  const defaults = (registry as unknown as RegistryInternals)._defaultLabels;
  const fast = defaults === undefined || Object.keys(defaults).length === 0;
  const metrics = registry.getMetricsAsArray() as unknown as AnyMetric[];
  // prom-client metrics may collect asynchronously: start them together, in registry order
  const foreign = await Promise.all(metrics.map((m) => (fast && m instanceof RedView ? undefined : renderForeign(renderer, m, openMetrics))));
  const lines: string[] = [];
  const separator = openMetrics ? undefined : '';
  for (let i = 0; i < metrics.length; i++) {
    if (i > 0 && separator !== undefined) lines.push(separator);
    const rendered = foreign[i];
    if (rendered === undefined) (metrics[i] as unknown as RedView).renderInto(lines, openMetrics);
    else lines.push(rendered);
  }
  lines.push(openMetrics ? '# EOF\n' : '');
  return { contentType, body: lines.join('\n') };
}

/**
 * Renders every metric of a registry in the Prometheus text format or OpenMetrics, whatever
 * content type the registry was made with, without changing the registry. vigil's RED metrics use
 * their fast serialiser; other metrics go through prom-client. A collector that throws rejects
 * the promise; one that never settles holds only its own scrape.
 */
export function renderMetrics(registry: Registry, openMetrics: boolean): Promise<Scrape> {
  return renderRegistry(registry, openMetrics);
}
