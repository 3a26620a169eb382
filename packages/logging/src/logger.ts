import pino, { type DestinationStream, type Logger } from 'pino';
import { activeTraceIds, currentExchange, type Exchange } from '@vigil/core';
import { LogDestination } from './log-destination';
import { noteLogger } from './package-info';
import { serializeError, serializeRequest, serializeResponse, maskHeaders } from './secrets';
import type { CreateLoggerOptions } from './types';

/** Set on loggers made by `createLogger`: their line format is known, so access lines can be written directly. */
export const kVigilFormat = Symbol('vigil.logging.format');
/** Set on a request's child logger: the exchange it is bound to (inherited by its own children). */
export const kBoundExchange = Symbol('vigil.logging.boundExchange');
/** Set on the access-line logger: the mixin adds nothing (the line carries its own ids). */
export const kNoMixin = Symbol('vigil.logging.noMixin');

/** What `createLogger` knows about its line format. */
export interface VigilFormat {
  /** `true` when no user serializer, redaction or hook changes lines: access lines may skip pino. */
  readonly plain: boolean;
  readonly destination: LogDestination;
  /** The logger `createLogger` returned (children share its serializers unless given their own). */
  readonly root: Logger;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

const NOTHING: Record<string, never> = Object.freeze({}) as Record<string, never>;

function isoTimestamp(): string {
  return `,"timestamp":"${new Date().toISOString()}"`;
}

function levelAsWord(label: string): { level: string } {
  return { level: label };
}

/**
 * Adds `request_id` (when the line is written during a request by a logger not already bound to
 * it) and `trace_id` / `span_id` of the active span. Reads the core's context; patches nothing.
 */
function requestMixin(_merge: object, _level: number, logger: Logger): object {
  const holder = logger as unknown as Record<symbol, unknown>;
  if (holder[kNoMixin] === true) return NOTHING;
  const bound = holder[kBoundExchange] as Exchange | undefined;
  const ex = currentExchange();
  const ids = activeTraceIds();
  if (bound === undefined) {
    if (ex === undefined) return ids === undefined ? NOTHING : { trace_id: ids.traceId, span_id: ids.spanId };
    return ids === undefined ? { request_id: ex.requestId } : { request_id: ex.requestId, trace_id: ids.traceId, span_id: ids.spanId };
  }
  if (ids !== undefined && (ex === bound || ex === undefined)) return { trace_id: ids.traceId, span_id: ids.spanId };
  if (bound.traceId !== '') return { trace_id: bound.traceId, span_id: bound.spanId };
  return NOTHING;
}

function mergeMixin(merge: object, mixin: object): object {
  return mixin === NOTHING ? merge : Object.assign(mixin, merge);
}

function defaultLevel(): string {
  const env = process.env.LOG_LEVEL;
  return env !== undefined && LEVELS.has(env) ? env : 'info';
}

/**
 * Creates a pino logger whose lines carry `timestamp` (ISO 8601), `level` as a word, `service`,
 * `message` and the fields passed. A line written while a request is served, through this logger
 * or any child, carries `request_id`, and `trace_id` / `span_id` when tracing is on (a pino mixin
 * reading the core's request context). Errors serialise with `type`, `message` and `stack`;
 * `req`, `res` and `headers` fields are written with secrets masked. Warn and error lines are also
 * kept in the core's `recentEvents.logs` ring for the dashboard.
 *
 * `logger.flush()` also flushes the transports (bounded by `flushTimeoutMs`) and returns a promise
 * (it still takes pino's callback), so a graceful shutdown can wait for it:
 * `gracefulShutdown(server, health, { onShutdown: [() => logger.flush()] })`.
 *
 * @example
 * ```ts
 * import { createLogger, elasticsearchTransport } from '@vigil/logging';
 *
 * const logger = createLogger({
 *   service: 'order-service',
 *   transports: [elasticsearchTransport({ node: 'http://localhost:9200' })],
 * });
 * logger.info({ user_id: 123, order_id: 'ORD-456', total: 99.99 }, 'Order created');
 * logger.error({ err, order_id: 'ORD-456' }, 'Order processing failed');
 * // {"level":"info","timestamp":"2026-11-25T10:00:00.000Z","service":"order-service","user_id":123,...,"message":"Order created"}
 * ```
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  if (options === null || typeof options !== 'object') throw new TypeError('@vigil/logging: createLogger needs options with a service name');
  const { service } = options;
  if (typeof service !== 'string' || service.trim() === '') {
    throw new TypeError(`@vigil/logging: createLogger needs a non-empty "service" string, got ${JSON.stringify(service)}`);
  }
  const level = options.level ?? defaultLevel();
  if (!LEVELS.has(level)) {
    throw new TypeError(`@vigil/logging: level must be one of ${[...LEVELS].join(', ')}, got ${JSON.stringify(level)}`);
  }
  if (options.base !== undefined && (options.base === null || typeof options.base !== 'object')) {
    throw new TypeError('@vigil/logging: base must be an object of fields');
  }
  const transports = options.transports ?? [];
  if (!Array.isArray(transports) || transports.some((t) => t === null || typeof t !== 'object' || typeof t.write !== 'function')) {
    throw new TypeError('@vigil/logging: transports must be an array of objects with write(line)');
  }
  if (options.serializers !== undefined) {
    for (const [key, fn] of Object.entries(options.serializers)) {
      if (typeof fn !== 'function') throw new TypeError(`@vigil/logging: serializer "${key}" must be a function`);
    }
  }
  const flushTimeoutMs = options.flushTimeoutMs ?? 5000;
  if (!(typeof flushTimeoutMs === 'number' && flushTimeoutMs >= 0)) throw new TypeError('@vigil/logging: flushTimeoutMs must be a number ≥ 0');

  const primary = (options.destination ?? pino.destination({ dest: 1, sync: false })) as DestinationStream;
  if (primary === null || typeof primary !== 'object' || typeof primary.write !== 'function') {
    throw new TypeError('@vigil/logging: destination must be a stream with write(line)');
  }
  const destination = new LogDestination(primary, transports, options.recentEvents !== false, flushTimeoutMs);
  const logger = pino(
    {
      level,
      messageKey: 'message',
      errorKey: 'err',
      base: { service, ...options.base },
      timestamp: isoTimestamp,
      formatters: { level: levelAsWord },
      mixin: requestMixin,
      mixinMergeStrategy: mergeMixin,
      serializers: {
        err: serializeError,
        error: serializeError,
        req: serializeRequest,
        res: serializeResponse,
        headers: (h: Record<string, string>) => maskHeaders(h),
        ...options.serializers,
      },
      redact: options.redact,
    },
    destination,
  );
  const format: VigilFormat = { plain: options.redact === undefined && options.serializers === undefined, destination, root: logger };
  (logger as unknown as Record<symbol, unknown>)[kVigilFormat] = format;
  // pino's flush takes a callback; this one also returns a promise, so `onShutdown: () => logger.flush()` waits
  const pinoFlush = logger.flush;
  logger.flush = function flush(cb?: (err?: Error) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      pinoFlush.call(logger, (err?: Error) => {
        if (typeof cb === 'function') cb(err);
        resolve();
      });
    });
  } as unknown as Logger['flush'];
  noteLogger(service, transports);
  return logger;
}

/**
 * The request's child logger, created on first use and kept on the exchange: it is bound to
 * `request_id`, so lines written outside the request context (a callback a library lost the
 * context in) still carry it.
 */
export function requestLogger(base: Logger, ex: Exchange): Logger {
  const existing = ex.logger as Logger | undefined;
  if (existing !== undefined) return existing;
  const child = base.child({ request_id: ex.requestId });
  (child as unknown as Record<symbol, unknown>)[kBoundExchange] = ex;
  ex.logger = child;
  return child;
}

/** The format a logger was made with, when `createLogger` made it (or an ancestor of it). */
export function vigilFormat(logger: Logger): VigilFormat | undefined {
  return (logger as unknown as Record<symbol, VigilFormat | undefined>)[kVigilFormat];
}
