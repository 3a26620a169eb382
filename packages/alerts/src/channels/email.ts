import { domainToASCII } from 'node:url';
import nodemailer from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
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

/** A recipient: the mailbox put in the To header, and its bare address as a key. */
interface Recipient {
  mailbox: { name: string; address: string };
  key: string;
}

/** One refused recipient, as nodemailer reports it in `rejectedErrors`. */
interface Refusal {
  recipient?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/** What became of one notification's recipients so far: a retry goes only to the others. */
interface Progress {
  delivered: Set<string>;
  /** Refused for good (5xx), with the server's answer. */
  refused: Map<string, string>;
}

/**
 * A bare address as a key that matches nodemailer's envelope form of it (`accepted`,
 * `rejected`): the domain without case and in ASCII (punycode).
 */
function addressKey(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = address.slice(at + 1).toLowerCase();
  return `${address.slice(0, at)}@${domainToASCII(domain) || domain}`;
}

/** The `to` option parsed once ('On-call <oncall@example.com>', lists, groups), duplicates dropped. */
function parseRecipients(to: unknown): Recipient[] {
  const entries: unknown[] = Array.isArray(to) ? to : [to];
  if (entries.length === 0 || entries.some((r) => typeof r !== 'string' || r.trim() === '')) throw new TypeError('vigil alerts: emailChannel to must be one or more addresses');
  const out = new Map<string, Recipient>();
  for (const entry of entries as string[]) {
    const mailboxes = addressparser(entry, { flatten: true });
    if (mailboxes.length === 0 || mailboxes.some((m) => m.address === '')) throw new TypeError(`vigil alerts: emailChannel to has no address in ${JSON.stringify(entry)}`);
    for (const { name, address } of mailboxes) {
      const key = addressKey(address);
      if (!out.has(key)) out.set(key, { mailbox: { name, address }, key });
    }
  }
  return [...out.values()];
}

/** A 5xx refusal is final; 4xx (and an unknown code) may pass on a retry. */
function isPermanent(r: Refusal): boolean {
  return typeof r.responseCode === 'number' && r.responseCode >= 500;
}

function describeRefusal(r: Refusal): string {
  return `${r.recipient ?? '?'} (${r.response ?? r.message ?? 'refused'})`;
}

/**
 * Records an attempt's answers. Throws while a recipient is refused: retryable when one was
 * refused with 4xx (only those are sent again), final when only 5xx refusals are left; `partial`
 * when someone got the notification, so it counts as sent.
 */
function settle(p: Progress, accepted: unknown[], refusals: Refusal[]): void {
  for (const a of accepted) p.delivered.add(addressKey(typeof a === 'string' ? a : (a as { address: string }).address));
  const temporary = refusals.filter((r) => !isPermanent(r));
  for (const r of refusals) if (isPermanent(r)) p.refused.set(addressKey(r.recipient ?? ''), describeRefusal(r));
  if (temporary.length === 0 && p.refused.size === 0) return;
  const reasons = [...temporary.map(describeRefusal), ...p.refused.values()];
  throw new DeliveryError(`email: ${reasons.length} recipient(s) refused: ${reasons.join('; ')}`, { retryable: temporary.length > 0, partial: p.delivered.size > 0 });
}

/**
 * Email channel through nodemailer with a pooled SMTP transport (connections reused between
 * notifications). SMTP 5xx answers are permanent (not retried); 4xx and connection errors are.
 * Recipients are judged one by one: a retry goes only to those refused with 4xx, never to one
 * that got the mail or was refused with 5xx; the notification counts as sent when at least one
 * recipient got it (the refused ones are reported).
 *
 * @example
 * ```ts
 * emailChannel({ host: 'smtp.example.com', port: 465, secure: true, auth: { user, pass },
 *   from: 'alerts@example.com', to: ['On-call <oncall@example.com>', 'lead@example.com'] });
 * ```
 */
export function emailChannel(options: EmailChannelOptions): Channel {
  if (options === null || typeof options !== 'object') throw new TypeError('vigil alerts: emailChannel needs SMTP options with { from, to }');
  const { from, to, subjectPrefix = '[vigil]', name, delivery, ...smtp } = options;
  if (typeof from !== 'string' || from === '') throw new TypeError('vigil alerts: emailChannel from must be an address');
  const recipients = parseRecipients(to);
  const transport = nodemailer.createTransport({ ...smtp, pool: true } as SMTPPool.Options);
  const progress = new WeakMap<Notification, Progress>();
  return {
    name: channelName({ name }, 'email'),
    kind: 'email',
    delivery,
    async send(n) {
      const { subject, text, html } = emailContent(n, subjectPrefix);
      const p = progress.get(n) ?? { delivered: new Set<string>(), refused: new Map<string, string>() };
      progress.set(n, p);
      const pending = recipients.filter((r) => !p.delivered.has(r.key) && !p.refused.has(r.key));
      if (pending.length === 0) return settle(p, [], []);
      let info: { accepted?: unknown[]; rejectedErrors?: Refusal[] };
      try {
        info = await transport.sendMail({ from, to: pending.map((r) => r.mailbox), subject, text, html });
      } catch (error) {
        const { responseCode: code, rejectedErrors } = error as { responseCode?: number; rejectedErrors?: Refusal[] };
        if (Array.isArray(rejectedErrors) && rejectedErrors.length > 0) return settle(p, [], rejectedErrors); // every recipient refused
        throw new DeliveryError(`email: ${error instanceof Error ? error.message : String(error)}`, { status: code, retryable: !(typeof code === 'number' && code >= 500), partial: p.delivered.size > 0, cause: error });
      }
      settle(p, info.accepted ?? [], info.rejectedErrors ?? []);
    },
    async close() {
      transport.close();
    },
  };
}
