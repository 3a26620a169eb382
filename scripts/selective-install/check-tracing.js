// @vigil/tracing alone in an app with only express: OpenTelemetry comes with it; no logger or metrics library.
const express = require('express');
const { setupTracing, expressTracing } = require('@vigil/tracing');
const { withServer, assertAbsent, assert } = require('./lib');

(async () => {
  assertAbsent('pino', 'prom-client', 'koa');
  const tracing = setupTracing({ serviceName: 'selective', exporter: 'memory' });
  const app = express();
  app.use(expressTracing());
  app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
  await withServer(app, async (base) => {
    const res = await fetch(`${base}/users/7`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('traceresponse'), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/);
  });
  await tracing.forceFlush();
  const names = tracing.finishedSpans().map((s) => s.name);
  assert.ok(names.includes('GET /users/:id'), `span named by route, got ${names}`);
  await tracing.shutdown();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
