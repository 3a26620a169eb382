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

/** on-exit-leak-free (pino's own exit helper): runs a callback on process exit, holding the object weakly. */
interface OnExit {
  register<T extends object>(obj: T, fn: (obj: T, event: string) => void): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const onExit = require('on-exit-leak-free') as OnExit;

/** Lines are handed to an asynchronous destination in chunks of about this many characters. */
const CHUNK = 16_384;

/** `true` for pino's asynchronous sonic-boom: it defers writes already, so lines may be gathered per tick. */
function isAsyncSonicBoom(stream: unknown): boolean {
  const s = stream as { sync?: unknown; flushSync?: unknown; minLength?: unknown };
  return s.sync === false && typeof s.flushSync === 'function' && typeof s.minLength === 'number';
}

function drainOnExit(destination: LogDestination): void {
  destination.flushSync();
}

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
  /** Gather lines per tick before handing them to the main destination (only for asynchronous sonic-boom). */
  private readonly gather: boolean;
  private pending = '';
  private scheduled = false;
  private readonly drainSoon = (): void => {
    this.scheduled = false;
    this.drain();
  };

  constructor(primary: DestinationStream, transports: LogTransport[], keepRecent: boolean, flushTimeoutMs: number) {
    this.primary = primary;
    this.transports = transports.slice();
    this.keepRecent = keepRecent;
    this.flushTimeoutMs = flushTimeoutMs;
    this.gather = isAsyncSonicBoom(primary);
    if (this.gather) onExit.register(this, drainOnExit);
  }

  /**
   * To the main destination. An asynchronous sonic-boom gets one write per tick (or per 16 KB)
   * instead of one per line: each of its writes measures the text it holds, so many small writes
   * cost more than one large one. Lines stay in order; `flush`, `flushSync` and process exit
   * hand over what is gathered.
   */
  private put(line: string): void {
    if (!this.gather) {
      this.primary.write(line);
      return;
    }
    this.pending += line;
    if (this.pending.length >= CHUNK) this.drain();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainSoon);
    }
  }

  private drain(): void {
    if (this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    this.primary.write(chunk);
  }

  write(line: string): void {
    this.put(line);
    const transports = this.transports;
    for (let i = 0; i < transports.length; i++) {
      try {
        transports[i].write(line);
      } catch (error) {
        reportError('logging.transport', error);
      }
    }
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
    this.put(line);
    const transports = this.transports;
    for (let i = 0; i < transports.length; i++) {
      try {
        transports[i].write(line);
      } catch (error) {
        reportError('logging.transport', error);
      }
    }
    if (event !== undefined && this.keepRecent) recentEvents.logs.push(event);
  }

  /** Flushes the main destination and the transports; calls back when done or after `flushTimeoutMs`. */
  flush(cb?: (err?: Error | null) => void): void {
    const done = typeof cb === 'function' ? cb : () => undefined;
    this.drain();
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
    try {
      this.drain();
    } catch {
      // the destination is gone (ended at exit): nothing more can be written
      return;
    }
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
