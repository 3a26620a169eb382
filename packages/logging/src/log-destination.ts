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

/** A gathered chunk is handed on at once past this many characters. */
const MAX_GATHERED = 16 * 1024;

/**
 * Whether lines to `stream` are worth gathering: an asynchronous sonic-boom (what
 * `pino.destination({ sync: false })` makes). Its `write` measures the UTF-8 length of the line
 * and of the whole string it is appending to, which it keeps flattening as it grows: per line,
 * work in proportion to everything buffered so far (4,000-6,000 instructions per access line at
 * 4 KB `minLength`). Given one chunk per event-loop turn it does that once per chunk.
 */
function gathersLines(stream: DestinationStream): boolean {
  const s = stream as unknown as { sync?: unknown; _bufs?: unknown; minLength?: unknown; flushSync?: unknown };
  return s.sync === false && Array.isArray(s._bufs) && typeof s.minLength === 'number' && typeof s.flushSync === 'function';
}

/** Destinations that gather lines: written out on process exit, before sonic-boom's last flush. */
const gathering = new Set<WeakRef<LogDestination>>();
let exitHookInstalled = false;

function writeGatheredOnExit(): void {
  for (const ref of gathering) ref.deref()?.flushSync();
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
  /** Lines gathered for the main destination during this event-loop turn (see `gathersLines`). */
  private gathered = '';
  private readonly gather: boolean;
  private scheduled = false;
  private readonly handOnGathered = (): void => {
    this.scheduled = false;
    this.writeGathered();
  };

  constructor(primary: DestinationStream, transports: LogTransport[], keepRecent: boolean, flushTimeoutMs: number) {
    this.primary = primary;
    this.transports = transports.slice();
    this.keepRecent = keepRecent;
    this.flushTimeoutMs = flushTimeoutMs;
    this.gather = gathersLines(primary);
    if (this.gather) {
      gathering.add(new WeakRef(this));
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        // prepended: it must run before the exit hooks that flush the sonic-booms themselves
        process.prependListener('exit', writeGatheredOnExit);
      }
    }
  }

  /** Hands the gathered lines to the main destination. */
  private writeGathered(): void {
    const chunk = this.gathered;
    if (chunk === '') return;
    this.gathered = '';
    try {
      this.primary.write(chunk);
    } catch (error) {
      reportError('logging.destination', error);
    }
  }

  /**
   * The line to the main destination and every transport (a failing transport is reported).
   * For an asynchronous sonic-boom, info and lower lines are gathered and handed on once per
   * event-loop turn (or past 16 KB); a warn, error or fatal line is handed on at once, after
   * everything gathered before it, so it is never held back behind a crash.
   */
  private send(line: string, urgent: boolean): void {
    if (this.gather) {
      this.gathered += line;
      if (urgent || this.gathered.length > MAX_GATHERED) this.writeGathered();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.handOnGathered);
      }
    } else this.primary.write(line);
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
    const c = line.charCodeAt(AT);
    const serious = (c === W || c === E || c === F) && line.startsWith(LEVEL_PREFIX);
    this.send(line, serious);
    if (serious && this.keepRecent) keepRecentLine(line);
  }

  /**
   * Writes a line whose level the caller already knows (the access line), keeping `event` in the
   * recent-events ring without parsing the line.
   */
  writeKnown(line: string, event: LogEvent | undefined): void {
    this.send(line, event !== undefined);
    if (event !== undefined && this.keepRecent) recentEvents.logs.push(event);
  }

  /** Flushes the main destination and the transports; calls back when done or after `flushTimeoutMs`. */
  flush(cb?: (err?: Error | null) => void): void {
    this.writeGathered();
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
    this.writeGathered();
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
