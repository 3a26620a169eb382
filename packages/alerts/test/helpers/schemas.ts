/**
 * Validators for the documented payloads the channels send. Each throws an Error naming the
 * first violation. Sources: Slack Block Kit reference (blocks, limits) and incoming webhooks;
 * PagerDuty Events API v2 (`/v2/enqueue`); Alertmanager webhook_config payload (version 4) and
 * Alertmanager API v2 `postableAlerts`.
 */

function fail(msg: string): never {
  throw new Error(msg);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function stringMap(v: unknown, where: string): void {
  if (!isObject(v)) fail(`${where} must be an object`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') fail(`${where}.${k} must be a string`);
}

function rfc3339(v: unknown, where: string): void {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v)) fail(`${where} must be RFC 3339, got ${String(v)}`);
}

function text(v: unknown, where: string, type: 'plain_text' | 'mrkdwn' | 'any', max: number): void {
  if (!isObject(v)) fail(`${where} must be a text object`);
  if (type !== 'any' ? v.type !== type : v.type !== 'plain_text' && v.type !== 'mrkdwn') fail(`${where}.type must be ${type}`);
  if (typeof v.text !== 'string' || v.text.length < 1 || v.text.length > max) fail(`${where}.text must be 1..${max} chars`);
}

function blocks(v: unknown, where: string): void {
  if (!Array.isArray(v) || v.length === 0 || v.length > 50) fail(`${where} must hold 1..50 blocks`);
  v.forEach((b, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(b)) fail(`${at} must be an object`);
    if (b.type === 'header') text(b.text, `${at}.text`, 'plain_text', 150);
    else if (b.type === 'section') {
      if (b.text === undefined && b.fields === undefined) fail(`${at} needs text or fields`);
      if (b.text !== undefined) text(b.text, `${at}.text`, 'any', 3000);
    } else if (b.type === 'context') {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) fail(`${at}.elements must hold 1..10 elements`);
      b.elements.forEach((e, j) => text(e, `${at}.elements[${j}]`, 'any', 3000));
    } else if (b.type !== 'divider') fail(`${at}.type ${String(b.type)} is not expected`);
  });
}

/** Slack incoming webhook message with Block Kit (top-level or in attachments). */
export function slackSchema(body: unknown): void {
  if (!isObject(body)) fail('slack: body must be an object');
  if (typeof body.text !== 'string' || body.text === '') fail('slack: text (notification fallback) is required');
  if (body.blocks !== undefined) blocks(body.blocks, 'slack.blocks');
  if (body.attachments !== undefined) {
    if (!Array.isArray(body.attachments) || body.attachments.length > 20) fail('slack.attachments must be an array (≤ 20)');
    body.attachments.forEach((a, i) => {
      if (!isObject(a)) fail(`slack.attachments[${i}] must be an object`);
      if (typeof a.color !== 'string' || !/^#[0-9A-Fa-f]{6}$/.test(a.color)) fail(`slack.attachments[${i}].color must be a hex colour`);
      blocks(a.blocks, `slack.attachments[${i}].blocks`);
    });
  }
  if (body.blocks === undefined && body.attachments === undefined) fail('slack: expected Block Kit blocks');
}

/** PagerDuty Events API v2 event. */
export function pagerDutySchema(body: unknown): void {
  if (!isObject(body)) fail('pagerduty: body must be an object');
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) fail('pagerduty: routing_key must be the 32-character integration key');
  if (!['trigger', 'acknowledge', 'resolve'].includes(body.event_action as string)) fail('pagerduty: event_action must be trigger, acknowledge or resolve');
  if (body.dedup_key !== undefined && (typeof body.dedup_key !== 'string' || body.dedup_key.length > 255)) fail('pagerduty: dedup_key must be a string ≤ 255');
  if (body.event_action !== 'trigger') {
    if (typeof body.dedup_key !== 'string' || body.dedup_key === '') fail('pagerduty: dedup_key is required to resolve/acknowledge');
    return;
  }
  const p = body.payload;
  if (!isObject(p)) fail('pagerduty: payload is required for trigger');
  if (typeof p.summary !== 'string' || p.summary === '' || p.summary.length > 1024) fail('pagerduty: payload.summary must be 1..1024 chars');
  if (typeof p.source !== 'string' || p.source === '') fail('pagerduty: payload.source is required');
  if (!['critical', 'error', 'warning', 'info'].includes(p.severity as string)) fail('pagerduty: payload.severity must be critical, error, warning or info');
  if (p.timestamp !== undefined) rfc3339(p.timestamp, 'pagerduty: payload.timestamp');
  for (const k of ['component', 'group', 'class']) if (p[k] !== undefined && typeof p[k] !== 'string') fail(`pagerduty: payload.${k} must be a string`);
  if (p.custom_details !== undefined && !isObject(p.custom_details)) fail('pagerduty: payload.custom_details must be an object');
}

/** Alertmanager webhook payload, version 4. */
export function alertmanagerWebhookSchema(body: unknown): void {
  if (!isObject(body)) fail('webhook: body must be an object');
  if (body.version !== '4') fail('webhook: version must be "4"');
  for (const k of ['groupKey', 'receiver', 'externalURL']) if (typeof body[k] !== 'string') fail(`webhook: ${k} must be a string`);
  if (typeof body.truncatedAlerts !== 'number') fail('webhook: truncatedAlerts must be a number');
  if (body.status !== 'firing' && body.status !== 'resolved') fail('webhook: status must be firing or resolved');
  stringMap(body.groupLabels, 'webhook: groupLabels');
  stringMap(body.commonLabels, 'webhook: commonLabels');
  stringMap(body.commonAnnotations, 'webhook: commonAnnotations');
  if (!Array.isArray(body.alerts) || body.alerts.length === 0) fail('webhook: alerts must be a non-empty array');
  body.alerts.forEach((a, i) => {
    const at = `webhook: alerts[${i}]`;
    if (!isObject(a)) fail(`${at} must be an object`);
    if (a.status !== 'firing' && a.status !== 'resolved') fail(`${at}.status must be firing or resolved`);
    stringMap(a.labels, `${at}.labels`);
    stringMap(a.annotations, `${at}.annotations`);
    rfc3339(a.startsAt, `${at}.startsAt`);
    rfc3339(a.endsAt, `${at}.endsAt`);
    if (typeof a.generatorURL !== 'string') fail(`${at}.generatorURL must be a string`);
    if (typeof a.fingerprint !== 'string' || a.fingerprint === '') fail(`${at}.fingerprint must be a string`);
  });
}

/** Alertmanager API v2 `POST /api/v2/alerts` body (postableAlerts). */
export function postableAlertsSchema(body: unknown): void {
  if (!Array.isArray(body) || body.length === 0) fail('alertmanager: body must be a non-empty array');
  body.forEach((a, i) => {
    const at = `alertmanager: [${i}]`;
    if (!isObject(a)) fail(`${at} must be an object`);
    stringMap(a.labels, `${at}.labels`);
    if (Object.keys(a.labels as object).length === 0) fail(`${at}.labels must not be empty`);
    if (a.annotations !== undefined) stringMap(a.annotations, `${at}.annotations`);
    if (a.startsAt !== undefined) rfc3339(a.startsAt, `${at}.startsAt`);
    if (a.endsAt !== undefined) rfc3339(a.endsAt, `${at}.endsAt`);
    if (a.generatorURL !== undefined && typeof a.generatorURL !== 'string') fail(`${at}.generatorURL must be a string`);
    for (const k of Object.keys(a)) if (!['labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL'].includes(k)) fail(`${at} has unknown field ${k}`);
  });
}
