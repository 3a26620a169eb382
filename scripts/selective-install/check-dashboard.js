// @vigil/dashboard alone in an app with only express: no logger, metrics, tracing, health or alerts.
const http = require('node:http');
const express = require('express');
const { expressDashboard } = require('@vigil/dashboard');
const { withServer, assertAbsent, assert } = require('./lib');

/** The first `count` Server-Sent Events of `url`. */
function events(url, count) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
        const blocks = text.split('\n\n').filter((b) => b.includes('data: '));
        if (blocks.length >= count) {
          req.destroy();
          resolve(blocks.map((b) => b.match(/^event: (.*)$/m)[1]));
        }
      });
    });
    req.on('error', reject);
  });
}

(async () => {
  assertAbsent('pino', 'prom-client', '@opentelemetry/api', 'koa', '@vigil/health', '@vigil/alerts');
  const app = express();
  app.use(expressDashboard());
  app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
  await withServer(app, async (base) => {
    await fetch(`${base}/users/1`);
    const page = await fetch(`${base}/_vigil`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /\/_vigil\/assets\/uplot\.js/);
    const uplot = await fetch(`${base}/_vigil/assets/uplot.js`);
    assert.equal(uplot.status, 200);
    assert.match(await uplot.text(), /uPlot/);
    assert.equal((await fetch(`${base}/_vigil/assets/dashboard.js`)).status, 200);
    const snap = await (await fetch(`${base}/_vigil/snapshot.json`)).json();
    assert.ok(snap.routes.some((r) => r.route === '/users/:id'));
    assert.equal(snap.health, undefined); // no health package: no health section
    assert.deepEqual(await events(`${base}/_vigil/events`, 2), ['history', 'tick']);
  });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
