import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { apdexRule, burnRateRule, errorRateRule, healthRule, latencyRule, thresholdRule, toPrometheusRules } from '../src/index';

const run = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

const rules = [
  errorRateRule({ for: '5m' }),
  latencyRule({ for: '10m' }),
  apdexRule({ for: '10m', keepFiringFor: '5m' }),
  burnRateRule({ objective: 0.999 }),
  errorRateRule({ name: 'RouteErrors', byRoute: true, threshold: 0.2, window: '1h', severity: 'critical', minRequests: 20 }),
  healthRule(),
  thresholdRule({ name: 'HighHeap', value: () => process.memoryUsage().heapUsed, threshold: 1e9 }),
  thresholdRule({ name: 'HighRss', value: () => process.memoryUsage().rss, threshold: 2e9, expr: 'process_resident_memory_bytes{job="orders"} > 2e9' }),
];

describe('toPrometheusRules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
  const file = join(dir, 'orders-alerts.yml');
  const yaml = toPrometheusRules(rules, { job: 'orders' });
  writeFileSync(file, yaml);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one rule group with the guide\'s three rules and every metric-based rule', () => {
    const doc = parse(yaml) as { groups: Array<{ name: string; interval: string; rules: Array<{ alert: string; expr: string; for?: string; keep_firing_for?: string; labels: Record<string, string> }> }> };
    expect(doc.groups).toHaveLength(1);
    expect(doc.groups[0]).toMatchObject({ name: 'orders_alerts', interval: '30s' });
    const list = doc.groups[0].rules;
    expect(list.map((r) => `${r.alert}/${r.labels.severity}`)).toEqual([
      'HighErrorRate/warning', 'HighLatency/warning', 'LowApdex/warning', 'ErrorBudgetBurn/critical', 'ErrorBudgetBurn/warning',
      'RouteErrors/critical', 'HealthCheckFailing/critical', 'HighRss/warning', 'ServiceDown/critical',
    ]);
    expect(list[0].expr).toContain('http_requests_total{job="orders",status_code=~"5.."}[5m]');
    expect(list[1].expr).toContain('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="orders"}[5m])))');
    expect(list[2]).toMatchObject({ for: '10m', keep_firing_for: '5m' });
    expect(list[5].expr).toContain('sum by (route)');
    expect(list[5].expr).toContain('and\nsum by (route)(increase(http_requests_total{job="orders"}[1h])) >= 20');
    expect(list[6].expr).toBe('health_check_status{job="orders"} == 0');
    expect(list[8]).toMatchObject({ expr: 'up{job="orders"} == 0', for: '1m' });
    expect(yaml).toMatch(/# Not exported .*: HighHeap \(threshold\)$/m);
  });

  it('passes promtool check rules', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', file]);
    expect(stdout).toMatch(/SUCCESS: 9 rules found/);
  });

  it('passes promtool test rules: HighErrorRate fires on 10 % 5xx held longer than `for`, and the others behave', async () => {
    const series = (status: string, perMinute: number) => ({ series: `http_requests_total{job="orders",method="GET",route="/orders",status_code="${status}"}`, values: `0+${perMinute}x30` });
    const bucket = (le: string, perMinute: number) => ({ series: `http_request_duration_seconds_bucket{job="orders",method="GET",route="/orders",status_code="200",le="${le}"}`, values: `0+${perMinute}x30` });
    const tests = {
      rule_files: ['orders-alerts.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          name: '10% of requests fail',
          interval: '1m',
          input_series: [series('200', 54), series('500', 6)],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'HighErrorRate', exp_alerts: [] }, // pending: `for` is 5m
            {
              eval_time: '15m', alertname: 'HighErrorRate',
              exp_alerts: [{ exp_labels: { severity: 'warning' }, exp_annotations: { summary: 'High error rate detected', description: 'Error rate is 10%' } }],
            },
            {
              eval_time: '15m', alertname: 'ErrorBudgetBurn',
              exp_alerts: ['critical', 'warning'].map((severity) => ({
                exp_labels: { severity },
                exp_annotations: { summary: 'Error budget of the 99.9% SLO is burning', description: 'Burning the error budget at 100x the sustainable rate' },
              })),
            },
          ],
        },
        {
          name: '1% of requests fail: below the 5% threshold',
          interval: '1m',
          input_series: [series('200', 99), series('500', 1)],
          alert_rule_test: [{ eval_time: '20m', alertname: 'HighErrorRate', exp_alerts: [] }],
        },
        {
          name: 'per-route errors, with minRequests',
          interval: '1m',
          input_series: [
            { series: 'http_requests_total{job="orders",method="GET",route="/busy",status_code="200"}', values: '0+1x40' },
            { series: 'http_requests_total{job="orders",method="GET",route="/busy",status_code="500"}', values: '0+1x40' },
            // a route that fails every time but sees 6 requests an hour: under minRequests (20)
            { series: 'http_requests_total{job="orders",method="GET",route="/rare",status_code="500"}', values: '0+0.1x40' },
          ],
          alert_rule_test: [{
            eval_time: '30m', alertname: 'RouteErrors',
            exp_alerts: [{ exp_labels: { severity: 'critical', route: '/busy' }, exp_annotations: { summary: 'High error rate on /busy', description: 'Error rate is 50%' } }],
          }],
        },
        {
          name: 'p95 latency 2.4 s',
          interval: '1m',
          input_series: [bucket('0.5', 0), bucket('1', 0), bucket('2.5', 10), bucket('+Inf', 10)],
          alert_rule_test: [
            { eval_time: '8m', alertname: 'HighLatency', exp_alerts: [] },
            { eval_time: '15m', alertname: 'HighLatency', exp_alerts: [{ exp_labels: { severity: 'warning' }, exp_annotations: { summary: 'High latency detected', description: 'P95 latency is 2.425s' } }] },
          ],
        },
        {
          name: 'a health check fails',
          interval: '1m',
          input_series: [
            { series: 'health_check_status{job="orders",instance="orders:3000",check="database"}', values: '1 1 0 0 0' },
            { series: 'health_check_status{job="orders",instance="orders:3000",check="cache"}', values: '1 0.5 0.5 1 1' },
          ],
          alert_rule_test: [{
            eval_time: '3m', alertname: 'HealthCheckFailing',
            exp_alerts: [{ exp_labels: { severity: 'critical', job: 'orders', instance: 'orders:3000', check: 'database' }, exp_annotations: { summary: 'Health check database is failing' } }],
          }],
        },
        {
          name: 'scrape target down',
          interval: '1m',
          input_series: [{ series: 'up{job="orders",instance="orders:3000"}', values: '1 1 0 0 0 0' }],
          alert_rule_test: [{
            eval_time: '5m', alertname: 'ServiceDown',
            exp_alerts: [{ exp_labels: { severity: 'critical', job: 'orders', instance: 'orders:3000' }, exp_annotations: { summary: 'Service is down', description: 'orders:3000 is unreachable' } }],
          }],
        },
      ],
    };
    const testFile = join(dir, 'orders-alerts.test.yml');
    writeFileSync(testFile, JSON.stringify(tests, null, 2)); // JSON is YAML
    const result = await run(PROMTOOL, ['test', 'rules', testFile]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${result.stdout}${result.stderr}`).toMatch(/SUCCESS/);
  });

  it('rejects missing job and non-rules', () => {
    expect(() => toPrometheusRules(rules, {} as { job: string })).toThrow(/needs \{ job \}/);
    expect(() => toPrometheusRules([{} as never], { job: 'x' })).toThrow(/rules\[0\] is not a rule/);
  });
});
