import { context, propagation, type TextMapSetter } from '@opentelemetry/api';

interface HeadersLike {
  set(name: string, value: string): void;
}

const headersSetter: TextMapSetter<HeadersLike> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/**
 * Writes the active trace context (`traceparent`, `tracestate`, `baggage`, or B3 headers, as
 * configured) into `headers` for a hand-made client, and returns them. Takes a plain object or a
 * `Headers`-like object with `set()`. Not needed for `http`, `https` or global `fetch`, which
 * `setupTracing` instruments.
 *
 * @example
 * ```ts
 * const headers = injectTraceHeaders({ 'content-type': 'application/json' });
 * await axios.post(url, body, { headers });
 * ```
 */
export function injectTraceHeaders<T extends object = Record<string, string>>(headers?: T): T {
  const carrier = (headers ?? {}) as T;
  if (typeof (carrier as Partial<HeadersLike>).set === 'function' && !(carrier instanceof Map)) {
    propagation.inject(context.active(), carrier as unknown as HeadersLike, headersSetter);
  } else {
    propagation.inject(context.active(), carrier);
  }
  return carrier;
}
