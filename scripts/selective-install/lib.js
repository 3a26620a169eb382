// Helpers shared by the selective-install checks: they run inside an empty app where only express
// and the packed tarballs are installed.
const http = require('node:http');
const assert = require('node:assert/strict');

/** Serves `app` on 127.0.0.1, runs `fn(baseUrl)`, then closes. */
async function withServer(app, fn) {
  const server = http.createServer(app);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    await fn(base);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** Asserts that a module is NOT installed in this app (the package must work without it). */
function assertAbsent(...names) {
  for (const name of names) {
    assert.throws(() => require.resolve(name, { paths: [process.cwd()] }), /Cannot find module/, `${name} should not be installed`);
  }
}

module.exports = { withServer, assertAbsent, assert };
