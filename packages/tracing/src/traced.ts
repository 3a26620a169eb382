import { SpanStatusCode, type Span, type SpanOptions } from '@opentelemetry/api';
import { vigilTracer } from './runtime';
import type { TracedFunction, TracedOptions } from './types';

function spanOptions(options: TracedOptions | undefined): SpanOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new TypeError('vigil: traced options must be an object');
  const out: SpanOptions = {};
  if (options.attributes !== undefined) out.attributes = options.attributes;
  if (options.kind !== undefined) out.kind = options.kind;
  return out;
}

function fail(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  else span.recordException(String(error));
  span.setStatus(error instanceof Error ? { code: SpanStatusCode.ERROR, message: error.message } : { code: SpanStatusCode.ERROR });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

function runInSpan<T>(span: Span, fn: TracedFunction<T>): T {
  let result: T;
  try {
    result = fn(span);
  } catch (error) {
    fail(span, error);
    span.end();
    throw error;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        fail(span, error);
        span.end();
        throw error;
      },
    ) as T;
  }
  span.end();
  return result;
}

/**
 * Runs `fn` inside a new child span of the active span (the request's span inside a request),
 * ends it when `fn` returns or its promise settles, and records a thrown or rejected error
 * (exception event, ERROR status) before rethrowing it unchanged. Anything `fn` does (logs,
 * outgoing calls, nested `traced`) happens inside the span.
 *
 * @example
 * ```ts
 * const order = await traced('create order', async (span) => {
 *   span.setAttribute('order.items', items.length);
 *   return db.insert(items);
 * }, { attributes: { 'order.channel': 'web' } });
 * ```
 */
export function traced<T>(name: string, fn: TracedFunction<T>, options?: TracedOptions): T {
  if (typeof name !== 'string' || name === '') throw new TypeError('vigil: traced needs a span name');
  if (typeof fn !== 'function') throw new TypeError('vigil: traced needs a function');
  return vigilTracer().startActiveSpan(name, spanOptions(options), (span) => runInSpan(span, fn));
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/** Decorator accepted in both forms: TypeScript 5 standard decorators and `experimentalDecorators`. */
export interface TracedDecorator {
  <This, Args extends unknown[], R>(
    value: (this: This, ...args: Args) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
  ): (this: This, ...args: Args) => R;
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

/** `method` run inside a child span named by `nameOf()` (read per call: a name may be settled after wrapping). */
function wrap(method: AnyMethod, nameOf: () => string, options: TracedOptions | undefined): AnyMethod {
  const opts = spanOptions(options);
  return function tracedMethod(this: unknown, ...args: unknown[]): unknown {
    return vigilTracer().startActiveSpan(nameOf(), opts, (span) => runInSpan(span, () => method.apply(this, args)));
  };
}

/** The name of a class, given the class itself or its prototype. */
function className(owner: unknown): string {
  const name = typeof owner === 'function' ? owner.name : (owner as { constructor?: { name?: string } } | null | undefined)?.constructor?.name;
  return name || 'anonymous';
}

/**
 * `Class.method` for the class that declares `method` as `key`: the first object holding it, up
 * the prototype chain of `self` (an instance, or the class for a static method), else `self`'s class.
 */
function ownerLabel(self: unknown, key: string | symbol, method: AnyMethod): string {
  for (let o: unknown = self; o !== null && o !== undefined; o = Object.getPrototypeOf(o)) {
    if (Object.getOwnPropertyDescriptor(o, key)?.value === method) return `${className(o)}.${String(key)}`;
  }
  return `${className(self)}.${String(key)}`;
}

/**
 * `wrap` for a standard-decorated method named by default: standard decorators do not see the
 * class, so the name `Class.method` is found once, by an initializer, when the class is defined
 * (static method) or first instantiated (instance method).
 */
function wrapNamedByOwner(method: AnyMethod, context: ClassMethodDecoratorContext, options: TracedOptions | undefined): AnyMethod {
  const key = context.name;
  const fallback = String(key);
  let name: string | undefined;
  const tracedMethod = wrap(method, () => name ?? fallback, options);
  context.addInitializer(function nameTracedMethod(this: unknown): void {
    name ??= ownerLabel(this, key, tracedMethod);
  });
  return tracedMethod;
}

/**
 * Method decorator: every call runs inside a child span named `name` (default
 * `ClassName.method`), as `traced` does. Works with TypeScript 5 standard decorators and with
 * `experimentalDecorators`.
 *
 * @example
 * ```ts
 * class PaymentService {
 *   @Traced('process payment')
 *   async charge(orderId: string, cents: number) { return gateway.charge(orderId, cents); }
 * }
 * ```
 */
export function Traced(name?: string, options?: TracedOptions): TracedDecorator {
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw new TypeError('vigil: Traced name must be a non-empty string');
  spanOptions(options);
  function decorator(target: unknown, ctx: unknown, descriptor?: PropertyDescriptor): unknown {
    if (ctx !== null && typeof ctx === 'object' && (ctx as { kind?: unknown }).kind !== undefined) {
      const context = ctx as ClassMethodDecoratorContext;
      if (context.kind !== 'method' || typeof target !== 'function') throw new TypeError('vigil: @Traced decorates methods only');
      return name === undefined ? wrapNamedByOwner(target as AnyMethod, context, options) : wrap(target as AnyMethod, () => name, options);
    }
    if (descriptor === undefined || typeof descriptor.value !== 'function') throw new TypeError('vigil: @Traced decorates methods only');
    const label = name ?? `${className(target)}.${String(ctx)}`;
    descriptor.value = wrap(descriptor.value as AnyMethod, () => label, options);
    return descriptor;
  }
  return decorator as TracedDecorator;
}
