import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Client } from '@elastic/elasticsearch';
import type { PathMatcher } from '@vigil/core';
import type { DestinationStream, Level, LevelWithSilent, Logger, LoggerOptions as PinoLoggerOptions } from 'pino';

/**
 * A log level name, lowest to highest: `trace`, `debug`, `info`, `warn`, `error`, `fatal`.
 *
 * @example
 * ```ts
 * const level: LevelName = 'warn';
 * ```
 */
export type LevelName = Level;

/**
 * Somewhere log lines go besides the main destination: a bounded, batching shipper such as
 * `elasticsearchTransport` or `httpBatchTransport`. Each receives every line the logger writes
 * (one JSON object and a newline).
 *
 * @example
 * ```ts
 * const es: LogTransport = elasticsearchTransport({ node: 'http://localhost:9200' });
 * const logger = createLogger({ service: 'orders', transports: [es] });
 * ```
 */
export interface LogTransport {
  /** Takes one serialised line; never throws, never blocks (lines beyond the buffer are dropped and counted). */
  write(line: string): void;
  /** Resolves when every line written before the call was delivered, rejected or dropped. */
  flush(): Promise<void>;
  /** Stops accepting lines, delivers what is buffered (up to `timeoutMs`), drops and counts the rest. */
  close(timeoutMs?: number): Promise<void>;
  /** Counters, exact. */
  readonly stats: TransportStats;
}

/**
 * Counters of a `LogTransport`. Every line written is eventually exactly one of `sent`,
 * `rejected` or `dropped` (or still `buffered`).
 *
 * @example
 * ```ts
 * const { received, sent, dropped, buffered } = transport.stats;
 * ```
 */
export interface TransportStats {
  /** Transport name (`elasticsearch`, `http-batch`). */
  readonly name: string;
  /** Lines written to the transport. */
  readonly received: number;
  /** Lines acknowledged by the backend. */
  readonly sent: number;
  /** Lines the backend refused for good (for example a mapping error); not retried. */
  readonly rejected: number;
  /** Lines thrown away because the buffer was full or the transport was closed. */
  readonly dropped: number;
  /** Lines waiting to be sent (including the batch in flight). */
  readonly buffered: number;
  /** Failed attempts that were retried. */
  readonly retries: number;
  /** Batches acknowledged. */
  readonly batches: number;
  /** The last delivery error, if the last attempt failed. */
  readonly lastError: string | undefined;
}

/**
 * Options of `createLogger`.
 *
 * @example
 * ```ts
 * const options: CreateLoggerOptions = { service: 'orders', level: 'info', base: { env: 'prod' } };
 * ```
 */
export interface CreateLoggerOptions {
  /** Service name, written as `service` on every line. Required. */
  service: string;
  /** Lowest level written (default `info`, or `LOG_LEVEL` from the environment when valid). */
  level?: LevelWithSilent;
  /** Extra fields written on every line (`env`, `version`, `region`, ...). */
  base?: Record<string, unknown>;
  /** Where lines go (default: standard output through an asynchronous sonic-boom). */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Shippers that also receive every line (`elasticsearchTransport`, `httpBatchTransport`). */
  transports?: LogTransport[];
  /** pino `redact` paths for application lines (access lines mask headers and query themselves). */
  redact?: PinoLoggerOptions['redact'];
  /** Extra pino serializers, by field name. `err`, `error`, `req`, `res` and `headers` have safe defaults. */
  serializers?: Record<string, (value: any) => unknown>;
  /** Keep warn and above in the core's `recentEvents.logs` ring for the dashboard (default `true`). */
  recentEvents?: boolean;
  /** How long `logger.flush()` waits for the transports before giving up (default 5000 ms). */
  flushTimeoutMs?: number;
}

/**
 * A value a user hook returns to pick the access line's level; `silent` writes nothing.
 *
 * @example
 * ```ts
 * const level: AccessLevel = 'warn';
 * ```
 */
export type AccessLevel = LevelWithSilent;

/**
 * Options of `expressLogging` and `koaLogging`. Hook names and signatures follow pino-http, so
 * pino-http users know them: they receive the Node request and response.
 *
 * @example
 * ```ts
 * const options: LoggingOptions = {
 *   logger,
 *   autoLogging: { ignore: (req) => req.url === '/healthz' },
 *   customLogLevel: (req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
 *   requestHeaders: ['user-agent'],
 * };
 * ```
 */
export interface LoggingOptions {
  /** The logger (from `createLogger`, or any pino logger). Default: `createLogger({ service, level })`. */
  logger?: Logger;
  /** Service name when the middleware creates its own logger (default `npm_package_name` or `app`). */
  service?: string;
  /** Level when the middleware creates its own logger. */
  level?: LevelWithSilent;
  /**
   * Request id for a request (pino-http's `genReqId`). Used when it returns a short plain id
   * (≤ 128 of `[A-Za-z0-9._:-]`); otherwise the core's id is kept. Prefer the core's
   * `configureRequestId` to set the header policy for every package.
   */
  genReqId?: (req: IncomingMessage, res: ServerResponse) => string;
  /** Level of the access line; default: `error` for 5xx, errors and timeouts, `warn` for 4xx (and 499), else `info`. */
  customLogLevel?: (req: IncomingMessage, res: ServerResponse, err: unknown) => AccessLevel;
  /** Message of the access line when the request did not fail. */
  customSuccessMessage?: (req: IncomingMessage, res: ServerResponse, responseTimeMs: number) => string;
  /** Message of the access line when the request failed, was aborted or timed out. */
  customErrorMessage?: (req: IncomingMessage, res: ServerResponse, err: unknown) => string;
  /**
   * `false`: no access lines at all; `{ ignore }`: no access line for requests it returns `true` for;
   * `{ ignorePaths }`: the same as the top-level `ignorePaths` (both lists apply).
   */
  autoLogging?: boolean | { ignore?: (req: IncomingMessage) => boolean; ignorePaths?: PathMatcher[] };
  /**
   * Requests that get no access line, by path (no query), such as health probes: path strings,
   * RegExps or predicates `(path) => boolean`. A string also matches with one trailing slash removed
   * and in any letter case (`'/healthz'` also ignores `/healthz/` and `/HEALTHZ`, which Express and
   * `@koa/router` route to the same handler); RegExps and predicates get the path as received. They
   * still get a request id (and `req.log`).
   */
  ignorePaths?: PathMatcher[];
  /** Extra fields for the access line, from the request and response. */
  customProps?: (req: IncomingMessage, res: ServerResponse) => Record<string, unknown> | undefined;
  /**
   * pino serializers for the access line's fields; `req` / `res` add the request / response serialised with them.
   * One that throws costs only its field, written as `"[serializer error: <type>]"` (the error's type, never its message); the line is
   * still written and the error reported (kind `logging.serializers.<field>`).
   */
  serializers?: Record<string, (value: any) => unknown>;
  /** pino `redact` paths applied to the access line. */
  redact?: PinoLoggerOptions['redact'];
  /** Request headers written on the access line (`request_headers`), by name. Secrets are masked even here. */
  requestHeaders?: string[];
  /** Response headers written on the access line (`response_headers`), by name. Secrets are masked even here. */
  responseHeaders?: string[];
  /** Also log exchanges marked quiet (health probes); default `false`. */
  logQuiet?: boolean;
  /** Longest `path` written, in characters (default 2048); longer ones are cut and marked. */
  maxPathLength?: number;
}

/**
 * Retry and buffer options shared by the transports.
 *
 * @example
 * ```ts
 * const opts: BatchOptions = { batchSize: 500, flushIntervalMs: 1000, maxBufferLines: 20000 };
 * ```
 */
export interface BatchOptions {
  /** Lines per request (default 500). A full batch is sent at once. */
  batchSize?: number;
  /** A partial batch is sent after this long (default 1000 ms). */
  flushIntervalMs?: number;
  /** Most lines held while the backend is slow or down (default 20000); beyond it lines are dropped and counted. */
  maxBufferLines?: number;
  /** First retry delay (default 100 ms); doubles per failure, with jitter. */
  retryInitialDelayMs?: number;
  /** Longest retry delay (default 5000 ms). */
  retryMaxDelayMs?: number;
  /** Per-request timeout (default 10000 ms). */
  timeoutMs?: number;
  /** Shortest time between two "lines dropped" warnings (default 10000 ms). */
  warnIntervalMs?: number;
  /** Called with the number of lines just dropped and the total so far (besides the warning). */
  onDrop?: (count: number, total: number) => void;
  /**
   * Receives the transport's warnings (lines dropped, with how many; lines rejected, with why).
   * Default: `process.emitWarning(message, { code })` with code `VIGIL_LOGS_DROPPED` / `VIGIL_LOGS_REJECTED`.
   */
  warn?: (message: string, code: 'VIGIL_LOGS_DROPPED' | 'VIGIL_LOGS_REJECTED') => void;
}

/**
 * Options of `elasticsearchTransport`.
 *
 * @example
 * ```ts
 * const opts: ElasticsearchTransportOptions = { node: 'http://localhost:9200', index: 'logs' };
 * ```
 */
export interface ElasticsearchTransportOptions extends BatchOptions {
  /** Elasticsearch URL (or several); ignored when `client` is given. */
  node?: string | string[];
  /** Authentication passed to the client (`{ apiKey }` or `{ username, password }`). */
  auth?: { apiKey: string } | { username: string; password: string } | { bearer: string };
  /** An existing `@elastic/elasticsearch` client (its own retries are bypassed: the transport retries). */
  client?: Client;
  /**
   * Index name: a prefix gives date-based indices `<prefix>-YYYY.MM.DD` (default `logs`, so
   * `logs-2026.11.25`), the date of each line's timestamp (UTC); a function gets the line's ISO
   * timestamp and returns the index.
   */
  index?: string | ((isoTimestamp: string) => string);
  /** Ingest pipeline to run documents through. */
  pipeline?: string;
}

/**
 * Options of `httpBatchTransport`.
 *
 * @example
 * ```ts
 * const opts: HttpBatchTransportOptions = { url: 'http://log-aggregator:8080/api/logs', batchSize: 200 };
 * ```
 */
export interface HttpBatchTransportOptions extends BatchOptions {
  /** Where batches are POSTed as `{ "logs": [...] }`. Required. */
  url: string;
  /** Extra request headers (for example an authorization header for the aggregator). */
  headers?: Record<string, string>;
}

/**
 * Options of `searchLogs`.
 *
 * @example
 * ```ts
 * const opts: SearchLogsOptions = { size: 20, index: 'logs-*' };
 * ```
 */
export interface SearchLogsOptions {
  /** Most hits returned (default 100). */
  size?: number;
  /** Index pattern searched (default `logs-*`). */
  index?: string;
}

/**
 * One log document as stored in Elasticsearch.
 *
 * @example
 * ```ts
 * const doc: LogDocument = { '@timestamp': '2026-11-25T10:00:00.000Z', level: 'error', message: 'payment failed' };
 * ```
 */
export type LogDocument = Record<string, unknown> & { '@timestamp'?: string; level?: string; message?: string };
