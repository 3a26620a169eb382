// @vigil/core alone in an app with only express.
const express = require('express');
const { observeExpress, runInExchange, currentExchange } = require('@vigil/core');
const { withServer, assertAbsent, assert } = require('./lib');

(async () => {
  assertAbsent('pino', 'prom-client', '@opentelemetry/api', 'koa');
  assert.ok(require.resolve('@vigil/core').startsWith(process.cwd()), 'resolves the installed tarball');
  const ended = [];
  const app = express();
  app.use((req, res, next) => {
    const ex = observeExpress(req, res);
    ex.onEnd((done) => ended.push(done));
    runInExchange(ex, next);
  });
  app.get('/users/:id', (req, res) => res.json({ id: req.params.id, requestId: currentExchange().requestId }));
  await withServer(app, async (base) => {
    const res = await fetch(`${base}/users/7`, { headers: { 'x-request-id': 'sel-1' } });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).requestId, 'sel-1');
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ended.length, 1);
  assert.equal(ended[0].route, '/users/:id');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
