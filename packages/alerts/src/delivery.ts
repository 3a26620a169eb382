import { reportError } from '@vigil/core';
import type { Channel, ChannelStats, DeliveryOptions, Notification } from './types';

/**
 * A failed send. Channels throw it to tell the delivery layer whether to retry and when:
 * `retryable: false` gives up at once (a 400 will not get better); `retryAfterMs` (from a 429's
 * `Retry-After`) is waited at least. `partial: true` says the notification already reached some
 * of its recipients (email): given up, it is counted `sent`, not `failed`, and still reported.
 *
 * @example
 * ```ts
 * throw new DeliveryError('slack answered 429', { status: 429, retryable: true, retryAfterMs: 2000 });
 * ```
 */
export class DeliveryError extends Error {
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly partial: boolean;
  constructor(message: string, options: { status?: number; retryable?: boolean; retryAfterMs?: number; partial?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeliveryError';
    this.status = options.status;
    this.retryable = options.retryable ?? true;
    this.retryAfterMs = options.retryAfterMs;
    this.partial = options.partial ?? false;
  }
}

const DEFAULTS: Required<DeliveryOptions> = { timeoutMs: 10_000, maxAttempts: 10, backoffMs: 500, maxBackoffMs: 60_000, maxQueue: 100 };

/**
 * Normalises delivery options once (precise `TypeError` for bad values).
 *
 * @example
 * ```ts
 * normalizeDelivery({ timeoutMs: 2000 }, 'slack'); // { timeoutMs: 2000, maxAttempts: 10, ... }
 * ```
 */
export function normalizeDelivery(options: DeliveryOptions | undefined, what: string): Required<DeliveryOptions> {
  const merged = { ...DEFAULTS, ...(options ?? {}) };
  for (const key of Object.keys(DEFAULTS) as Array<keyof DeliveryOptions>) {
    const v = merged[key];
    const integer = key === 'maxAttempts' || key === 'maxQueue';
    if (!(typeof v === 'number' && Number.isFinite(v) && (integer ? Number.isInteger(v) && v >= 1 : v > 0))) {
      throw new TypeError(`vigil alerts: ${what} delivery.${key} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
    }
  }
  return merged;
}

/** Next allowed send time per rate-limit key (e.g. per Slack webhook URL), shared by every channel. */
const gates = new Map<string, number>();

/** Reserves the next send slot of `key`; returns how long to wait for it, ms. */
function reserveSlot(key: string, minIntervalMs: number): number {
  const now = Date.now();
  const slot = Math.max(now, gates.get(key) ?? 0);
  gates.set(key, slot + minIntervalMs);
  return slot - now;
}

/** Pushes a rate-limit key's next slot out (a 429 asked us to wait). */
function holdGate(key: string, untilEpochMs: number): void {
  if ((gates.get(key) ?? 0) < untilEpochMs) gates.set(key, untilEpochMs);
}

function sleep(ms: number, keepAlive: boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (!keepAlive) t.unref();
  });
}

interface Item {
  notification: Notification;
  attempts: number;
}

/**
 * The one delivery layer: a bounded outbox per channel, sends one at a time (order kept), a
 * timeout per attempt, retries with exponential backoff and jitter, `Retry-After` honoured,
 * drops counted. Each outbox runs on its own, so a failing or slow channel never delays another
 * one, and `enqueue` never waits for anything.
 *
 * @example
 * ```ts
 * const outbox = new Outbox(webhookChannel('http://127.0.0.1:9000/hook'));
 * outbox.enqueue(notification);
 * await outbox.idle();
 * outbox.stats; // { sent: 1, failed: 0, dropped: 0, retries: 0, queued: 0 }
 * ```
 */
export class Outbox {
  readonly stats: ChannelStats = { sent: 0, failed: 0, dropped: 0, retries: 0, queued: 0 };
  private readonly options: Required<DeliveryOptions>;
  private readonly queue: Item[] = [];
  private current: Item | undefined;
  private running = false;
  private keepAlive = false;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(readonly channel: Channel) {
    this.options = normalizeDelivery(channel.delivery, `channel ${channel.name}`);
  }

  /** Queues a notification (drops the oldest waiting one when full). Never throws, never waits. */
  enqueue(notification: Notification): void {
    if (this.closed) {
      this.stats.dropped++;
      return;
    }
    if (this.queue.length >= this.options.maxQueue) {
      this.queue.shift();
      this.stats.dropped++;
      reportError(`alerts.channel.${this.channel.name}.dropped`, new Error(`outbox full (${this.options.maxQueue}), oldest notification dropped`));
    }
    this.queue.push({ notification, attempts: 0 });
    this.stats.queued = this.queue.length + (this.current === undefined ? 0 : 1);
    if (!this.running) void this.pump();
  }

  /** Resolves when nothing is queued or in flight. `keepAlive` keeps the process up meanwhile. */
  idle(keepAlive = false): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    if (keepAlive) this.keepAlive = true;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Stops the outbox: nothing new is accepted, waiting notifications are dropped (counted) and a
   * send in progress is not retried. Call `idle()` first to give the queue a chance to drain.
   */
  close(): void {
    this.closed = true;
    this.stats.dropped += this.queue.length;
    this.queue.length = 0;
    this.stats.queued = this.current === undefined ? 0 : 1;
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue.shift() as Item;
        this.current = item;
        await this.deliver(item);
        this.current = undefined;
        this.stats.queued = this.queue.length;
      }
    } finally {
      this.running = false;
      this.current = undefined;
      this.stats.queued = this.queue.length;
      const waiters = this.waiters;
      this.waiters = [];
      this.keepAlive = false;
      for (const w of waiters) w();
    }
  }

  private async deliver(item: Item): Promise<void> {
    const { channel } = this;
    const o = this.options;
    for (;;) {
      item.attempts++;
      if (channel.rateLimit !== undefined) {
        const wait = reserveSlot(channel.rateLimit.key, channel.rateLimit.minIntervalMs);
        if (wait > 0) await sleep(wait, this.keepAlive);
      }
      let error: unknown;
      try {
        await this.attempt(item.notification);
        this.stats.sent++;
        return;
      } catch (err) {
        error = err;
      }
      const retryable = !(error instanceof DeliveryError) || error.retryable;
      const retryAfterMs = error instanceof DeliveryError ? error.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && channel.rateLimit !== undefined) holdGate(channel.rateLimit.key, Date.now() + retryAfterMs);
      if (!retryable || item.attempts >= o.maxAttempts || this.closed) {
        if (error instanceof DeliveryError && error.partial) this.stats.sent++;
        else this.stats.failed++;
        reportError(`alerts.channel.${channel.name}`, error);
        return;
      }
      this.stats.retries++;
      const exp = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** (item.attempts - 1));
      const jittered = exp / 2 + Math.random() * (exp / 2);
      await sleep(Math.max(jittered, retryAfterMs ?? 0), this.keepAlive);
      if (this.closed) {
        this.stats.dropped++;
        return;
      }
    }
  }

  /** One send with a timeout that holds even if the channel ignores its AbortSignal. */
  private attempt(notification: Notification): Promise<void> {
    const controller = new AbortController();
    const timeoutMs = this.options.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new DeliveryError(`${this.channel.name}: send timed out after ${timeoutMs} ms`, { retryable: true });
        controller.abort(err);
        reject(err);
      }, timeoutMs);
      if (!this.keepAlive) timer.unref();
    });
    let sending: Promise<void>;
    try {
      sending = Promise.resolve(this.channel.send(notification, controller.signal));
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending.catch(() => undefined); // a send that settles after its timeout must not become an unhandled rejection
    return Promise.race([sending, timeout]).finally(() => clearTimeout(timer));
  }
}
