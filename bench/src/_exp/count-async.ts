import { createHook } from 'node:async_hooks';
import { findScenario } from '../scenarios';
const counts: Record<string, number> = {};
let on = false;
createHook({ init(_id, type) { if (on) counts[type] = (counts[type] ?? 0) + 1; } }).enable();
async function main() {
  const s = findScenario(process.argv[2]);
  const server = await s.start();
  const port = (server.address() as { port: number }).port;
  const { fork } = require('node:child_process');
  const run = (n: number) => new Promise((r) => fork(require.resolve('autocannon/autocannon.js'), ['-a', String(n), '-c', '10', `http://127.0.0.1:${port}/users/42`], { stdio: 'ignore' }).once('exit', r));
  await run(2000);
  on = true; await run(5000); on = false;
  console.log(process.argv[2], Object.entries(counts).map(([k, v]) => `${k}=${(v / 5000).toFixed(2)}`).join(' '));
  process.exit(0);
}
main();
