import { writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';
import { reportError } from '@vigil/core';

/** The most characters gathered before they are handed on (sonic-boom's default `maxWrite`). */
const MAX_GATHERED = 16 * 1024;

/** What vigil reads of a sonic-boom (`pino.destination()`). */
interface SonicBoomLike {
  sync?: unknown;
  fd?: unknown;
  minLength?: unknown;
  maxLength?: unknown;
  maxWrite?: unknown;
  _bufs?: unknown;
  write(chunk: string): unknown;
  flushSync(): void;
}

/**
 * Lines for one asynchronous sonic-boom (what `pino.destination({ sync: false })` makes), gathered
 * and handed on once per event-loop turn. sonic-boom's `write` measures the UTF-8 length of the
 * line and of the whole string it is appending to, which it keeps flattening as it grows: per
 * line, work in proportion to everything buffered so far (4,000-6,000 instructions per access
 * line at a 4 KB `minLength`). Given one chunk per turn it does that once per chunk.
 *
 * Order is kept for every vigil logger writing to the same sonic-boom (they share its gatherer). A
 * chunk never goes past sonic-boom's `maxWrite`, and a sonic-boom with a `maxLength` (which drops
 * whole writes) is not gathered for. `urgent` lines (warn and above) hand on everything before
 * them and themselves at once. On process exit, gathered lines are written synchronously after
 * sonic-boom's own buffer, and lines written from later exit listeners go straight through.
 */
export class LineGatherer {
  private gathered = '';
  private scheduled = false;
  private readonly limit: number;
  private readonly handOnLater = (): void => {
    this.scheduled = false;
    this.handOn();
  };

  constructor(private readonly stream: SonicBoomLike) {
    const maxWrite = typeof stream.maxWrite === 'number' && stream.maxWrite > 0 ? stream.maxWrite : MAX_GATHERED;
    this.limit = Math.min(MAX_GATHERED, maxWrite);
  }

  write(line: string, urgent: boolean): void {
    if (exiting) {
      this.writeNow(line);
      return;
    }
    if (this.gathered.length + line.length > this.limit) this.handOn();
    this.gathered += line;
    if (urgent) this.handOn();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.handOnLater);
    }
  }

  /** Hands the gathered lines to the sonic-boom (asynchronously written by it). */
  handOn(): void {
    const chunk = this.gathered;
    if (chunk === '') return;
    this.gathered = '';
    try {
      this.stream.write(chunk);
    } catch (error) {
      reportError('logging.destination', error);
    }
  }

  /** Writes what sonic-boom holds, then the gathered lines, synchronously (process exit). */
  writeOutNow(): void {
    const chunk = this.gathered;
    this.gathered = '';
    this.writeNow(chunk);
  }

  private writeNow(chunk: string): void {
    const stream = this.stream;
    try {
      stream.flushSync();
      if (chunk !== '' && typeof stream.fd === 'number' && stream.fd >= 0) writeSync(stream.fd, chunk);
      return;
    } catch {
      // not open yet, or gone: leave it to sonic-boom
    }
    if (chunk === '') return;
    try {
      stream.write(chunk);
    } catch (error) {
      reportError('logging.destination', error);
    }
  }
}

const gatherers = new WeakMap<object, LineGatherer>();
/** Gatherers with lines to write on exit (weakly held: a logger dropped takes its gatherer along). */
const live = new Set<WeakRef<LineGatherer>>();
let exiting = false;

function writeOutOnExit(): void {
  exiting = true;
  for (const ref of live) ref.deref()?.writeOutNow();
}

/**
 * The gatherer for `stream` when lines to it are worth gathering (an asynchronous sonic-boom with
 * no `maxLength`), shared by every logger writing to it; `undefined` otherwise.
 */
export function lineGathererFor(stream: DestinationStream): LineGatherer | undefined {
  const s = stream as unknown as SonicBoomLike;
  const isAsyncSonicBoom = s.sync === false && Array.isArray(s._bufs) && typeof s.minLength === 'number' && typeof s.flushSync === 'function';
  if (!isAsyncSonicBoom || (typeof s.maxLength === 'number' && s.maxLength > 0)) return undefined;
  let gatherer = gatherers.get(stream);
  if (gatherer !== undefined) return gatherer;
  gatherer = new LineGatherer(s);
  gatherers.set(stream, gatherer);
  for (const ref of live) if (ref.deref() === undefined) live.delete(ref);
  live.add(new WeakRef(gatherer));
  if (live.size === 1 && process.listeners('exit').indexOf(writeOutOnExit) === -1) {
    // first among the exit listeners: before pino's own last flush of the sonic-boom
    process.prependListener('exit', writeOutOnExit);
  }
  return gatherer;
}
