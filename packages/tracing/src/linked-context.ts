import type { Context } from '@opentelemetry/api';

/**
 * An OpenTelemetry `Context` that holds one key and points at its parent. The API's own context
 * copies the whole parent `Map` and makes three closures on every `setValue`; a request sets two
 * values (its exchange and its server span), so this keeps the per-request cost to two small
 * objects. Lookups walk the chain, which is a few links deep. Any `Context` may be its parent, and
 * `setValue` / `deleteValue` on it behave as on the API's contexts (a new context; the old one is
 * unchanged).
 *
 * @example
 * ```ts
 * const ctx = withContextValue(context.active(), EXCHANGE_KEY, ex);
 * context.with(trace.setSpan(ctx, span), next); // setSpan calls ctx.setValue: linked too
 * ```
 */
export class LinkedContext implements Context {
  private readonly parent: Context;
  private readonly key: symbol;
  private readonly value: unknown;

  constructor(parent: Context, key: symbol, value: unknown) {
    this.parent = parent;
    this.key = key;
    this.value = value;
  }

  getValue(key: symbol): unknown {
    return key === this.key ? this.value : this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new LinkedContext(this, key, value);
  }

  deleteValue(key: symbol): Context {
    return new LinkedContext(this, key, undefined);
  }
}

/**
 * `parent.setValue(key, value)` without copying the parent: the result is a `LinkedContext`.
 *
 * @example
 * ```ts
 * const ctx = withContextValue(context.active(), EXCHANGE_KEY, ex);
 * ```
 */
export function withContextValue(parent: Context, key: symbol, value: unknown): Context {
  return new LinkedContext(parent, key, value);
}
