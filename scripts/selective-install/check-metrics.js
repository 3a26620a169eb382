// @vigil/metrics alone in an app with only express: prom-client comes with it; no logger or tracing library.
const express = require('express');
const { expressMetrics } = require('@vigil/metrics');
const { withServer, assertAbsent, assert } = require('./lib');

(async () => {
  assertAbsent('pino', '@opentelemetry/sdk-trace-base', 'koa');
  const app = express();
  const metrics = expressMetrics({ defaultMetrics: false });
  app.use(metrics);
  app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
  await withServer(app, async (base) => {
    assert.equal((await fetch(`${base}/users/7`)).status, 200);
    await new Promise((r) => setTimeout(r, 50));
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /http_requests_total\{[^}]*route="\/users\/:id"[^}]*\} 1/);
    assert.match(text, /http_request_duration_seconds_bucket/);
  });
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
