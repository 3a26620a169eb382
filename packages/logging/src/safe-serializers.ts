import { reportError } from '@vigil/core';

/** A pino serializer. */
export type Serializer = (value: any) => unknown;

/** Longest error type name kept in a marker, in characters. */
const MAX_NAME_LENGTH = 100;

/** On a guarded serializer: it is one already (so a logger's guarded serializers are not wrapped twice). */
const kGuarded = Symbol('vigil.logging.guardedSerializer');

/**
 * The error's type (`TypeError`), never its message: a message may quote the value being
 * serialised (`JSON.parse` quotes its input), which may be a secret. The message goes to the
 * error handler instead.
 */
function errorType(error: unknown): string {
  let name: unknown;
  try {
    name = error instanceof Error ? error.name : undefined;
  } catch {
    name = undefined;
  }
  if (typeof name !== 'string' || name === '') return 'unknown error';
  return name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name;
}

/**
 * The value written in place of a field whose serializer threw: `"[serializer error: <type>]"`,
 * with the error's type (`TypeError`) and not its message, which may quote the value.
 *
 * @example
 * ```ts
 * serializerErrorMarker(new TypeError('bad')); // '[serializer error: TypeError]'
 * ```
 */
export function serializerErrorMarker(error: unknown): string {
  return `[serializer error: ${errorType(error)}]`;
}

/**
 * Wraps a serializer so that a throw never costs the whole line: the field is written as
 * `serializerErrorMarker(error)` and the core's error handler (kind `logging.serializers.<key>`)
 * gets an error that names the type and the field, with the original as its `cause` (its message,
 * which may quote the value, is not in the default warning).
 *
 * @example
 * ```ts
 * const safe = guardSerializer('user', (u) => ({ id: u.id }));
 * safe(undefined); // '[serializer error: TypeError]', reported as logging.serializers.user
 * ```
 */
export function guardSerializer(key: string, fn: Serializer): Serializer {
  if ((fn as unknown as Record<symbol, unknown>)[kGuarded] === true) return fn;
  const kind = `logging.serializers.${key}`;
  const guarded = function guardedSerializer(this: unknown, value: unknown): unknown {
    try {
      return fn.call(this, value);
    } catch (error) {
      // the message stays out of the default warning too (it may quote the value); the error is its cause
      reportError(kind, new Error(`${errorType(error)} thrown by the ${key} serializer (message withheld: it may quote the value; see cause)`, { cause: error }));
      return serializerErrorMarker(error);
    }
  };
  (guarded as unknown as Record<symbol, unknown>)[kGuarded] = true;
  return guarded;
}

/**
 * The serializers a child logger should use so that none of them can throw: `inherited` (the
 * parent logger's, which a child keeps) and `own` (the child's, which win), each guarded. Keys
 * whose value is not a function are kept as they are (pino ignores them).
 *
 * @example
 * ```ts
 * const serializers = guardedSerializers(logger[pino.symbols.serializersSym], options.serializers);
 * ```
 */
export function guardedSerializers(inherited: Record<string, unknown> | undefined, own: Record<string, unknown> | undefined): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  // for...in, as pino's child() copies them: a parent's serializers object may inherit some
  if (inherited !== undefined && inherited !== null) for (const key in inherited) merged[key] = inherited[key];
  if (own !== undefined) for (const key of Object.keys(own)) merged[key] = own[key];
  for (const key of Object.keys(merged)) {
    const fn = merged[key];
    if (typeof fn === 'function') merged[key] = guardSerializer(key, fn as Serializer);
  }
  return merged;
}
