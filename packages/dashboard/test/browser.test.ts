/// <reference lib="dom" />
import express from 'express';
import type { Page } from 'playwright-core';
import { observeExpress, recentEvents, registerPackage, runInExchange, unregisterPackage } from '@vigil/core';
import { expressDashboard } from '../src';
import { resetSampler } from '../src/sampler';
import { launchChromium } from './chromium';
import { close, listen } from './helpers';

jest.setTimeout(120_000);

describe('dashboard page in headless Chromium', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: Awaited<ReturnType<typeof listen>>['server'];
  let url: string;
  let page: Page;
  const pageErrors: string[] = [];

  /** Requests to every route (again before each check: the windows hold one minute, a loaded machine is slow). */
  async function traffic(): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) calls.push(fetch(`${url}/api/r${i}/${i}`).then((r) => r.text()));
    for (let i = 0; i < 20; i++) calls.push(fetch(`${url}/slow/${i}`).then((r) => r.text()));
    calls.push(fetch(`${url}/broken`).then((r) => r.text()));
    await Promise.all(calls);
  }

  beforeAll(async () => {
    const app = express();
    app.use((req, res, next) => runInExchange(observeExpress(req, res), next));
    app.use(expressDashboard());
    // hundreds of routes: the table must stay usable
    for (let i = 0; i < 300; i++) app.get(`/api/r${i}/:id`, (_req, res) => res.send('ok'));
    app.get('/slow/:id', (_req, res) => setTimeout(() => res.send('slow'), 30));
    app.get('/broken', (_req, res) => res.status(503).send('no'));
    ({ server, url } = await listen(app));
    await traffic();
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await close(server);
    for (const name of ['health', 'alerts', 'tracing', 'logging']) unregisterPackage(name);
    resetSampler();
  });

  it('draws the charts and the route table from the stream', async () => {
    await page.goto(`${url}/_vigil`);
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 30_000 });
    await page.waitForFunction(() => Number(document.getElementById('chart-rate')?.getAttribute('data-points')) >= 2, undefined, { timeout: 30_000 });
    expect(await page.locator('#chart-rate canvas').count()).toBe(1);
    expect(Number(await page.getAttribute('#chart-latency', 'data-points'))).toBeGreaterThan(0);
    await page.waitForFunction(() => document.querySelectorAll('#route-table tbody tr').length >= 302, undefined, { timeout: 30_000 });
    const routes = await page.locator('#route-table td.route').allTextContents();
    expect(routes).toEqual(expect.arrayContaining(['/slow/:id', '/broken', '/api/r0/:id', '/api/r299/:id']));
    expect(routes.some((r) => r.startsWith('/_vigil'))).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it('sorts and filters the route table', async () => {
    await traffic();
    await page.click('#route-table th[data-key="p95"]');
    await page.waitForFunction(() => document.querySelector('#route-table tbody tr td.route')?.textContent === '/slow/:id');
    await page.click('#route-table th[data-key="errorRatio"]');
    await page.waitForFunction(() => document.querySelector('#route-table tbody tr td.route')?.textContent === '/broken');
    await page.fill('#route-filter', 'r29');
    await page.waitForFunction(() => document.querySelectorAll('#route-table tbody tr').length === 11); // r29, r290..r299
  });

  it('hides the sections of packages that are not registered, and shows them once they are', async () => {
    expect(await page.isHidden('#health-section')).toBe(true);
    expect(await page.isHidden('#alerts-section')).toBe(true);
    expect(await page.isHidden('#traces-section')).toBe(true);
    expect(await page.isHidden('#logs-section')).toBe(true);
    const now = Date.now();
    registerPackage({ name: 'health', snapshot: () => ({ status: 'fail', checks: [
      { name: 'database', status: 'fail', critical: true, groups: [], durationMs: 3, lastRunEpochMs: now, lastSuccessEpochMs: 0, output: '<img src=x onerror=alert(1)>' },
    ] }) });
    registerPackage({ name: 'alerts', snapshot: () => ({ alerts: [
      { name: 'HighErrorRate', state: 'firing', severity: 'critical', labels: {}, annotations: { summary: 'Error rate is 12 %' }, value: 0.12, activeSinceEpochMs: now },
    ] }) });
    registerPackage({ name: 'tracing' });
    registerPackage({ name: 'logging' });
    recentEvents.traces.push({ traceId: 'b'.repeat(32), name: 'POST /orders', route: '/orders', status: 201, error: false, durationMs: 200, startEpochMs: now, spans: [
      { spanId: '1'.repeat(16), parentSpanId: undefined, name: 'POST /orders', offsetMs: 0, durationMs: 200, error: false },
      { spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'process_payment', offsetMs: 50, durationMs: 100, error: false },
    ] });
    recentEvents.logs.push({ timeEpochMs: now, level: 'error', message: 'payment failed', requestId: 'req-1' });
    await page.waitForSelector('#health-section:not([hidden])', { timeout: 15_000 });
    await page.waitForSelector('#alerts-list .alert[data-state="firing"]', { timeout: 15_000 });
    expect(await page.textContent('#health-table tr[data-check="database"]')).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('#health-table img').count()).toBe(0);
    await page.waitForSelector('#traces-list .trace', { timeout: 15_000 });
    await page.click('#traces-list .trace .row');
    await page.waitForSelector('#traces-list .waterfall:not([hidden]) .span >> text=process_payment');
    expect(await page.textContent('#logs-table tbody')).toContain('payment failed');
    expect(pageErrors).toEqual([]);
  });
});
