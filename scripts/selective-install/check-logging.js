// @vigil/logging alone in an app with only express: pino comes with it; no metrics or tracing library.
const express = require('express');
const { createLogger, expressLogging } = require('@vigil/logging');
const { withServer, assertAbsent, assert } = require('./lib');

(async () => {
  assertAbsent('prom-client', '@opentelemetry/sdk-trace-base', 'koa');
  const lines = [];
  const logger = createLogger({ service: 'selective', destination: { write: (line) => lines.push(JSON.parse(line)) } });
  const app = express();
  app.use(expressLogging({ logger }));
  app.get('/users/:id', (req, res) => {
    req.log.info({ user_id: req.params.id }, 'loading user');
    res.json({ id: req.params.id });
  });
  await withServer(app, async (base) => {
    const res = await fetch(`${base}/users/7?token=secret-value`, { headers: { 'x-request-id': 'sel-log', authorization: 'Bearer abc' } });
    assert.equal(res.status, 200);
  });
  await new Promise((r) => setTimeout(r, 50));
  const access = lines.find((l) => l.route === '/users/:id');
  assert.ok(access, 'one access line with the route template');
  assert.equal(access.request_id, 'sel-log');
  assert.equal(lines.find((l) => l.message === 'loading user').request_id, 'sel-log');
  const text = JSON.stringify(lines);
  assert.ok(!text.includes('secret-value') && !text.includes('Bearer abc'), 'secrets stay out');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
