import type { DestinationStream } from 'pino';
import { recentEvents, reportError, type LogEvent } from '@vigil/core';
import type { LogTransport } from './types';

/** Every vigil line starts with this, then the level word. */
const LEVEL_PREFIX = '{"level":"';
const AT = LEVEL_PREFIX.length;
const W = 'w'.charCodeAt(0);
const E = 'e'.charCodeAt(0);
const F = 'f'.charCodeAt(0);

type Flushable = { flush?: (cb?: (err?: Error | null) => void) => void };

/**
 * The destination behind a `createLogger` logger: writes each line to the main destination and to
 * every transport, keeps warn/error/fatal lines in `recentEvents.logs` (checked on one character,
 * parsed only for those rare lines), and flushes everything on `flush(cb)`.
 */
export class LogDestination implements DestinationStream {
  private readonly primary: DestinationStream;
  private readonly transports: LogTransport[];
  private readonly keepRecent: boolean;
  private readonly flushTimeoutMs: number;

  constructor(primary: DestinationStream, transports: LogTransport[], keepRecent: boolean, flushTimeoutMs: number) {
    this.primary = primary;
    this.transports = transports.slice();
    this.keepRecent = keepRecent;
    this.flushTimeoutMs = flushTimeoutMs;
  }

  /** The line to the main destination and every transport (a failing transport is reported). */
  private send(line: string): void {
    this.primary.write(line);
    const transports = this.transports;
    for (let i = 0; i < transports.length; i++) {
      try {
        transports[i].write(line);
      } catch (error) {
        reportError('logging.transport', error);
      }
    }
  }

  write(line: string): void {
    this.send(line);
    if (this.keepRecent) {
      const c = line.charCodeAt(AT);
      if ((c === W || c === E || c === F) && line.startsWith(LEVEL_PREFIX)) keepRecentLine(line);
    }
  }

  /**
   * Writes a line whose level the caller already knows (the access line), keeping `event` in the
   * recent-events ring without parsing the line.
   */
  writeKnown(line: string, event: LogEvent | undefined): void {
    this.send(line);
    if (event !== undefined && this.keepRecent) recentEvents.logs.push(event);
  }

  /** Flushes the main destination and the transports; calls back when done or after `flushTimeoutMs`. */
  flush(cb?: (err?: Error | null) => void): void {
    const done = typeof cb === 'function' ? cb : () => undefined;
    const waits: Promise<unknown>[] = [];
    const primary = this.primary as Flushable;
    if (typeof primary.flush === 'function') {
      waits.push(
        new Promise<void>((resolve) => {
          try {
            primary.flush?.(() => resolve());
          } catch {
            resolve();
          }
        }),
      );
    }
    for (const t of this.transports) {
      if (typeof t.flush === 'function') waits.push(t.flush().catch((error: unknown) => reportError('logging.flush', error)));
    }
    if (waits.length === 0) {
      done(null);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.flushTimeoutMs);
      timer.unref();
    });
    void Promise.race([Promise.all(waits), timeout]).then(() => {
      if (timer !== undefined) clearTimeout(timer);
      done(null);
    });
  }

  /** Synchronous flush of the main destination, when it has one (pino calls it on fatal exits). */
  flushSync(): void {
    const primary = this.primary as { flushSync?: () => void };
    if (typeof primary.flushSync === 'function') {
      try {
        primary.flushSync();
      } catch {
        // nothing pending or not ready yet
      }
    }
  }
}

function keepRecentLine(line: string): void {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const time = typeof parsed.timestamp === 'string' ? Date.parse(parsed.timestamp) : NaN;
    recentEvents.logs.push({
      timeEpochMs: Number.isFinite(time) ? time : Date.now(),
      level: String(parsed.level),
      message: typeof parsed.message === 'string' ? parsed.message : '',
      requestId: typeof parsed.request_id === 'string' ? parsed.request_id : undefined,
      traceId: typeof parsed.trace_id === 'string' ? parsed.trace_id : undefined,
    });
  } catch (error) {
    reportError('logging.recentEvents', error);
  }
}
