// @vigil/alerts alone in an app with only express: no logger, metrics or tracing library.
const { createAlerts, thresholdRule, logChannel, errorRateRule, toPrometheusRules } = require('@vigil/alerts');
const { assertAbsent, assert } = require('./lib');

(async () => {
  assertAbsent('pino', 'prom-client', '@opentelemetry/api', 'koa');
  const lines = [];
  const logger = { info: (...a) => lines.push(['info', a]), warn: (...a) => lines.push(['warn', a]), error: (...a) => lines.push(['error', a]) };
  let value = 10;
  const alerts = createAlerts({
    channels: [logChannel(logger)],
    rules: [thresholdRule({ name: 'QueueTooLong', value: () => value, op: '>', threshold: 5, severity: 'warning' })],
  });
  alerts.evaluate();
  await new Promise((r) => setTimeout(r, 200));
  const yaml = toPrometheusRules([errorRateRule({ name: 'HighErrorRate', threshold: 0.05, window: '5m', for: '5m' })], { job: 'selective' });
  assert.match(yaml, /alert: HighErrorRate/);
  assert.ok(alerts.snapshot().alerts.some((a) => a.name === 'QueueTooLong' && a.state === 'firing'), 'the rule fires');
  await alerts.close?.();
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
