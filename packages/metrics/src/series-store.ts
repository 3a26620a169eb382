import { CardinalityGuard } from '@vigil/core';

/** Escapes a label value for the text exposition formats. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The label value of every series past the cap. */
export const OVERFLOW_VALUE = 'other';

/**
 * One label set of the RED metrics: a request count, duration, request-size and response-size
 * histograms, in plain numbers. prom-client's label hashing is skipped on the hot path: the
 * series is found once per (route, method, status) and updated in place.
 */
export class Series {
  /** Label values in label-name order (method, route, status, extras...). */
  readonly values: string[];
  /** Pre-rendered `name="value",...` for the exposition. */
  readonly labelText: string;
  count = 0;
  durationSum = 0;
  requestBytesSum = 0;
  responseBytesSum = 0;
  /** Per-bucket (not cumulative) counts; the last slot holds values above every bound. */
  readonly durationCounts: Float64Array;
  readonly requestSizeCounts: Float64Array;
  readonly responseSizeCounts: Float64Array;
  /** Last update, in `performance.now()` milliseconds. */
  lastSeen = 0;
  /** Exemplars per duration bucket (trace id, span id, value, epoch seconds), made on first use. */
  exemplarTrace: string[] | undefined = undefined;
  exemplarSpan: string[] | undefined = undefined;
  exemplarValue: Float64Array | undefined = undefined;
  exemplarTime: Float64Array | undefined = undefined;
  /** Where this series sits in the store, to remove it. */
  readonly routeKey: string;
  readonly key: number | string;

  constructor(names: string[], values: string[], durationBuckets: number, sizeBuckets: number, routeKey: string, key: number | string) {
    this.values = values;
    let text = '';
    for (let i = 0; i < names.length; i++) {
      if (i > 0) text += ',';
      text += `${names[i]}="${escapeLabelValue(values[i])}"`;
    }
    this.labelText = text;
    this.durationCounts = new Float64Array(durationBuckets + 1);
    this.requestSizeCounts = new Float64Array(sizeBuckets + 1);
    this.responseSizeCounts = new Float64Array(sizeBuckets + 1);
    this.routeKey = routeKey;
    this.key = key;
  }
}

function bucketIndex(bounds: Float64Array, value: number): number {
  const n = bounds.length;
  for (let i = 0; i < n; i++) if (value <= bounds[i]) return i;
  return n;
}

/**
 * Every RED series of one engine, found by route then by a numeric (method, status) key, so a
 * request costs two Map lookups and no allocation once its series exists. The number of series
 * is capped: past `maxSeries`, new label sets go to one overflow series and are counted.
 */
export class SeriesStore {
  readonly durationBounds: Float64Array;
  readonly sizeBounds: Float64Array;
  readonly labelNames: string[];
  /** Samples that went to the overflow series because the cap was reached. */
  dropped = 0;
  private readonly byRoute = new Map<string, Map<number | string, Series>>();
  private readonly methodCodes = new Map<string, number>();
  private readonly methods = new CardinalityGuard({ limit: 40, overflowValue: 'OTHER' });
  private readonly maxSeries: number;
  private live = 0;
  private overflow: Series | undefined = undefined;
  private readonly extraGuards: CardinalityGuard[];
  private readonly extraRefs: Array<Map<string, number>>;
  private readonly exemplars: boolean;

  constructor(labelNames: string[], durationBounds: number[], sizeBounds: number[], maxSeries: number, extraLabelLimit: number, exemplars: boolean) {
    this.labelNames = labelNames;
    this.durationBounds = Float64Array.from(durationBounds);
    this.sizeBounds = Float64Array.from(sizeBounds);
    this.maxSeries = maxSeries;
    this.exemplars = exemplars;
    const extras = labelNames.length - 3;
    this.extraGuards = Array.from({ length: extras }, () => new CardinalityGuard({ limit: extraLabelLimit }));
    this.extraRefs = Array.from({ length: extras }, () => new Map<string, number>());
  }

  /** Number of live series (the overflow series included). */
  get size(): number {
    return this.live + (this.overflow === undefined ? 0 : 1);
  }

  /** A small integer per method (bounded: unknown methods past 40 share `OTHER`). */
  methodCode(method: string): number {
    let code = this.methodCodes.get(method);
    if (code === undefined) {
      const admitted = this.methods.admit(method);
      code = this.methodCodes.get(admitted);
      if (code === undefined) {
        code = this.methodCodes.size + 1;
        this.methodCodes.set(admitted, code);
      }
      if (admitted === method) this.methodCodes.set(method, code);
    }
    return code;
  }

  /** The series of a (method, route, status) with no extra labels. */
  series(method: string, route: string, status: number): Series {
    const key = this.methodCode(method) * 1000 + status;
    const perRoute = this.byRoute.get(route);
    if (perRoute !== undefined) {
      const found = perRoute.get(key);
      if (found !== undefined) return found;
    }
    return this.create(perRoute, route, key, [method, route, String(status)]);
  }

  /** The series of a label set with extra labels (`extras` are raw values, guarded here). */
  seriesWithExtras(method: string, route: string, status: number, extras: string[]): Series {
    const guards = this.extraGuards;
    let key = String(this.methodCode(method) * 1000 + status);
    for (let i = 0; i < extras.length; i++) {
      extras[i] = guards[i].admit(extras[i]);
      key += '\u0000' + extras[i];
    }
    const perRoute = this.byRoute.get(route);
    if (perRoute !== undefined) {
      const found = perRoute.get(key);
      if (found !== undefined) return found;
    }
    const series = this.create(perRoute, route, key, [method, route, String(status), ...extras]);
    for (let i = 0; i < extras.length; i++) {
      const refs = this.extraRefs[i];
      const count = refs.get(extras[i]);
      if (series !== this.overflow) refs.set(extras[i], (count ?? 0) + 1);
      // admitted above for a series that was not made: no series holds the value, so its slot is freed
      else if (count === undefined) this.extraGuards[i].release(extras[i]);
    }
    return series;
  }

  private create(perRoute: Map<number | string, Series> | undefined, route: string, key: number | string, values: string[]): Series {
    if (this.live >= this.maxSeries) {
      this.dropped++;
      if (this.overflow === undefined) {
        this.overflow = new Series(this.labelNames, this.labelNames.map(() => OVERFLOW_VALUE), this.durationBounds.length, this.sizeBounds.length, '', -1);
      }
      return this.overflow;
    }
    let map = perRoute;
    if (map === undefined) {
      map = new Map();
      this.byRoute.set(route, map);
    }
    const series = new Series(this.labelNames, values, this.durationBounds.length, this.sizeBounds.length, route, key);
    map.set(key, series);
    this.live++;
    return series;
  }

  /** Adds one observation to a series. `at` is `performance.now()` ms; `epochMs` only for exemplars. */
  observe(series: Series, seconds: number, requestBytes: number, responseBytes: number, at: number, traceId: string, spanId: string, epochMs: number): void {
    series.count++;
    series.lastSeen = at;
    if (seconds >= 0) {
      series.durationSum += seconds;
      const i = bucketIndex(this.durationBounds, seconds);
      series.durationCounts[i]++;
      if (traceId !== '' && this.exemplars) this.keepExemplar(series, i, seconds, traceId, spanId, epochMs);
    }
    series.requestBytesSum += requestBytes;
    series.requestSizeCounts[bucketIndex(this.sizeBounds, requestBytes)]++;
    series.responseBytesSum += responseBytes;
    series.responseSizeCounts[bucketIndex(this.sizeBounds, responseBytes)]++;
  }

  private keepExemplar(series: Series, bucket: number, seconds: number, traceId: string, spanId: string, epochMs: number): void {
    if (series.exemplarTrace === undefined) {
      const n = this.durationBounds.length + 1;
      series.exemplarTrace = new Array<string>(n).fill('');
      series.exemplarSpan = new Array<string>(n).fill('');
      series.exemplarValue = new Float64Array(n);
      series.exemplarTime = new Float64Array(n);
    }
    series.exemplarTrace[bucket] = traceId;
    (series.exemplarSpan as string[])[bucket] = spanId;
    (series.exemplarValue as Float64Array)[bucket] = seconds;
    (series.exemplarTime as Float64Array)[bucket] = epochMs / 1000;
  }

  /** Every live series, the overflow series last. */
  *all(): IterableIterator<Series> {
    for (const perRoute of this.byRoute.values()) yield* perRoute.values();
    if (this.overflow !== undefined) yield this.overflow;
  }

  /** Removes series last updated before `before` (`performance.now()` ms). Returns how many. */
  removeIdle(before: number): number {
    let removed = 0;
    for (const [route, perRoute] of this.byRoute) {
      for (const [key, series] of perRoute) {
        if (series.lastSeen < before) {
          perRoute.delete(key);
          this.live--;
          removed++;
          this.releaseExtras(series);
        }
      }
      if (perRoute.size === 0) this.byRoute.delete(route);
    }
    if (this.overflow !== undefined && this.overflow.lastSeen < before) {
      this.overflow = undefined;
      removed++;
    }
    return removed;
  }

  private releaseExtras(series: Series): void {
    for (let i = 0; i < this.extraRefs.length; i++) {
      const value = series.values[3 + i];
      const refs = this.extraRefs[i];
      const n = (refs.get(value) ?? 1) - 1;
      if (n <= 0) {
        refs.delete(value);
        this.extraGuards[i].release(value);
      } else refs.set(value, n);
    }
  }

  /** Forgets every series. */
  clear(): void {
    this.byRoute.clear();
    this.live = 0;
    this.overflow = undefined;
    for (const refs of this.extraRefs) refs.clear();
  }
}
