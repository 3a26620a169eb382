// Profiles one scenario in-process (load comes from a child): `npm run profile -w bench -- <scenario> [requests]`
// writes a .cpuprofile under bench/profiles/ (open it in Chrome DevTools or speedscope). autocannon
// is not imported here: it would load `domain` into the profiled process and change what it measures.
import { findScenario } from './scenarios';

async function main(): Promise<void> {
  const scenario = findScenario(process.argv[2]);
  const amount = Number(process.argv[3] ?? 20000);
  const server = await scenario.start();
  const port = (server.address() as { port: number }).port;
  const { fork } = require('node:child_process') as typeof import('node:child_process');
  // load from a child process so the profile holds the server only
  const child = fork(require.resolve('autocannon/autocannon.js'), ['-a', String(amount), '-c', '20', `http://127.0.0.1:${port}${scenario.path ?? '/users/42'}`], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  server.close();
  process.exit(0);
}
main();
