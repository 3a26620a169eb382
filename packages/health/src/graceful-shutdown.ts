import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { reportError } from '@vigil/core';
import { cleanOutput } from './run-check';
import type { GracefulShutdown, GracefulShutdownOptions, Health, HealthLogger, ShutdownClock, ShutdownHook, SignalSource } from './types';

/**
 * The part of a `node:http` / `node:https` server that shutdown uses (what `app.listen()` returns
 * in Express and Koa).
 *
 * @example
 * ```ts
 * const server: ShutdownServer = app.listen(3000);
 * ```
 */
export interface ShutdownServer {
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
  prependListener(event: 'request', listener: (req: IncomingMessage, res: ServerResponse) => void): unknown;
  removeListener(event: 'request', listener: (req: IncomingMessage, res: ServerResponse) => void): unknown;
}

interface Hook {
  name: string;
  fn: () => unknown;
  timeoutMs: number;
}

const realClock: ShutdownClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function nonNegativeMs(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new TypeError(`@vigil/health: gracefulShutdown ${what} must be a number of milliseconds ≥ 0, got ${String(value)}`);
  }
  return value;
}

function normaliseHook(hook: ShutdownHook, index: number, defaultTimeoutMs: number): Hook {
  if (typeof hook === 'function') return { name: hook.name || `hook ${index + 1}`, fn: hook, timeoutMs: defaultTimeoutMs };
  if (hook !== null && typeof hook === 'object' && typeof hook.fn === 'function') {
    return {
      name: typeof hook.name === 'string' && hook.name !== '' ? hook.name : hook.fn.name || `hook ${index + 1}`,
      fn: hook.fn,
      timeoutMs: nonNegativeMs(hook.timeoutMs, 'hook timeoutMs', defaultTimeoutMs),
    };
  }
  throw new TypeError('@vigil/health: gracefulShutdown onShutdown hooks must be functions or { name, fn, timeoutMs }');
}

/** Makes a response close its connection once it is sent (too late once its headers went out). */
function closeConnectionOf(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

/** During the drain, every response closes its connection so clients reconnect elsewhere. */
function closeConnectionAfterResponse(_req: IncomingMessage, res: ServerResponse): void {
  closeConnectionOf(res);
}

/** The connection list a `node:http` / `node:https` server keeps (Node 18.2 and later), as far as shutdown reads it. */
interface ConnectionList {
  all(): Array<{ socket?: { _httpMessage?: unknown } | null } | null | undefined>;
}

/**
 * The responses in flight on `server`'s connections when the shutdown starts, read once from the
 * connection list Node keeps for every http server (the one `closeIdleConnections()` and
 * `closeAllConnections()` use): each connection's socket holds the response being written on it.
 * That list is not public API, so a server without it (another implementation, a future Node)
 * gives none; those responses then keep their connection until they finish (see `closeAfterFinish`).
 */
function responsesInFlight(server: object): ServerResponse[] {
  const found: ServerResponse[] = [];
  try {
    const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'http.server.connections');
    const list = key === undefined ? undefined : ((server as Record<symbol, unknown>)[key] as ConnectionList | undefined);
    if (list === undefined || list === null || typeof list.all !== 'function') return found;
    for (const connection of list.all()) {
      const res = connection?.socket?._httpMessage as ServerResponse | undefined;
      if (res !== undefined && res !== null && typeof res.setHeader === 'function' && typeof res.headersSent === 'boolean') found.push(res);
    }
  } catch (error) {
    reportError('health.shutdown.connections', error);
  }
  return found;
}

/**
 * After a response finished on a connection of a server that is closing: the connection would stay
 * open as an idle keep-alive one, so it is ended (as Node ends a `Connection: close` one). Called
 * on the tick after the finish, once Node has detached the response from the socket; a socket
 * already ending, or already carrying the next (pipelined) response, is left alone.
 */
function closeAfterFinish(socket: Socket & { _httpMessage?: unknown }): void {
  if (socket.destroyed || !socket.writable || (socket._httpMessage !== undefined && socket._httpMessage !== null)) return;
  if (typeof socket.destroySoon === 'function') socket.destroySoon();
  else socket.end();
}

/** Node publishes here when a server response finished (`{ request, response, socket, server }`). */
const RESPONSE_FINISH_CHANNEL = 'http.server.response.finish';

/** Servers whose listener closed while responses are still in flight on them. */
const closingServers = new Map<object, number>();

/**
 * The one subscriber, for every server in the process: subscribed while at least one server is
 * closing, so a server that is not shutting down pays nothing per request.
 */
function onResponseFinish(message: unknown): void {
  const { server, socket } = message as { server?: object; socket?: Socket };
  if (server === undefined || socket === undefined || socket === null || !closingServers.has(server)) return;
  process.nextTick(closeAfterFinish, socket);
}

function watchFinishes(server: object): void {
  if (closingServers.size === 0) diagnosticsChannel.subscribe(RESPONSE_FINISH_CHANNEL, onResponseFinish);
  closingServers.set(server, (closingServers.get(server) ?? 0) + 1);
}

function unwatchFinishes(server: object): void {
  const count = closingServers.get(server);
  if (count === undefined) return;
  if (count > 1) closingServers.set(server, count - 1);
  else closingServers.delete(server);
  if (closingServers.size === 0) diagnosticsChannel.unsubscribe(RESPONSE_FINISH_CHANNEL, onResponseFinish);
}

/**
 * Shuts a server down without dropping requests. On the first of `signals` (SIGTERM, SIGINT):
 * readiness fails at once (liveness stays up); for `drainDelayMs` requests are still served, with
 * `Connection: close` (also those already in flight whose headers are not sent yet); then the
 * listener closes, idle keep-alive connections close, in-flight requests get up to `timeoutMs` to
 * finish, each closing its connection when done (then the rest are cut); the cleanup hooks run in
 * reverse order, each with its own timeout; and `exit(0)` is called (1 if connections had to be cut
 * or a hook failed). A second signal exits at once. Nothing is installed until you call it; then
 * only the signal listeners are: nothing is done per request until a shutdown starts. The
 * responses in flight at the signal are read from the server's own connection list then, and
 * connections are closed after their responses through Node's `http.server.response.finish`
 * diagnostics channel, subscribed only while a server is closing.
 *
 * @example
 * ```ts
 * const server = app.listen(3000);
 * gracefulShutdown(server, health, {
 *   drainDelayMs: 5000,
 *   timeoutMs: 10_000,
 *   onShutdown: [() => logger.flush(), { name: 'tracing', fn: () => tracing.shutdown(), timeoutMs: 3000 }],
 * });
 * ```
 */
export function gracefulShutdown(server: ShutdownServer, health: Health | undefined | null, options: GracefulShutdownOptions = {}): GracefulShutdown {
  if (server === null || typeof server !== 'object' || typeof server.close !== 'function' || typeof server.prependListener !== 'function') {
    throw new TypeError('@vigil/health: gracefulShutdown needs an http server (what app.listen() returns)');
  }
  if (health !== undefined && health !== null && typeof health.markShuttingDown !== 'function') {
    throw new TypeError('@vigil/health: gracefulShutdown health must come from createHealth() (or be undefined)');
  }
  if (options === null || typeof options !== 'object') throw new TypeError('@vigil/health: gracefulShutdown options must be an object');
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || s === '')) {
    throw new TypeError('@vigil/health: gracefulShutdown signals must be an array of signal names');
  }
  const env = options.env ?? process.env;
  const drainDelayMs = nonNegativeMs(options.drainDelayMs, 'drainDelayMs', env.KUBERNETES_SERVICE_HOST ? 5000 : 0);
  const timeoutMs = nonNegativeMs(options.timeoutMs, 'timeoutMs', 10_000);
  const hookTimeoutMs = nonNegativeMs(options.hookTimeoutMs, 'hookTimeoutMs', 5000);
  const initialHooks = options.onShutdown === undefined ? [] : Array.isArray(options.onShutdown) ? options.onShutdown : [options.onShutdown];
  const hooks = initialHooks.map((hook, i) => normaliseHook(hook, i, hookTimeoutMs));
  if (options.exit !== undefined && typeof options.exit !== 'function') throw new TypeError('@vigil/health: gracefulShutdown exit must be a function');
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const clock = options.clock ?? realClock;
  if (typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function' || typeof clock.now !== 'function') {
    throw new TypeError('@vigil/health: gracefulShutdown clock needs now, setTimeout and clearTimeout');
  }
  const source: SignalSource = options.signalSource ?? process;
  const logger: HealthLogger | undefined = options.logger;

  let state: GracefulShutdown['state'] = 'running';
  let running: Promise<number> | undefined;
  let listening = false;
  let exited = false;

  const log = (level: 'info' | 'warn' | 'error', fields: object, message: string): void => {
    if (logger === undefined) return;
    try {
      logger[level](fields, message);
    } catch (error) {
      reportError('health.shutdown.logger', error);
    }
  };

  const finish = (code: number): void => {
    if (exited) return;
    exited = true;
    removeSignalListeners();
    exit(code);
  };

  /** Resolves `true` when `work` settles first, `false` after `ms`. Rejections count as settled with an error. */
  const within = (work: Promise<unknown>, ms: number): Promise<{ done: boolean; error?: unknown }> =>
    new Promise((resolve) => {
      const timer = clock.setTimeout(() => resolve({ done: false }), ms);
      work.then(
        () => {
          clock.clearTimeout(timer);
          resolve({ done: true });
        },
        (error: unknown) => {
          clock.clearTimeout(timer);
          resolve({ done: true, error: error ?? new Error('hook rejected') });
        },
      );
    });

  const sleep = (ms: number): Promise<void> => (ms <= 0 ? Promise.resolve() : new Promise((resolve) => clock.setTimeout(resolve, ms)));

  /** Stops the per-request work of the shutdown (done only from the signal until the connections closed). */
  function stopConnectionWork(): void {
    server.removeListener('request', closeConnectionAfterResponse);
    unwatchFinishes(server);
  }

  async function run(reason: string): Promise<number> {
    const started = clock.now();
    state = 'draining';
    health?.markShuttingDown();
    // from now on, and only now: new responses close their connections, and so do the ones in
    // flight whose headers are not sent yet
    server.prependListener('request', closeConnectionAfterResponse);
    for (const res of responsesInFlight(server)) closeConnectionOf(res);
    log('info', { reason, drainDelayMs, timeoutMs }, `shutdown: ${reason} received, readiness fails, draining for ${drainDelayMs} ms`);
    await sleep(drainDelayMs);

    state = 'closing';
    let forced = false;
    try {
      // each response still in flight closes its connection once it finished (one whose headers
      // went out with keep-alive would otherwise hold the close until its keep-alive timeout)
      watchFinishes(server);
      const closed = new Promise<void>((resolve) => {
        try {
          server.close(() => resolve());
        } catch (error) {
          reportError('health.shutdown.close', error);
          resolve();
        }
      });
      server.closeIdleConnections?.();
      const drained = await within(closed, timeoutMs);
      if (!drained.done) {
        forced = true;
        log('warn', { timeoutMs }, `shutdown: in-flight requests still running after ${timeoutMs} ms, closing their connections`);
        server.closeAllConnections?.();
      }
    } finally {
      stopConnectionWork();
    }
    health?.close();

    state = 'cleanup';
    let hookFailed = false;
    for (let i = hooks.length - 1; i >= 0; i--) {
      const hook = hooks[i];
      let work: Promise<unknown>;
      try {
        work = Promise.resolve(hook.fn());
      } catch (error) {
        work = Promise.reject(error);
      }
      const outcome = await within(work, hook.timeoutMs);
      if (!outcome.done) {
        hookFailed = true;
        log('error', { hook: hook.name, timeoutMs: hook.timeoutMs }, `shutdown: hook ${hook.name} timed out after ${hook.timeoutMs} ms`);
      } else if (outcome.error !== undefined) {
        hookFailed = true;
        log('error', { hook: hook.name, error: cleanOutput(outcome.error) }, `shutdown: hook ${hook.name} failed`);
      }
    }

    state = 'done';
    const code = forced || hookFailed ? 1 : 0;
    log(code === 0 ? 'info' : 'warn', { code, durationMs: clock.now() - started }, `shutdown: done, exiting with ${code}`);
    finish(code);
    return code;
  }

  function start(reason: string): Promise<number> {
    if (running === undefined) {
      running = run(reason).catch((error: unknown) => {
        reportError('health.shutdown', error);
        finish(1);
        return 1;
      });
    }
    return running;
  }

  function onSignal(signal: string): void {
    if (state === 'running') {
      void start(signal);
      return;
    }
    const number = (constants.signals as Record<string, number | undefined>)[signal];
    log('warn', { signal }, `shutdown: second ${signal}, exiting now`);
    finish(number === undefined ? 1 : 128 + number);
  }

  function removeSignalListeners(): void {
    if (!listening) return;
    listening = false;
    for (const signal of signals) source.removeListener(signal, onSignal);
  }

  for (const signal of signals) source.on(signal, onSignal);
  listening = true;

  return {
    get state() {
      return state;
    },
    addHook(hook: ShutdownHook): void {
      hooks.push(normaliseHook(hook, hooks.length, hookTimeoutMs));
    },
    shutdown(reason = 'shutdown'): Promise<number> {
      return start(reason);
    },
    dispose(): void {
      removeSignalListeners();
    },
  };
}
