import type { Series, SeriesStore } from './series-store';

/** What a view reads from a series. */
export type ViewKind = 'requests' | 'duration' | 'requestSize' | 'responseSize';

interface PromValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number } | null;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * One RED metric as prom-client sees it: an object with `name`, `help`, `type` and `get()` that a
 * prom-client `Registry` accepts (`registerMetric`), so `registry.metrics()`, the Pushgateway and
 * the cluster aggregator all work. The values live in the shared `SeriesStore`; `render()` is a
 * faster serialiser used by vigil's own endpoints (label text pre-rendered per series).
 */
export class RedView {
  /** The registry may rewrite this for OpenMetrics counters; `family` keeps the real one. */
  name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: string[];
  private readonly fullName: string;
  private readonly family: string;
  private readonly store: SeriesStore;
  private readonly kind: ViewKind;
  private readonly bounds: Float64Array;
  private readonly leText: string[];
  private readonly leValues: Array<number | string>;

  constructor(store: SeriesStore, kind: ViewKind, name: string, help: string) {
    this.store = store;
    this.kind = kind;
    this.name = name;
    this.fullName = name;
    this.family = kind === 'requests' ? name.replace(/_total$/, '') : name;
    this.help = help;
    this.type = kind === 'requests' ? 'counter' : 'histogram';
    this.labelNames = store.labelNames;
    this.bounds = kind === 'duration' ? store.durationBounds : store.sizeBounds;
    this.leValues = [...Array.from(this.bounds), '+Inf'];
    this.leText = this.leValues.map((le) => `le="${typeof le === 'number' ? formatNumber(le) : le}"`);
  }

  private counts(series: Series): Float64Array {
    return this.kind === 'duration' ? series.durationCounts : this.kind === 'requestSize' ? series.requestSizeCounts : series.responseSizeCounts;
  }

  private sum(series: Series): number {
    return this.kind === 'duration' ? series.durationSum : this.kind === 'requestSize' ? series.requestBytesSum : series.responseBytesSum;
  }

  private labelsOf(series: Series): Record<string, string> {
    const labels: Record<string, string> = {};
    for (let i = 0; i < this.labelNames.length; i++) labels[this.labelNames[i]] = series.values[i];
    return labels;
  }

  /** prom-client's metric shape (used by `registry.metrics()`, `getMetricsAsJSON()`, aggregation). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: PromValue[] }> {
    const values: PromValue[] = [];
    for (const series of this.store.all()) {
      if (this.kind === 'requests') {
        values.push({ labels: this.labelsOf(series), value: series.count });
        continue;
      }
      const counts = this.counts(series);
      let acc = 0;
      for (let i = 0; i < counts.length; i++) {
        acc += counts[i];
        const value: PromValue = { labels: { ...this.labelsOf(series), le: this.leValues[i] }, value: acc, metricName: `${this.fullName}_bucket` };
        const trace = this.kind === 'duration' ? series.exemplarTrace?.[i] : undefined;
        if (trace) {
          value.exemplar = {
            labelSet: { trace_id: trace, span_id: (series.exemplarSpan as string[])[i] },
            value: (series.exemplarValue as Float64Array)[i],
            timestamp: (series.exemplarTime as Float64Array)[i],
          };
        }
        values.push(value);
      }
      values.push({ labels: this.labelsOf(series), value: this.sum(series), metricName: `${this.fullName}_sum` });
      values.push({ labels: this.labelsOf(series), value: series.count, metricName: `${this.fullName}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Clears every RED series (the store is shared by the RED views of one engine). */
  reset(): void {
    this.store.clear();
  }

  /** Appends this metric in the text format (or OpenMetrics) to `out`, one line per entry, no trailing newline. */
  renderInto(out: string[], openMetrics: boolean): void {
    const family = openMetrics ? this.family : this.fullName;
    const help = this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    out.push(`# HELP ${family} ${help}`, `# TYPE ${family} ${this.type}`);
    if (this.kind === 'requests') {
      const sample = `${this.fullName}{`;
      for (const series of this.store.all()) out.push(`${sample}${series.labelText}} ${series.count}`);
      return;
    }
    const bucketName = `${this.fullName}_bucket{`;
    const sumName = `${this.fullName}_sum{`;
    const countName = `${this.fullName}_count{`;
    const leText = this.leText;
    const withExemplars = openMetrics && this.kind === 'duration';
    for (const series of this.store.all()) {
      const counts = this.counts(series);
      const labels = series.labelText;
      const head = labels === '' ? bucketName : `${bucketName}${labels},`;
      let acc = 0;
      const traces = withExemplars ? series.exemplarTrace : undefined;
      for (let i = 0; i < counts.length; i++) {
        acc += counts[i];
        if (traces !== undefined && traces[i] !== '') {
          out.push(
            `${head}${leText[i]}} ${acc} # {trace_id="${traces[i]}",span_id="${(series.exemplarSpan as string[])[i]}"} ${formatNumber((series.exemplarValue as Float64Array)[i])} ${(series.exemplarTime as Float64Array)[i]}`,
          );
        } else out.push(`${head}${leText[i]}} ${acc}`);
      }
      out.push(`${sumName}${labels}} ${formatNumber(this.sum(series))}`, `${countName}${labels}} ${series.count}`);
    }
  }
}
