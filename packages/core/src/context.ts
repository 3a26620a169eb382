import { AsyncLocalStorage } from 'node:async_hooks';
import type { ContextBackend, Exchange, TraceIds } from './types';

const storage = new AsyncLocalStorage<Exchange>();

const asyncLocalStorageBackend: ContextBackend = {
  run: (ex, fn) => storage.run(ex, fn),
  current: () => storage.getStore(),
};

let backend: ContextBackend = asyncLocalStorageBackend;

/**
 * Whether requests should run inside the request context. On Node 20 an AsyncLocalStorage turns
 * on promise hooks for the whole process, a measurable cost per request, so packages that never
 * read the context (metrics, health, dashboard) do not enter it unless something wants it: the
 * logging and tracing packages, `enableRequestContext()`, or the first `currentExchange()` call.
 */
let contextWanted = false;

/**
 * Makes every later request run inside its request context, even when only packages that do not
 * read it (metrics, health, dashboard) are installed. Logging and tracing turn it on themselves;
 * so does the first call to `currentExchange()`.
 *
 * @example
 * ```ts
 * enableRequestContext();
 * app.use(expressMetrics());
 * app.get('/', (req, res) => res.send(currentExchange()?.requestId));
 * ```
 */
export function enableRequestContext(): void {
  contextWanted = true;
}

/** `true` once something asked for the request context. */
export function requestContextEnabled(): boolean {
  return contextWanted;
}

/**
 * Replaces where the request context is kept. The tracing package calls this so that the
 * OpenTelemetry context manager's storage is the only AsyncLocalStorage in use. Pass `undefined`
 * to restore the core's own storage.
 *
 * @example
 * ```ts
 * setContextBackend({
 *   run: (ex, fn) => context.with(context.active().setValue(KEY, ex), fn),
 *   current: () => context.active().getValue(KEY) as Exchange | undefined,
 * });
 * ```
 */
export function setContextBackend(next: ContextBackend | undefined): void {
  backend = next ?? asyncLocalStorageBackend;
  if (next !== undefined) contextWanted = true;
}

/**
 * The exchange of the request being served, from anywhere inside it (across `await`, timers and
 * promise chains), or `undefined` outside a request.
 *
 * @example
 * ```ts
 * async function loadUser(id: string) {
 *   const ex = currentExchange();
 *   console.log('loading', id, 'for request', ex?.requestId);
 * }
 * ```
 */
export function currentExchange(): Exchange | undefined {
  contextWanted = true;
  return backend.current();
}

/**
 * Runs `fn` inside the request context of `ex`. When the current context already is `ex`, `fn` is
 * called directly, so stacking packages enters the context once.
 *
 * @example
 * ```ts
 * app.use((req, res, next) => runInExchange(observeExpress(req, res), next));
 * ```
 */
export function runInExchange<T>(ex: Exchange, fn: () => T): T {
  if (backend.current() === ex) return fn();
  return backend.run(ex, fn);
}

/**
 * Continues an Express request: inside its context when the request context is wanted (see
 * `enableRequestContext`), otherwise by calling `next()` directly. For packages that do not read
 * the context themselves.
 *
 * @example
 * ```ts
 * app.use((req, res, next) => continueExpress(observeExpress(req, res), next));
 * ```
 */
export function continueExpress(ex: Exchange, next: () => void): void {
  if (contextWanted) runInExchange(ex, next);
  else next();
}

type TraceIdsReader = () => TraceIds | undefined;

function exchangeTraceIds(): TraceIds | undefined {
  const ex = backend.current();
  return ex !== undefined && ex.traceId !== '' ? { traceId: ex.traceId, spanId: ex.spanId } : undefined;
}

let traceIdsReader: TraceIdsReader = exchangeTraceIds;

/**
 * Lets the tracing package tell the core how to read the active span's ids (a child span inside a
 * handler, not only the request span). Pass `undefined` to restore the default, which reads the
 * current exchange.
 *
 * @example
 * ```ts
 * setTraceIdsReader(() => { const s = trace.getActiveSpan()?.spanContext(); return s && { traceId: s.traceId, spanId: s.spanId }; });
 * ```
 */
export function setTraceIdsReader(reader: TraceIdsReader | undefined): void {
  traceIdsReader = reader ?? exchangeTraceIds;
}

/**
 * Trace and span id of the active span, if tracing is on and a span is active.
 *
 * @example
 * ```ts
 * logger.info({ ...activeTraceIds() }, 'charging card');
 * ```
 */
export function activeTraceIds(): TraceIds | undefined {
  return traceIdsReader();
}
