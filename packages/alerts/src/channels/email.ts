import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { DeliveryError } from '../delivery';
import { alertTitle, channelName, notificationTitle, type ChannelOptions } from './common';
import type { Channel, Notification } from '../types';

/**
 * Options of `emailChannel`: nodemailer SMTP pool options plus the envelope.
 *
 * @example
 * ```ts
 * const o: EmailChannelOptions = { host: 'smtp.example.com', port: 587, auth: { user: 'alerts', pass: process.env.SMTP_PASS! },
 *   from: 'alerts@example.com', to: ['oncall@example.com'] };
 * ```
 */
export interface EmailChannelOptions extends ChannelOptions, Omit<SMTPPool.Options, 'pool' | 'from' | 'to'> {
  from: string;
  to: string | string[];
  /** Subject prefix (default `[vigil]`). */
  subjectPrefix?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Subject, text and HTML of a notification mail.
 *
 * @example
 * ```ts
 * const { subject, text, html } = emailContent(notification, '[vigil]');
 * ```
 */
export function emailContent(n: Notification, prefix: string): { subject: string; text: string; html: string } {
  const subject = `${prefix} ${notificationTitle(n)}`.trim();
  const lines: string[] = [];
  const rows: string[] = [];
  for (const a of n.alerts) {
    const labels = Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(', ');
    lines.push(`[${a.status.toUpperCase()}] ${alertTitle(a)} (${a.severity})`, a.annotations.description ?? '', `  labels: ${labels}`, `  since: ${a.startsAt}`, '');
    rows.push(`<tr><td>${escapeHtml(a.status)}</td><td>${escapeHtml(a.severity)}</td><td><b>${escapeHtml(alertTitle(a))}</b><br>${escapeHtml(a.annotations.description ?? '')}</td><td><code>${escapeHtml(labels)}</code></td><td>${escapeHtml(a.startsAt)}</td></tr>`);
  }
  const html = `<h3>${escapeHtml(notificationTitle(n))}</h3><table border="1" cellpadding="4" cellspacing="0"><tr><th>status</th><th>severity</th><th>alert</th><th>labels</th><th>since</th></tr>${rows.join('')}</table>`;
  return { subject, text: lines.join('\n'), html };
}

/**
 * Email channel through nodemailer with a pooled SMTP transport (connections reused between
 * notifications). SMTP 5xx answers are permanent (not retried); 4xx and connection errors are.
 *
 * @example
 * ```ts
 * emailChannel({ host: 'smtp.example.com', port: 465, secure: true, auth: { user, pass },
 *   from: 'alerts@example.com', to: 'oncall@example.com' });
 * ```
 */
export function emailChannel(options: EmailChannelOptions): Channel {
  if (options === null || typeof options !== 'object') throw new TypeError('vigil alerts: emailChannel needs SMTP options with { from, to }');
  const { from, to, subjectPrefix = '[vigil]', name, delivery, ...smtp } = options;
  if (typeof from !== 'string' || from === '') throw new TypeError('vigil alerts: emailChannel from must be an address');
  const recipients = Array.isArray(to) ? to : [to];
  if (recipients.length === 0 || recipients.some((r) => typeof r !== 'string' || r === '')) throw new TypeError('vigil alerts: emailChannel to must be one or more addresses');
  const transport = nodemailer.createTransport({ ...smtp, pool: true } as SMTPPool.Options);
  // Recipients that already got a notification: a retry after a partial rejection goes only to the others.
  const delivered = new WeakMap<Notification, Set<string>>();
  return {
    name: channelName({ name }, 'email'),
    kind: 'email',
    delivery,
    async send(n) {
      const { subject, text, html } = emailContent(n, subjectPrefix);
      const done = delivered.get(n) ?? new Set<string>();
      delivered.set(n, done);
      const pending = recipients.filter((r) => !done.has(r));
      let info: { accepted?: unknown[]; rejected?: unknown[]; rejectedErrors?: Array<{ responseCode?: number; message?: string }> };
      try {
        info = await transport.sendMail({ from, to: pending, subject, text, html });
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        throw new DeliveryError(`email: ${error instanceof Error ? error.message : String(error)}`, { status: code, retryable: !(typeof code === 'number' && code >= 500), cause: error });
      }
      for (const a of info.accepted ?? []) done.add(typeof a === 'string' ? a : (a as { address: string }).address);
      const rejected = info.rejected ?? [];
      if (rejected.length > 0) {
        // Some recipients refused the mail: retry them (temporary 4xx) or give up on them (5xx).
        const permanent = (info.rejectedErrors ?? []).every((e) => typeof e.responseCode === 'number' && e.responseCode >= 500);
        throw new DeliveryError(`email: ${rejected.length} recipient(s) refused: ${(info.rejectedErrors ?? []).map((e) => e.message).join('; ')}`, { retryable: !permanent });
      }
    },
    async close() {
      transport.close();
    },
  };
}
