// @vigil/health alone in an app with only express: no logger, metrics or tracing library installed.
const express = require('express');
const { createHealth, expressHealth } = require('@vigil/health');
const { withServer, assertAbsent, assert } = require('./lib');

(async () => {
  assertAbsent('pino', 'prom-client', '@opentelemetry/api', 'koa');
  const health = createHealth({ service: 'selective', version: '1.0.0' });
  health.register('database', async () => ({ status: 'pass' }), { critical: true });
  const app = express();
  app.use(expressHealth(health));
  await withServer(app, async (base) => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/health\+json/);
    const body = await res.json();
    assert.equal(body.status, 'pass');
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  });
  await health.close?.();
  for (const name of Object.keys(require.cache)) {
    assert.ok(!/node_modules\/(pino|prom-client|@opentelemetry)\//.test(name), `${name} should not be loaded`);
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
