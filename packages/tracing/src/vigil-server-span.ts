import { performance } from 'node:perf_hooks';
import {
  diag,
  SamplingDecision,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  INVALID_SPAN_CONTEXT,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
} from '@opentelemetry/api';
import { hrTimeDuration, isAttributeValue, isTimeInput, isTimeInputHrTime, isTracingSuppressed, millisToHrTime, sanitizeAttributes, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { IdGenerator, ReadableSpan, Sampler, SpanLimits, SpanProcessor, Span as SdkSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { Exchange } from '@vigil/core';
import { perfToHrTime } from './span-time';

/**
 * What vigil's server spans need from the SDK tracer that `setupTracing` made: its sampler, id
 * generator, limits, resource, scope and (multi) span processor. Read once, at setup, from the
 * tracer's fields; `undefined` when they are not there (another SDK version), and the server
 * middleware then starts its spans through `tracer.startSpan` as before.
 */
export interface SpanFactoryParts {
  sampler: Sampler;
  idGenerator: IdGenerator;
  limits: Required<Pick<SpanLimits, 'attributeCountLimit' | 'attributeValueLengthLimit' | 'eventCountLimit' | 'linkCountLimit' | 'attributePerEventCountLimit' | 'attributePerLinkCountLimit'>>;
  resource: Resource;
  scope: InstrumentationScope;
  processor: SpanProcessor;
}

/** A count limit as the SDK span applies it: none when unset; any number as given (0 or less keeps none). */
function countLimit(value: unknown): number {
  return typeof value === 'number' ? value : Infinity;
}

/**
 * Reads the parts of an SDK `Tracer` (sdk-trace 2.x) that starting a span uses.
 *
 * @example
 * ```ts
 * const parts = spanFactoryParts(provider.getTracer('@vigil/tracing'));
 * ```
 */
export function spanFactoryParts(tracer: unknown): SpanFactoryParts | undefined {
  const t = tracer as {
    _sampler?: Sampler;
    _idGenerator?: IdGenerator;
    _spanLimits?: SpanLimits;
    _resource?: Resource;
    _spanProcessor?: SpanProcessor;
    instrumentationScope?: InstrumentationScope;
  } | null;
  if (t === null || typeof t !== 'object') return undefined;
  const { _sampler: sampler, _idGenerator: idGenerator, _spanLimits: limits, _resource: resource, _spanProcessor: processor, instrumentationScope: scope } = t;
  if (typeof sampler?.shouldSample !== 'function' || typeof idGenerator?.generateSpanId !== 'function' || typeof idGenerator.generateTraceId !== 'function') return undefined;
  if (limits === undefined || resource === undefined || scope === undefined || typeof processor?.onStart !== 'function' || typeof processor.onEnd !== 'function') return undefined;
  return {
    sampler,
    idGenerator,
    limits: {
      attributeCountLimit: countLimit(limits.attributeCountLimit),
      // as the SDK span: unset is 0, and a limit of 0 or less truncates nothing (with a warning)
      attributeValueLengthLimit: typeof limits.attributeValueLengthLimit === 'number' ? limits.attributeValueLengthLimit : 0,
      eventCountLimit: countLimit(limits.eventCountLimit),
      linkCountLimit: countLimit(limits.linkCountLimit),
      attributePerEventCountLimit: countLimit(limits.attributePerEventCountLimit),
      attributePerLinkCountLimit: countLimit(limits.attributePerLinkCountLimit),
    },
    resource,
    scope,
    processor,
  };
}

const UNSET_STATUS: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET }) as SpanStatus;
const NOT_ENDED: HrTime = Object.freeze([0, 0]) as unknown as HrTime;
const NO_DURATION: HrTime = Object.freeze([-1, -1]) as unknown as HrTime;
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const NO_EVENTS: TimedEvent[] = Object.freeze([]) as unknown as TimedEvent[];
const NO_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes;

/** `http` or `https`, from the request's socket. */
export function urlScheme(ex: Exchange): string {
  return (ex.req.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http';
}

/**
 * A SERVER span as the SDK's `SpanImpl` makes it (the same `Span` and `ReadableSpan` contract,
 * limits, warnings, processors' `onStart` / `onEnding` / `onEnd`), made for the one span vigil
 * starts per request: it is one object, its request attributes are one object literal, its start
 * time is the exchange's, and what a span that records no events, links or status needs is
 * shared between spans (frozen) until it is set. Every other span (child spans, outgoing calls)
 * is the SDK's own.
 */
export class VigilServerSpan implements SdkSpan {
  readonly kind = SpanKind.SERVER;
  name: string;
  attributes: Attributes;
  links: Link[] = NO_LINKS;
  events: TimedEvent[] = NO_EVENTS;
  status: SpanStatus = UNSET_STATUS;
  readonly startTime: HrTime;
  endTime: HrTime = NOT_ENDED;
  readonly parentSpanContext: SpanContext | undefined;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  private readonly sc: SpanContext;
  private readonly parts: SpanFactoryParts;
  private attributeCount: number;
  private droppedAttributes = 0;
  private droppedEvents = 0;
  private droppedLinks = 0;
  private spanDuration: HrTime = NO_DURATION;
  private isEnded = false;

  constructor(parts: SpanFactoryParts, sc: SpanContext, name: string, parent: SpanContext | undefined, startTime: HrTime, attributes: Attributes, attributeCount: number) {
    this.parts = parts;
    this.sc = sc;
    this.name = name;
    this.parentSpanContext = parent;
    this.startTime = startTime;
    this.resource = parts.resource;
    this.instrumentationScope = parts.scope;
    this.attributes = attributes;
    this.attributeCount = attributeCount;
  }

  spanContext(): SpanContext {
    return this.sc;
  }

  get duration(): HrTime {
    return this.spanDuration;
  }

  get ended(): boolean {
    return this.isEnded;
  }

  get droppedAttributesCount(): number {
    return this.droppedAttributes;
  }

  get droppedEventsCount(): number {
    return this.droppedEvents;
  }

  get droppedLinksCount(): number {
    return this.droppedLinks;
  }

  isRecording(): boolean {
    return !this.isEnded;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (value === null || value === undefined || this.endedWarning()) return this;
    if (key.length === 0) {
      diag.warn(`Invalid attribute key: ${key}`);
      return this;
    }
    if (!isAttributeValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`);
      return this;
    }
    this.put(key, value);
    return this;
  }

  /**
   * Sets an attribute whose key and value are known to be valid (vigil's own), with the limits
   * applied as `setAttribute` applies them.
   */
  put(key: string, value: AttributeValue): void {
    const isNew = !Object.prototype.hasOwnProperty.call(this.attributes, key);
    if (isNew && this.attributeCount >= this.parts.limits.attributeCountLimit) {
      this.droppedAttributes++;
      return;
    }
    this.attributes[key] = this.truncate(value);
    if (isNew) this.attributeCount++;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      if (Object.prototype.hasOwnProperty.call(attributes, key)) this.setAttribute(key, attributes[key] as AttributeValue);
    }
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.endedWarning()) return this;
    const { eventCountLimit, attributePerEventCountLimit } = this.parts.limits;
    if (eventCountLimit === 0) {
      diag.warn('No events allowed.');
      this.droppedEvents++;
      return this;
    }
    if (this.events === NO_EVENTS) this.events = [];
    if (this.events.length >= eventCountLimit) {
      if (this.droppedEvents === 0) diag.debug('Dropping extra events.');
      this.events.shift();
      this.droppedEvents++;
    }
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
      attributesOrTime = undefined;
    }
    const { attributes, dropped } = this.limitedAttributes(sanitizeAttributes(attributesOrTime), attributePerEventCountLimit);
    this.events.push({ name, attributes, time: this.toHrTime(time), droppedAttributesCount: dropped });
    return this;
  }

  addLink(link: Link): this {
    if (this.endedWarning()) return this;
    const { linkCountLimit, attributePerLinkCountLimit } = this.parts.limits;
    if (linkCountLimit === 0) {
      this.droppedLinks++;
      return this;
    }
    if (this.links === NO_LINKS) this.links = [];
    if (this.links.length >= linkCountLimit) {
      if (this.droppedLinks === 0) diag.debug('Dropping extra links.');
      this.links.shift();
      this.droppedLinks++;
    }
    const { attributes, dropped } = this.limitedAttributes(sanitizeAttributes(link.attributes), attributePerLinkCountLimit);
    const processed: Link = { context: link.context };
    if (Object.keys(attributes).length > 0) processed.attributes = attributes;
    if (dropped > 0) processed.droppedAttributesCount = dropped;
    this.links.push(processed);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.endedWarning()) return this;
    if (status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    const next: SpanStatus = { code: status.code };
    if (status.code === SpanStatusCode.ERROR) {
      if (typeof status.message === 'string') next.message = status.message;
      else if (status.message !== null && status.message !== undefined) diag.warn(`Dropping invalid status.message of type '${typeof status.message}', expected 'string'`);
    }
    this.status = next;
    return this;
  }

  updateName(name: string): this {
    if (!this.endedWarning()) this.name = name;
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      if (exception.code) attributes['exception.type'] = exception.code.toString();
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time);
    else diag.warn(`Failed to record an exception ${String(exception)}`);
  }

  end(endTime?: TimeInput): void {
    if (this.isEnded) {
      diag.error(`${this.name} ${this.sc.traceId}-${this.sc.spanId} - You can only call end() on a span once.`);
      return;
    }
    let end = this.toHrTime(endTime);
    let duration = hrTimeDuration(this.startTime, end);
    if (duration[0] < 0) {
      diag.warn('Inconsistent start and end time, startTime > endTime. Setting span duration to 0ms.', this.startTime, end);
      end = [this.startTime[0], this.startTime[1]];
      duration = [0, 0];
    }
    this.endTime = end;
    this.spanDuration = duration;
    if (this.droppedEvents > 0) diag.warn(`Dropped ${this.droppedEvents} events because eventCountLimit reached`);
    if (this.droppedLinks > 0) diag.warn(`Dropped ${this.droppedLinks} links because linkCountLimit reached`);
    const processor = this.parts.processor;
    processor.onEnding?.(this);
    this.isEnded = true;
    processor.onEnd(this as ReadableSpan);
  }

  private endedWarning(): boolean {
    if (this.isEnded) {
      const message = `Cannot execute the operation on ended Span {traceId: ${this.sc.traceId}, spanId: ${this.sc.spanId}}`;
      diag.warn(message, new Error(`Operation attempted on ended Span {traceId: ${this.sc.traceId}, spanId: ${this.sc.spanId}}`));
    }
    return this.isEnded;
  }

  private truncate(value: AttributeValue): AttributeValue {
    const limit = this.parts.limits.attributeValueLengthLimit;
    if (!(limit > 0)) {
      diag.warn(`Attribute value limit must be positive, got ${limit}`);
      return value;
    }
    if (typeof value === 'string') return value.length <= limit ? value : value.substring(0, limit);
    if (Array.isArray(value) && limit !== Infinity) return value.map((v) => (typeof v === 'string' && v.length > limit ? v.substring(0, limit) : v)) as AttributeValue;
    return value;
  }

  private limitedAttributes(sanitized: Attributes, limit: number): { attributes: Attributes; dropped: number } {
    const attributes: Attributes = {};
    let count = 0;
    let dropped = 0;
    for (const key in sanitized) {
      if (!Object.prototype.hasOwnProperty.call(sanitized, key)) continue;
      if (count >= limit) {
        dropped++;
        continue;
      }
      attributes[key] = this.truncate(sanitized[key] as AttributeValue);
      count++;
    }
    return { attributes, dropped };
  }

  /** A time given to `end` or `addEvent` as the SDK reads it; none given is now. */
  private toHrTime(input: TimeInput | undefined): HrTime {
    if (input === undefined) return perfToHrTime(performance.now());
    if (typeof input === 'number') return input <= performance.now() ? perfToHrTime(input) : millisToHrTime(input);
    if (input instanceof Date) return millisToHrTime(input.getTime());
    if (isTimeInputHrTime(input)) return input;
    return perfToHrTime(performance.now());
  }
}

/**
 * Starts the request's SERVER span as the SDK's `Tracer.startSpan` does (suppressed tracing,
 * parent, ids, the sampler's decision and attributes, a non-recording span when dropped), as a
 * `VigilServerSpan` that starts with the request attributes (`http.request.method`, `url.path`,
 * `url.scheme`, `network.protocol.version`; a method the conventions do not know is `_OTHER`,
 * with `http.request.method_original`). `samplerAttributes` are what the sampler sees
 * (`undefined`: the built-in samplers, which read none).
 *
 * @example
 * ```ts
 * const span = startServerSpan(parts, ex, true, 'GET', propagation.extract(context.active(), ex.headers), undefined);
 * ```
 */
export function startServerSpan(parts: SpanFactoryParts, ex: Exchange, knownMethod: boolean, name: string, ctx: Context, samplerAttributes: Attributes | undefined): Span {
  if (isTracingSuppressed(ctx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  const parent = trace.getSpan(ctx)?.spanContext();
  const spanId = parts.idGenerator.generateSpanId();
  let traceId: string;
  let traceState: SpanContext['traceState'];
  let validParent: SpanContext | undefined;
  if (parent === undefined || !trace.isSpanContextValid(parent)) traceId = parts.idGenerator.generateTraceId();
  else {
    traceId = parent.traceId;
    traceState = parent.traceState;
    validParent = parent;
  }
  // the built-in samplers read neither attributes nor links: they get shared empty ones
  const result = samplerAttributes === undefined ? parts.sampler.shouldSample(ctx, traceId, name, SpanKind.SERVER, NO_ATTRIBUTES, NO_LINKS) : parts.sampler.shouldSample(ctx, traceId, name, SpanKind.SERVER, samplerAttributes, []);
  if (result.traceState !== undefined) traceState = result.traceState;
  const sampled = result.decision === SamplingDecision.RECORD_AND_SAMPLED;
  const sc: SpanContext = { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, traceState };
  if (result.decision === SamplingDecision.NOT_RECORD) return trace.wrapSpanContext(sc);
  const limits = parts.limits;
  const startTime = perfToHrTime(ex.startTime);
  const path = ex.path;
  let span: VigilServerSpan;
  if (knownMethod && limits.attributeCountLimit >= 4 && path.length <= limits.attributeValueLengthLimit) {
    const attributes: Attributes = { 'http.request.method': ex.method, 'url.path': path, 'url.scheme': urlScheme(ex), 'network.protocol.version': ex.req.httpVersion };
    span = new VigilServerSpan(parts, sc, name, validParent, startTime, attributes, 4);
  } else {
    span = new VigilServerSpan(parts, sc, name, validParent, startTime, {}, 0);
    span.put('http.request.method', knownMethod ? ex.method : '_OTHER');
    if (!knownMethod) span.put('http.request.method_original', ex.method);
    span.put('url.path', path);
    span.put('url.scheme', urlScheme(ex));
    span.put('network.protocol.version', ex.req.httpVersion);
  }
  if (result.attributes !== undefined) span.setAttributes(result.attributes);
  parts.processor.onStart(span, ctx);
  return span;
}
