/**
 * Error isolation: every user hook and sink runs through `safeRun`, which reports failures to one
 * handler instead of letting them reach the app.
 */

/**
 * Receives every error that observability code caught. `kind` names where it happened
 * (`sink`, `logging.customProps`, ...).
 *
 * @example
 * ```ts
 * const handler: ErrorHandler = (kind, err) => console.error('vigil', kind, err);
 * ```
 */
export type ErrorHandler = (kind: string, error: unknown) => void;

const warnedKinds = new Set<string>();

function warnOncePerKind(kind: string, error: unknown): void {
  if (warnedKinds.has(kind)) return;
  warnedKinds.add(kind);
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`vigil: ${kind} failed: ${message} (further ${kind} errors are not reported)`, {
    code: 'VIGIL_ISOLATED_ERROR',
  });
}

let handler: ErrorHandler = warnOncePerKind;

/**
 * Replaces the handler that receives errors thrown by sinks and user hooks. The default emits a
 * process warning once per kind. Pass `undefined` to restore the default.
 *
 * @example
 * ```ts
 * setErrorHandler((kind, err) => logger.warn({ err, kind }, 'observability hook failed'));
 * ```
 */
export function setErrorHandler(next: ErrorHandler | undefined): void {
  handler = next ?? warnOncePerKind;
}

/** Reports an error to the current handler; a handler that throws is ignored. */
export function reportError(kind: string, error: unknown): void {
  try {
    handler(kind, error);
  } catch {
    // the error handler itself failed: nothing more can be done without risking the app
  }
}

/**
 * Calls `fn(arg)` and returns its result; if it throws, reports the error under `kind` and returns
 * `undefined`. A returned promise that rejects is reported too.
 *
 * @example
 * ```ts
 * safeRun('metrics.sink', recordExchange, ex); // never throws into the request
 * ```
 */
export function safeRun<A, R>(kind: string, fn: (arg: A) => R, arg: A): R | undefined {
  try {
    const result = fn(arg);
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      (result as unknown as Promise<unknown>).then(undefined, (error: unknown) => reportError(kind, error));
    }
    return result;
  } catch (error) {
    reportError(kind, error);
    return undefined;
  }
}
