import { SpanKind, SpanStatusCode, type Context } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { recentEvents, type Exchange, type TraceSummary } from '@vigil/core';
import { dropSpan, EXCHANGE_KEY, isDropped, keepsQuietSpans } from './runtime';

/** Traces being collected at once, and spans kept per trace (bounded). */
const MAX_PENDING_TRACES = 512;
const MAX_SPANS_PER_TRACE = 64;

function isLocalRootServer(span: ReadableSpan): boolean {
  if (span.kind !== SpanKind.SERVER) return false;
  const parent = span.parentSpanContext;
  return parent === undefined || parent.isRemote === true;
}

function summarise(root: ReadableSpan, children: ReadableSpan[]): TraceSummary {
  const rootStart = hrTimeToMilliseconds(root.startTime);
  const spans: TraceSummary['spans'] = [];
  const all = children.length === 0 ? [root] : [root, ...children];
  for (const span of all) {
    const parent = span === root ? undefined : span.parentSpanContext;
    spans.push({
      spanId: span.spanContext().spanId,
      parentSpanId: parent?.spanId,
      name: span.name,
      offsetMs: hrTimeToMilliseconds(span.startTime) - rootStart,
      durationMs: hrTimeToMilliseconds(span.duration),
      error: span.status.code === SpanStatusCode.ERROR,
    });
  }
  const status = root.attributes['http.response.status_code'];
  const route = root.attributes['http.route'];
  return {
    traceId: root.spanContext().traceId,
    name: root.name,
    route: typeof route === 'string' ? route : '',
    status: typeof status === 'number' ? status : 0,
    error: root.status.code === SpanStatusCode.ERROR,
    durationMs: hrTimeToMilliseconds(root.duration),
    startEpochMs: rootStart,
    spans,
  };
}

/**
 * A span started inside a request already marked quiet (a health probe, and the outgoing calls of
 * its checks) goes where the request's own span goes: it is dropped with it, unless the tracing
 * middleware keeps quiet requests' spans (`traceQuiet`).
 */
function dropInsideQuiet(span: Span, parentContext: Context): void {
  const ex = parentContext.getValue(EXCHANGE_KEY) as Exchange | undefined;
  if (ex !== undefined && ex.quiet && !keepsQuietSpans(ex)) dropSpan(span);
}

interface PendingTrace {
  rootSpanId: string;
  spans: ReadableSpan[];
}

/**
 * vigil's span processor: drops spans marked by the server middleware (quiet exchanges), hands
 * the rest to the exporting processor, and, when summaries are on, collects the spans of each
 * local trace that starts with a SERVER span and pushes a `TraceSummary` into
 * `recentEvents.traces` when that root span ends. Collection is bounded (oldest traces are
 * forgotten first, and at most 64 spans are kept per trace).
 */
export class VigilSpanProcessor implements SpanProcessor {
  private readonly pending = new Map<string, PendingTrace>();

  private nextSummaryMs = 0;

  /**
   * @param exporting the processor that exports (batch or simple)
   * @param summaries whether to collect trace summaries at all
   * @param intervalMs at most one trace is collected per interval (errors are always summarised,
   *   with their root span at least), so summaries cost nothing for most requests under load
   */
  constructor(
    private readonly exporting: SpanProcessor,
    private readonly summaries: boolean,
    private readonly intervalMs: number,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    if (span.kind !== SpanKind.SERVER) dropInsideQuiet(span, parentContext);
    if (this.summaries && span.isRecording() && isLocalRootServer(span) && this.admit(span)) {
      if (this.pending.size >= MAX_PENDING_TRACES) {
        const oldest = this.pending.keys().next().value;
        if (oldest !== undefined) this.pending.delete(oldest);
      }
      const sc = span.spanContext();
      if (!this.pending.has(sc.traceId)) this.pending.set(sc.traceId, { rootSpanId: sc.spanId, spans: [] });
    }
    this.exporting.onStart(span, parentContext);
  }

  private admit(span: ReadableSpan): boolean {
    if (this.intervalMs <= 0) return true;
    const startMs = span.startTime[0] * 1000 + span.startTime[1] / 1e6;
    if (startMs < this.nextSummaryMs) return false;
    this.nextSummaryMs = startMs + this.intervalMs;
    return true;
  }

  onEnd(span: ReadableSpan): void {
    const dropped = isDropped(span);
    if (!dropped) this.exporting.onEnd(span);
    if (!this.summaries) return;
    const sc = span.spanContext();
    const collected = this.pending.get(sc.traceId);
    if (collected === undefined) {
      // not collected (over the rate): an error still gets a summary of its root span
      if (!dropped && span.status.code === SpanStatusCode.ERROR && isLocalRootServer(span)) recentEvents.traces.push(summarise(span, []));
      return;
    }
    if (sc.spanId === collected.rootSpanId) {
      this.pending.delete(sc.traceId);
      if (!dropped) recentEvents.traces.push(summarise(span, collected.spans));
    } else if (!dropped && collected.spans.length < MAX_SPANS_PER_TRACE) {
      collected.spans.push(span);
    }
  }

  forceFlush(): Promise<void> {
    return this.exporting.forceFlush();
  }

  shutdown(): Promise<void> {
    this.pending.clear();
    return this.exporting.shutdown();
  }
}
