/// <reference lib="dom" />
/**
 * End to end: starts the order-service demo exactly as `npm start` does (ts-node, from the
 * examples folder), drives bounded traffic with its `demo:load` script (a short warm-up, then a
 * simulated payment-provider incident), and checks in headless Chromium that the dashboard shows
 * it all: charts with data, the route table, both health checks and a firing alert. Saves a
 * screenshot to test-output/dashboard.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium';
import { until } from './helpers';

jest.setTimeout(240_000);

const ROOT = resolve(__dirname, '../../..');
const TS_NODE = require.resolve('ts-node/dist/bin.js');
const OUTPUT_DIR = join(ROOT, 'test-output');

interface Running {
  child: ChildProcess;
  output: () => string;
}

/** Runs a TypeScript entry point of an example with ts-node, as its npm script does. */
function runExample(dir: string, entry: string, env: Record<string, string>): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'warn', ...env };
  delete childEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete childEnv.SLACK_WEBHOOK_URL;
  delete childEnv.PAGERDUTY_ROUTING_KEY;
  const child = spawn(process.execPath, [TS_NODE, '--transpile-only', entry], { cwd: join(ROOT, dir), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const keep = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > 200_000) text = text.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => text };
}

async function stop(running: Running | undefined): Promise<void> {
  if (running === undefined || running.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => running.child.once('exit', () => r()));
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describe.each([
  ['order-service (Express)', 'examples/order-service'],
  ['order-service-koa (Koa)', 'examples/order-service-koa'],
])('%s demo', (_label, dir) => {
  let demo: Running | undefined;
  let load: Running | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  afterAll(async () => {
    await browser?.close();
    await stop(load);
    await stop(demo);
  });

  it('shows traffic, routes, health checks and a firing alert on the dashboard', async () => {
    demo = runExample(dir, 'src/main.ts', { PORT: '0', HOST: '127.0.0.1' });
    const base = await until<string | undefined>(() => /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\/_vigil/.exec(demo?.output() ?? '')?.[1], 90_000, 200).catch(() => {
      throw new Error(`the demo did not start:\n${demo?.output()}`);
    }) as string;
    load = runExample('examples/order-service', 'scripts/load.ts', { BASE_URL: base, RPS: '30', WARMUP_S: '4', INCIDENT_S: '60', RECOVERY_S: '0' });

    browser = await launchChromium();
    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${base}/_vigil`);

    // charts fill from the stream
    await page.waitForFunction(() => Number(document.getElementById('chart-rate')?.getAttribute('data-points')) >= 3, undefined, { timeout: 60_000 });
    await page.waitForFunction(() => Number(document.getElementById('chart-latency')?.getAttribute('data-points')) >= 3, undefined, { timeout: 60_000 });

    // the route table lists the service's routes by template
    await page.waitForFunction(() => {
      const routes = Array.from(document.querySelectorAll('#route-table td.route')).map((td) => td.textContent);
      return routes.includes('/orders') && routes.includes('/users/:id') && routes.includes('/orders/:id');
    }, undefined, { timeout: 60_000 });

    // health shows the database and cache checks
    await page.waitForSelector('#health-table tr[data-check="database"]', { timeout: 60_000 });
    await page.waitForSelector('#health-table tr[data-check="cache"]', { timeout: 60_000 });

    // traces and error logs appear
    await page.waitForSelector('#traces-list .trace', { timeout: 60_000 });
    await page.waitForSelector('#logs-table tbody td.level-error', { timeout: 60_000 });

    // the incident makes an alert fire
    await page.waitForSelector('#alerts-list .alert[data-state="firing"]', { timeout: 120_000 });
    const firing = await page.locator('#alerts-list .alert[data-state="firing"]').first().textContent();
    expect(firing).toMatch(/High(ErrorRate|Latency)|LowApdex/);

    // open the slowest trace's waterfall for the screenshot
    await page.click('#traces-list .trace .row');
    await page.waitForSelector('#traces-list .waterfall:not([hidden]) .span');
    expect(pageErrors).toEqual([]);

    mkdirSync(OUTPUT_DIR, { recursive: true });
    const file = join(OUTPUT_DIR, dir.endsWith('koa') ? 'dashboard-koa.png' : 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
  });
});
