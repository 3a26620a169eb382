import {
  createNoopMeter,
  type Attributes,
  type Counter,
  type Meter,
  type MeterProvider,
  type ObservableCallback,
  type ObservableResult,
  type ObservableUpDownCounter,
} from '@opentelemetry/api';
import type { TracingStats } from './types';

const PROCESSED = 'otel.sdk.processor.span.processed';
const QUEUE_SIZE = 'otel.sdk.processor.span.queue.size';
const QUEUE_CAPACITY = 'otel.sdk.processor.span.queue.capacity';

/**
 * Counts what the span processor did, through the SDK's own self-observability hook
 * (`selfObsMeterProvider`): the processor reports processed spans (with `error.type=queue_full`
 * for drops, or the export error's name) and its queue size; this meter provider keeps the
 * numbers instead of exporting them. Nothing is read per request.
 */
export class ExportStats {
  private exported = 0;
  private dropped = 0;
  private failed = 0;
  private capacity = 0;
  private readonly queueCallbacks: ObservableCallback[] = [];

  /** Meter provider to give the span processor. */
  readonly meterProvider: MeterProvider;

  constructor() {
    const noop = createNoopMeter();
    const processed: Counter = {
      add: (value: number, attributes?: Attributes) => {
        const type = attributes?.['error.type'];
        if (type === undefined) this.exported += value;
        else if (type === 'queue_full') this.dropped += value;
        else this.failed += value;
      },
    };
    const capacity: Counter = {
      add: (value: number) => {
        this.capacity += value;
      },
    };
    const queueSize = {
      addCallback: (cb: ObservableCallback) => {
        this.queueCallbacks.push(cb);
      },
      removeCallback: (cb: ObservableCallback) => {
        const at = this.queueCallbacks.indexOf(cb);
        if (at >= 0) this.queueCallbacks.splice(at, 1);
      },
    } as ObservableUpDownCounter;
    const meter: Meter = Object.assign(Object.create(noop) as Meter, {
      createCounter: (name: string) => (name === PROCESSED ? processed : noop.createCounter(name)),
      createUpDownCounter: (name: string) => (name === QUEUE_CAPACITY ? capacity : noop.createUpDownCounter(name)),
      createObservableUpDownCounter: (name: string) => (name === QUEUE_SIZE ? queueSize : noop.createObservableUpDownCounter(name)),
    });
    this.meterProvider = { getMeter: () => meter };
  }

  /** Current counters. */
  snapshot(): TracingStats {
    let queued = 0;
    const result: ObservableResult = {
      observe: (value: number) => {
        queued += value;
      },
    };
    for (const cb of this.queueCallbacks) {
      try {
        void cb(result);
      } catch {
        // a failing callback leaves the queue size unknown (0)
      }
    }
    return {
      exportedSpans: this.exported,
      droppedSpans: this.dropped,
      failedSpans: this.failed,
      queuedSpans: queued,
      queueCapacity: this.capacity,
    };
  }
}
