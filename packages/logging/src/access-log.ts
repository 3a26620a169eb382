import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import { compilePathFilter, findExchange, isValidRequestId, reportError, requestIdHeader, responseHeader, responseHeadersSent, setResponseHeader, type Exchange, type PathFilter, type PathMatcher } from '@vigil/core';
import type { LogDestination } from './log-destination';
import { createLogger, kNoMixin, requestLogger, vigilFormat } from './logger';
import { accessCounters, ensureRegistered } from './package-info';
import { isoTime, quote } from './json-text';
import { maskHeaders, maskUrl, serializeError } from './secrets';
import { guardedSerializers } from './safe-serializers';
import type { AccessLevel, LoggingOptions } from './types';

const { chindingsSym, streamSym, serializersSym, stringifiersSym } = pino.symbols;

type Symbolic = Record<symbol, unknown>;

const LEVEL_NAMES = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

function assertFunction(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`@vigil/logging: ${name} must be a function`);
}

function assertStrings(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new TypeError(`@vigil/logging: ${name} must be an array of non-empty strings`);
  }
  return value as string[];
}

/** `ignorePaths` and `autoLogging.ignorePaths`, each checked under its own name, as one filter. */
function ignorePathFilter(own: readonly PathMatcher[] | undefined, nested: readonly PathMatcher[] | undefined, framework: string): PathFilter | undefined {
  const kind = 'logging.ignorePaths';
  const first = compilePathFilter(own, `${framework}Logging ignorePaths`, kind);
  const second = compilePathFilter(nested, `${framework}Logging autoLogging.ignorePaths`, kind);
  if (first === undefined || second === undefined) return first ?? second;
  return compilePathFilter([...(own as PathMatcher[]), ...(nested as PathMatcher[])], `${framework}Logging ignorePaths`, kind);
}

function headerNames(value: unknown, name: string): string[] | undefined {
  const names = assertStrings(value, name);
  return names.length === 0 ? undefined : names.map((v) => v.toLowerCase());
}

function defaultLevel(ex: Exchange): AccessLevel {
  if (ex.outcome === 'error' || ex.outcome === 'timeout' || ex.status >= 500) return 'error';
  return ex.status >= 400 ? 'warn' : 'info';
}

function defaultMessage(ex: Exchange, route: string): string {
  switch (ex.outcome) {
    case 'aborted':
      return `${ex.method} ${route} aborted by the client (${ex.status})`;
    case 'timeout':
      return `${ex.method} ${route} timed out (${ex.status})`;
    case 'error':
      return `${ex.method} ${route} ${ex.status} failed`;
    default:
      return `${ex.method} ${route} ${ex.status}`;
  }
}

/**
 * On an exchange: the access log whose middleware saw it, for the `log` getter. Kept on the
 * exchange (one hidden class for every request) rather than on `req`, which Express gives a new
 * hidden class per request, making any property added to it slow.
 */
const kAccessLog = Symbol('vigil.logging.accessLog');

/** `req.log` / `ctx.log`: both holders carry the Node response as `res`. */
function getRequestLog(this: { res?: ServerResponse }): Logger | undefined {
  const res = this.res;
  const ex = res === undefined || res === null ? undefined : findExchange(res);
  if (ex === undefined) return undefined;
  const access = (ex as unknown as Symbolic)[kAccessLog] as AccessLog | undefined;
  return access === undefined ? undefined : requestLogger(access.logger, ex);
}

function setRequestLog(this: object, value: unknown): void {
  // someone assigns req.log (pino-http, koa-pino-logger, a test): keep their value on this holder
  Object.defineProperty(this, 'log', { value, writable: true, configurable: true, enumerable: true });
}

/** The one `log` accessor, shared by every prototype it is installed on. */
const LOG_ACCESSOR: PropertyDescriptor = { configurable: true, enumerable: false, get: getRequestLog, set: setRequestLog };

/** Installs the `log` accessor on `host` unless it holds a `log` of its own already; `true` when it is there. */
function installLogAccessor(host: object): boolean {
  const existing = Object.getOwnPropertyDescriptor(host, 'log');
  if (existing !== undefined) return existing.get === getRequestLog;
  if (!Object.isExtensible(host)) return false;
  Object.defineProperty(host, 'log', LOG_ACCESSOR);
  return true;
}

/**
 * The access-log engine shared by the Express and Koa adapters: options normalised once, hot-path
 * branches chosen at construction, one line per completed exchange written from its end sink.
 *
 * When the logger comes from `createLogger` and no serializer, redaction or custom props change
 * the line, the line is built once as a string and handed to the logger's destination (no pino
 * call, no intermediate object). Otherwise it goes through pino with the same fields.
 */
export class AccessLog {
  /** The logger `req.log` / `ctx.log` children come from. */
  readonly logger: Logger;
  /** Registered with `ex.onEnd` for each request that gets an access line. */
  readonly sink: (ex: Exchange) => void;
  private readonly accessLogger: Logger;
  private readonly fastDestination: LogDestination | undefined;
  private readonly enabled: boolean;
  private readonly ignore: ((req: IncomingMessage) => boolean) | undefined;
  private readonly ignorePath: PathFilter | undefined;
  private readonly genReqId: LoggingOptions['genReqId'];
  private readonly customLogLevel: LoggingOptions['customLogLevel'];
  private readonly customSuccessMessage: LoggingOptions['customSuccessMessage'];
  private readonly customErrorMessage: LoggingOptions['customErrorMessage'];
  private readonly customProps: LoggingOptions['customProps'];
  private readonly withReq: boolean;
  private readonly withRes: boolean;
  private readonly requestHeaders: string[] | undefined;
  private readonly responseHeaders: string[] | undefined;
  private readonly logQuiet: boolean;
  private readonly maxPathLength: number;
  private readonly accessorHost: (proto: object) => object | undefined;
  /** The holder prototype already known to carry the `log` accessor. */
  private lastProto: object | undefined = undefined;

  /**
   * @param accessorHost picks, from a holder's prototype, where the `log` accessor is installed
   */
  constructor(options: LoggingOptions | undefined, framework: string, accessorHost: (proto: object) => object | undefined) {
    const o = options ?? {};
    if (o === null || typeof o !== 'object') throw new TypeError(`@vigil/logging: ${framework}Logging options must be an object`);
    if (o.logger !== undefined && (o.logger === null || typeof (o.logger as Logger).child !== 'function' || typeof (o.logger as Logger).info !== 'function')) {
      throw new TypeError('@vigil/logging: logger must be a pino logger (for example from createLogger)');
    }
    for (const name of ['genReqId', 'customLogLevel', 'customSuccessMessage', 'customErrorMessage', 'customProps'] as const) assertFunction(o[name], name);
    if (o.level !== undefined && !LEVEL_NAMES.has(o.level)) throw new TypeError(`@vigil/logging: level must be a pino level name, got ${JSON.stringify(o.level)}`);
    if (o.serializers !== undefined) {
      if (o.serializers === null || typeof o.serializers !== 'object') throw new TypeError('@vigil/logging: serializers must be an object of functions');
      for (const [key, fn] of Object.entries(o.serializers)) assertFunction(fn, `serializers.${key}`);
    }
    const auto = o.autoLogging ?? true;
    if (typeof auto !== 'boolean' && (auto === null || typeof auto !== 'object')) throw new TypeError('@vigil/logging: autoLogging must be a boolean or { ignore }');
    const ignore = typeof auto === 'object' ? auto.ignore : undefined;
    assertFunction(ignore, 'autoLogging.ignore');
    const ignorePath = ignorePathFilter(o.ignorePaths, typeof auto === 'object' ? auto.ignorePaths : undefined, framework);
    const maxPathLength = o.maxPathLength ?? 2048;
    if (!Number.isInteger(maxPathLength) || maxPathLength < 1) throw new TypeError('@vigil/logging: maxPathLength must be a positive integer');

    this.logger = o.logger ?? createLogger({ service: o.service ?? process.env.npm_package_name ?? 'app', level: o.level });
    this.enabled = auto !== false;
    this.ignore = ignore;
    this.ignorePath = ignorePath;
    this.genReqId = o.genReqId;
    this.customLogLevel = o.customLogLevel;
    this.customSuccessMessage = o.customSuccessMessage;
    this.customErrorMessage = o.customErrorMessage;
    this.customProps = o.customProps;
    this.withReq = typeof o.serializers?.req === 'function';
    this.withRes = typeof o.serializers?.res === 'function';
    this.requestHeaders = headerNames(o.requestHeaders, 'requestHeaders');
    this.responseHeaders = headerNames(o.responseHeaders, 'responseHeaders');
    this.logQuiet = o.logQuiet === true;
    this.maxPathLength = maxPathLength;
    this.accessorHost = accessorHost;

    const childOptions: pino.ChildLoggerOptions = {};
    // every serializer the access line goes through (the logger's and these) is guarded: one that
    // throws costs its field (written as a marker), never the line
    childOptions.serializers = guardedSerializers((this.logger as unknown as Symbolic)[serializersSym] as Record<string, unknown> | undefined, o.serializers) as pino.ChildLoggerOptions['serializers'];
    if (o.redact !== undefined) childOptions.redact = o.redact;
    this.accessLogger = this.logger.child({}, childOptions);
    (this.accessLogger as unknown as Symbolic)[kNoMixin] = true;
    this.fastDestination = this.pickFastDestination(o);
    this.sink = (ex) => this.write(ex);
    ensureRegistered();
  }

  /** The logger's own destination when access lines may be written straight to it. */
  private pickFastDestination(o: LoggingOptions): LogDestination | undefined {
    if (o.serializers !== undefined || o.redact !== undefined || o.customProps !== undefined) return undefined;
    const format = vigilFormat(this.logger);
    if (format === undefined || !format.plain) return undefined;
    const logger = this.logger as unknown as Symbolic;
    const root = format.root as unknown as Symbolic;
    if (logger[streamSym] !== format.destination) return undefined;
    if (logger[serializersSym] !== root[serializersSym] || logger[stringifiersSym] !== root[stringifiersSym]) return undefined;
    return format.destination;
  }

  /** Per request, at the start: request id override, and the end sink unless the request is ignored. */
  begin(ex: Exchange): void {
    // the same middleware mounted again (app and router): one line per request still
    if ((ex as unknown as Symbolic)[kAccessLog] === this) return;
    if (this.genReqId !== undefined) this.applyGenReqId(ex);
    if (!this.enabled) return;
    if (this.ignorePath !== undefined && this.ignorePath(ex.path)) {
      accessCounters.ignoredRequests++;
      return;
    }
    if (this.ignore !== undefined) {
      let skip = false;
      try {
        skip = this.ignore(ex.req) === true;
      } catch (error) {
        reportError('logging.autoLogging.ignore', error);
      }
      if (skip) {
        accessCounters.ignoredRequests++;
        return;
      }
    }
    ex.onEnd(this.sink);
  }

  private applyGenReqId(ex: Exchange): void {
    let id: unknown;
    try {
      id = this.genReqId?.(ex.req, ex.res);
    } catch (error) {
      reportError('logging.genReqId', error);
      return;
    }
    if (id === ex.requestId || !isValidRequestId(id)) return;
    const previous = ex.requestId;
    ex.requestId = id;
    // re-echo the new id where the core echoed the old one (the configured header, if any)
    const res = ex.res;
    const header = requestIdHeader();
    if (!responseHeadersSent(res) && responseHeader(res, header) === previous) setResponseHeader(res, header, id);
  }

  /**
   * Makes `holder.log` (Express `req`, Koa `ctx`) answer with the request's child logger, made on
   * first read. The getter lives on a prototype, installed once; per request only this access log
   * is noted on the exchange. Where no suitable prototype exists, the getter is defined on the
   * holder itself.
   */
  attach(holder: object, ex: Exchange): void {
    (ex as unknown as Symbolic)[kAccessLog] = this;
    const proto = Object.getPrototypeOf(holder) as object | null;
    if (proto === this.lastProto) return;
    const host = proto === null ? undefined : this.accessorHost(proto);
    if (host !== undefined && installLogAccessor(host)) {
      this.lastProto = proto as object;
      return;
    }
    Object.defineProperty(holder, 'log', LOG_ACCESSOR);
  }

  private level(ex: Exchange): AccessLevel {
    if (this.customLogLevel === undefined) return defaultLevel(ex);
    try {
      const level = this.customLogLevel(ex.req, ex.res, ex.error);
      if (typeof level === 'string' && LEVEL_NAMES.has(level)) return level;
    } catch (error) {
      reportError('logging.customLogLevel', error);
    }
    return defaultLevel(ex);
  }

  private message(ex: Exchange, route: string): string {
    const failed = ex.outcome !== 'ok';
    const hook = failed ? this.customErrorMessage : this.customSuccessMessage;
    if (hook !== undefined) {
      try {
        const text = failed
          ? (this.customErrorMessage as NonNullable<LoggingOptions['customErrorMessage']>)(ex.req, ex.res, ex.error)
          : (this.customSuccessMessage as NonNullable<LoggingOptions['customSuccessMessage']>)(ex.req, ex.res, ex.durationMs);
        if (typeof text === 'string') return text;
      } catch (error) {
        reportError(failed ? 'logging.customErrorMessage' : 'logging.customSuccessMessage', error);
      }
    }
    return defaultMessage(ex, route);
  }

  private path(ex: Exchange): string {
    const masked = maskUrl(ex.url);
    return masked.length > this.maxPathLength ? `${masked.slice(0, this.maxPathLength)}…(cut)` : masked;
  }

  /** Writes the access line of one completed exchange. */
  private write(ex: Exchange): void {
    if (ex.quiet && !this.logQuiet) return;
    const level = this.level(ex);
    if (level === 'silent' || !this.logger.isLevelEnabled(level)) return;
    accessCounters.accessLines++;
    const route = ex.route;
    const message = this.message(ex, route);
    const fast = this.fastDestination;
    if (fast !== undefined) {
      const endEpochMs = ex.startEpochMs + ex.durationMs;
      const event =
        level === 'warn' || level === 'error' || level === 'fatal'
          ? { timeEpochMs: endEpochMs, level, message, requestId: ex.requestId, traceId: ex.traceId === '' ? undefined : ex.traceId }
          : undefined;
      fast.writeKnown(this.line(ex, level, route, message, endEpochMs), event);
      return;
    }
    const fields: Record<string, unknown> = {
      method: ex.method,
      route,
      path: this.path(ex),
      status: ex.status,
      duration_ms: Math.round(ex.durationMs * 1000) / 1000,
      request_bytes: ex.requestBytes,
      response_bytes: ex.responseBytes,
      outcome: ex.outcome,
      request_id: ex.requestId,
    };
    if (ex.traceId !== '') {
      fields.trace_id = ex.traceId;
      fields.span_id = ex.spanId;
    }
    if (this.requestHeaders !== undefined) fields.request_headers = maskHeaders(ex.headers, this.requestHeaders);
    if (this.responseHeaders !== undefined) fields.response_headers = maskHeaders(ex.res.getHeaders(), this.responseHeaders);
    if (ex.error !== undefined) fields.err = ex.error;
    if (this.withReq) fields.req = ex.req;
    if (this.withRes) fields.res = ex.res;
    if (this.customProps !== undefined) {
      try {
        const extra = this.customProps(ex.req, ex.res);
        if (extra !== null && typeof extra === 'object') Object.assign(fields, extra);
      } catch (error) {
        reportError('logging.customProps', error);
      }
    }
    (this.accessLogger[level as 'info'] as (obj: object, msg: string) => void)(fields, message);
  }

  /** The access line as one string, in the same shape pino writes for `createLogger` loggers. */
  private line(ex: Exchange, level: string, route: string, message: string, endEpochMs: number): string {
    const chindings = (this.logger as unknown as Symbolic)[chindingsSym] as string;
    let line = `{"level":"${level}","timestamp":"${isoTime(endEpochMs)}"${chindings},"method":"${ex.method}","route":${quote(route)},"path":${quote(this.path(ex))},"status":${ex.status},"duration_ms":${Math.round(ex.durationMs * 1000) / 1000},"request_bytes":${ex.requestBytes},"response_bytes":${ex.responseBytes},"outcome":"${ex.outcome}","request_id":${quote(ex.requestId)}`;
    if (ex.traceId !== '') line += `,"trace_id":${quote(ex.traceId)},"span_id":${quote(ex.spanId)}`;
    if (this.requestHeaders !== undefined) line += `,"request_headers":${safeJson(maskHeaders(ex.headers, this.requestHeaders))}`;
    if (this.responseHeaders !== undefined) line += `,"response_headers":${safeJson(maskHeaders(ex.res.getHeaders(), this.responseHeaders))}`;
    if (ex.error !== undefined) line += `,"err":${safeJson(serializeError(ex.error))}`;
    return `${line},"message":${quote(message)}}\n`;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return '"[unserializable]"';
  }
}
