/**
 * One benchmark server process. Started by run.ts with the scenario name; reports its port over
 * IPC and answers `cpu` messages with its own CPU usage, so the figure is the server's alone.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { findScenario } from './scenarios';

/** Time spent in garbage collection since start, µs (what allocation costs shows up as). */
let gcUs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcUs += entry.duration * 1000;
}).observe({ entryTypes: ['gc'] });

async function main(): Promise<void> {
  const name = process.argv[2];
  const scenario = findScenario(name);
  const server = await scenario.start();
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'cpu') {
      const usage = process.cpuUsage();
      process.send?.({ type: 'cpu', user: usage.user, system: usage.system, gcUs, rss: process.memoryUsage().rss });
    } else if (msg.type === 'stop') {
      server.close();
      process.exit(0);
    }
  });
  process.send?.({ type: 'ready', port });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
