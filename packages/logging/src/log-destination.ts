import type { DestinationStream } from 'pino';
import { recentEvents, reportError, type LogEvent } from '@vigil/core';
import { BatchShipper } from './batch-shipper';
import { lineGathererFor, type LineGatherer } from './line-gatherer';
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
  /** Set when the main destination is an asynchronous sonic-boom (see `LineGatherer`). */
  private readonly gatherer: LineGatherer | undefined;

  constructor(primary: DestinationStream, transports: LogTransport[], keepRecent: boolean, flushTimeoutMs: number) {
    this.primary = primary;
    this.transports = transports.slice();
    this.keepRecent = keepRecent;
    this.flushTimeoutMs = flushTimeoutMs;
    this.gatherer = lineGathererFor(primary);
  }

  /**
   * The line to the main destination and every transport (a failing one is reported, never
   * thrown into the caller). For an asynchronous sonic-boom, info and lower lines are gathered and
   * handed on once per event-loop turn; a warn, error or fatal line goes at once, after everything
   * gathered before it.
   */
  private send(line: string, urgent: boolean): void {
    if (this.gatherer !== undefined) this.gatherer.write(line, urgent);
    else {
      try {
        this.primary.write(line);
      } catch (error) {
        reportError('logging.destination', error);
      }
    }
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
    this.gatherer?.handOn();
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
      if (typeof t.flush === 'function') waits.push(this.flushTransport(t).catch((error: unknown) => reportError('logging.flush', error)));
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

  /** A transport's flush; the built-in ones also give up after `flushTimeoutMs`, so their retries stop keeping the process alive. */
  private flushTransport(transport: LogTransport): Promise<void> {
    return transport instanceof BatchShipper ? transport.flush(this.flushTimeoutMs) : transport.flush();
  }

  /** Synchronous flush of the main destination, when it has one (pino calls it on fatal exits). */
  flushSync(): void {
    this.gatherer?.writeOutNow();
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
