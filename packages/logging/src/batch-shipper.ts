import { reportError } from '@vigil/core';
import type { BatchOptions, LogTransport, TransportStats } from './types';

/**
 * What one delivery attempt of a batch came to.
 * - `retry`: positions (in the batch) of lines to send again, in order (partial failure);
 * - `rejected`: how many lines the backend refused for good, and why.
 */
export interface DeliveryResult {
  retry?: number[];
  rejected?: number;
  /** Why lines were rejected. */
  reason?: string;
  /** Why lines are retried. */
  retryReason?: string;
}

/** A failure worth retrying (network, timeout, 429, 5xx). Anything else thrown rejects the batch. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}

/** Sends one batch of lines (each one JSON object without the newline). */
export type SendBatch = (lines: string[]) => Promise<DeliveryResult | void>;

interface Normalised {
  batchSize: number;
  flushIntervalMs: number;
  maxBufferLines: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  warnIntervalMs: number;
  onDrop: ((count: number, total: number) => void) | undefined;
  warn: (message: string, code: 'VIGIL_LOGS_DROPPED' | 'VIGIL_LOGS_REJECTED') => void;
}

function processWarning(message: string, code: string): void {
  process.emitWarning(message, { code });
}

function positiveInteger(value: unknown, fallback: number, name: string, transport: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`@vigil/logging: ${transport} ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks and fills in the shared batching options; throws a precise `TypeError`. */
export function normaliseBatchOptions(options: BatchOptions, transport: string): Normalised & { timeoutMs: number } {
  const batchSize = positiveInteger(options.batchSize, 500, 'batchSize', transport);
  const maxBufferLines = positiveInteger(options.maxBufferLines, 20_000, 'maxBufferLines', transport);
  if (maxBufferLines < batchSize) throw new TypeError(`@vigil/logging: ${transport} maxBufferLines (${maxBufferLines}) must be ≥ batchSize (${batchSize})`);
  const retryInitialDelayMs = positiveInteger(options.retryInitialDelayMs, 100, 'retryInitialDelayMs', transport);
  const retryMaxDelayMs = positiveInteger(options.retryMaxDelayMs, 5000, 'retryMaxDelayMs', transport);
  if (retryMaxDelayMs < retryInitialDelayMs) throw new TypeError(`@vigil/logging: ${transport} retryMaxDelayMs must be ≥ retryInitialDelayMs`);
  if (options.onDrop !== undefined && typeof options.onDrop !== 'function') throw new TypeError(`@vigil/logging: ${transport} onDrop must be a function`);
  if (options.warn !== undefined && typeof options.warn !== 'function') throw new TypeError(`@vigil/logging: ${transport} warn must be a function`);
  return {
    batchSize,
    flushIntervalMs: positiveInteger(options.flushIntervalMs, 1000, 'flushIntervalMs', transport),
    maxBufferLines,
    retryInitialDelayMs,
    retryMaxDelayMs,
    timeoutMs: positiveInteger(options.timeoutMs, 10_000, 'timeoutMs', transport),
    warnIntervalMs: positiveInteger(options.warnIntervalMs, 10_000, 'warnIntervalMs', transport),
    onDrop: options.onDrop,
    warn: options.warn ?? processWarning,
  };
}

interface Waiter {
  target: number;
  resolve: () => void;
  /** Gives up waiting, when the flush has a time limit. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * The engine behind the transports: a bounded buffer of lines, sent in order in batches by size
 * or interval, one request in flight, retried with exponential backoff and jitter for as long as
 * the backend is down (new lines keep buffering up to the bound; beyond it they are dropped,
 * counted exactly and reported by a warning that says how many).
 */
export class BatchShipper implements LogTransport {
  private readonly name: string;
  private readonly send: SendBatch;
  private readonly opts: Normalised;
  /** Lines not yet acknowledged, oldest first; the batch in flight is its head. */
  private queue: string[] = [];
  private head = 0;
  /** Lines of the batch in flight (at the head of the queue); 0 when no request is in flight. */
  private inFlight = 0;
  private closed = false;
  /** Set once `close()` has stopped waiting: nothing is retried any more. */
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined = undefined;
  private readonly interval: NodeJS.Timeout;
  private warnTimer: NodeJS.Timeout | undefined = undefined;
  private droppedSinceWarning = 0;
  private waiters: Waiter[] = [];
  private counters = { received: 0, sent: 0, rejected: 0, dropped: 0, retries: 0, batches: 0 };
  private lastError: string | undefined = undefined;
  private lastRejection: string | undefined = undefined;
  /** Lines that have left the buffer for good (sent, rejected or dropped from it). */
  private settled = 0;
  /** Lines accepted into the buffer so far. */
  private accepted = 0;
  /** Lines `close()` dropped behind the batch in flight: they settle with it, so a flush still waits for that batch. */
  private droppedBehind = 0;

  constructor(name: string, send: SendBatch, options: Normalised) {
    this.name = name;
    this.send = send;
    this.opts = options;
    this.interval = setInterval(() => this.pump(true), options.flushIntervalMs);
    this.interval.unref();
  }

  get stats(): TransportStats {
    return { name: this.name, ...this.counters, buffered: this.queue.length - this.head, lastError: this.lastError };
  }

  write(line: string): void {
    this.counters.received++;
    if (this.closed || this.queue.length - this.head >= this.opts.maxBufferLines) {
      this.drop(1);
      return;
    }
    const n = line.length;
    this.queue.push(n > 0 && line.charCodeAt(n - 1) === 10 ? line.slice(0, n - 1) : line);
    this.accepted++;
    if (this.inFlight === 0 && this.retryTimer === undefined && this.queue.length - this.head >= this.opts.batchSize) this.pump(false);
  }

  /**
   * Resolves when every line accepted before the call has been sent, rejected or dropped. While it
   * waits, a pending retry keeps the process alive. With `timeoutMs`, it resolves after that long
   * at the latest and stops waiting: retries no longer keep the process alive for it.
   */
  flush(timeoutMs?: number): Promise<void> {
    const target = this.accepted;
    if (this.settled >= target) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { target, resolve, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => this.giveUp(waiter), timeoutMs);
        waiter.timer.unref();
      }
      this.waiters.push(waiter);
      if (this.retryTimer === undefined) this.pump(true);
      else this.retryTimer.ref();
    });
  }

  /**
   * Stops accepting lines, delivers the buffer within `timeoutMs` (default 10 s), drops and counts
   * the rest. A request still in flight is left to finish: its lines stay `buffered` until it
   * answers, then count as sent, rejected or dropped (they are not retried).
   */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.interval);
    await this.flush(timeoutMs);
    this.stopped = true;
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.dropBuffered(this.inFlight);
    this.warnNow();
  }

  /** Drops and counts the buffered lines behind the first `keep` (the batch in flight). */
  private dropBuffered(keep: number): void {
    const left = this.queue.length - this.head - keep;
    if (left <= 0) return;
    this.queue = this.queue.slice(this.head, this.head + keep);
    this.head = 0;
    if (keep > 0) this.droppedBehind += left;
    else this.settle(left);
    this.drop(left);
  }

  private drop(count: number): void {
    this.counters.dropped += count;
    this.droppedSinceWarning += count;
    if (this.opts.onDrop !== undefined) {
      try {
        this.opts.onDrop(count, this.counters.dropped);
      } catch (error) {
        reportError('logging.onDrop', error);
      }
    }
    if (this.warnTimer === undefined && !this.closed) {
      this.warnTimer = setTimeout(() => this.warnNow(), this.opts.warnIntervalMs);
      this.warnTimer.unref();
    }
  }

  private warnNow(): void {
    if (this.warnTimer !== undefined) {
      clearTimeout(this.warnTimer);
      this.warnTimer = undefined;
    }
    if (this.droppedSinceWarning === 0) return;
    const count = this.droppedSinceWarning;
    this.droppedSinceWarning = 0;
    const why = this.lastError !== undefined ? ` (last error: ${this.lastError})` : '';
    this.emit(
      `@vigil/logging: ${this.name} transport dropped ${count} log line${count === 1 ? '' : 's'} (buffer of ${this.opts.maxBufferLines} lines full${this.closed ? ' or closed' : ''}); ${this.counters.dropped} dropped in total${why}`,
      'VIGIL_LOGS_DROPPED',
    );
  }

  private emit(message: string, code: 'VIGIL_LOGS_DROPPED' | 'VIGIL_LOGS_REJECTED'): void {
    try {
      this.opts.warn(message, code);
    } catch (error) {
      reportError('logging.warn', error);
    }
  }

  private settle(count: number): void {
    this.settled += count;
    if (this.queue.length === this.head) {
      this.settled += this.droppedBehind;
      this.droppedBehind = 0;
    }
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.settled >= w.target) {
        clearTimeout(w.timer);
        w.resolve();
      } else still.push(w);
    }
    this.waiters = still;
  }

  /** Resolves a flush that ran out of time and forgets it: a pending retry no longer keeps the process alive for it. */
  private giveUp(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at === -1) return;
    this.waiters.splice(at, 1);
    if (this.waiters.length === 0) this.retryTimer?.unref();
    waiter.resolve();
  }

  /** Sends batches while there are full ones (or any, when `all`); one request at a time. */
  private pump(all: boolean): void {
    if (this.inFlight > 0 || this.retryTimer !== undefined) return;
    const pending = this.queue.length - this.head;
    if (pending === 0 || (!all && pending < this.opts.batchSize)) return;
    this.inFlight = Math.min(pending, this.opts.batchSize);
    void this.sendHead().then((again) => {
      this.inFlight = 0;
      if (again) this.pump(all || this.waiters.length > 0);
    });
  }

  /** Sends the head batch (`inFlight` lines) once; `true` when the caller should keep pumping. */
  private async sendHead(): Promise<boolean> {
    const batch = this.queue.slice(this.head, this.head + this.inFlight);
    let result: DeliveryResult | void;
    try {
      result = await this.send(batch);
    } catch (error) {
      if (error instanceof RetryableError) {
        this.lastError = error.message;
        this.retryLater();
        return false;
      }
      // the backend refused the whole batch for good (bad request, authentication): drop it, say why
      this.lastError = error instanceof Error ? error.message : String(error);
      this.reject(batch.length, this.lastError);
      this.removeHead(batch.length, []);
      return true;
    }
    const retry = result?.retry ?? [];
    if (result?.rejected) this.reject(result.rejected, result.reason ?? 'rejected by the backend');
    this.counters.sent += batch.length - retry.length - (result?.rejected ?? 0);
    this.counters.batches++;
    this.removeHead(batch.length, retry.map((i) => batch[i]));
    if (retry.length > 0) {
      this.lastError = result?.retryReason ?? 'some lines were not accepted yet';
      this.retryLater();
      return false;
    }
    this.attempt = 0;
    this.lastError = undefined;
    if (this.droppedSinceWarning > 0) this.warnNow();
    return true;
  }

  private reject(count: number, reason: string): void {
    this.counters.rejected += count;
    if (reason !== this.lastRejection) {
      this.lastRejection = reason;
      this.emit(`@vigil/logging: ${this.name} transport: ${count} log line${count === 1 ? '' : 's'} rejected: ${reason}`, 'VIGIL_LOGS_REJECTED');
    }
  }

  /** Removes `count` lines from the head, putting `keep` (lines to retry) back in front, in order. */
  private removeHead(count: number, keep: string[]): void {
    this.head += count;
    if (keep.length > 0) {
      this.head -= keep.length;
      for (let i = 0; i < keep.length; i++) this.queue[this.head + i] = keep[i];
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.settle(count - keep.length);
  }

  /** Schedules the next attempt; once `close()` has stopped waiting, drops and counts what is left instead. */
  private retryLater(): void {
    if (this.stopped) {
      this.dropBuffered(0);
      this.warnNow();
      return;
    }
    this.counters.retries++;
    const base = Math.min(this.opts.retryMaxDelayMs, this.opts.retryInitialDelayMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump(true);
    }, delay);
    // keep the process alive only while someone waits for a flush
    if (this.waiters.length === 0) this.retryTimer.unref();
  }
}
