/**
 * `npm run scrape -w bench [-- --routes 49 --scrapes 50]`: how long one scrape of @vigil/metrics
 * takes with about 10,000 series. Records requests for `--routes` routes × 2 methods × 3 statuses
 * (each label set is a counter, a duration histogram with its buckets, sum and count, and the two
 * size histograms), then times `scrape()` in the Prometheus text format and in OpenMetrics, and
 * prom-client's own `registry.metrics()` on the same registry for comparison. Prints the series
 * count (sample lines of the exposition) and the median and worst time of `--scrapes` scrapes
 * after five unmeasured ones.
 */
import { performance } from 'node:perf_hooks';
import { createMetrics } from '@vigil/metrics';
import { median } from './stats';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} needs a whole number above 0`);
  return value;
}

async function timeIt(label: string, scrapes: number, scrape: () => Promise<string>): Promise<void> {
  let body = '';
  for (let i = 0; i < 5; i++) body = await scrape();
  const times: number[] = [];
  for (let i = 0; i < scrapes; i++) {
    const start = performance.now();
    body = await scrape();
    times.push(performance.now() - start);
  }
  const series = body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  console.log(`${label.padEnd(34)} ${String(series).padStart(6)} series  median ${median(times).toFixed(1).padStart(6)} ms  worst ${Math.max(...times).toFixed(1).padStart(6)} ms  (${(body.length / 1024).toFixed(0)} KiB)`);
}

async function main(): Promise<void> {
  const routes = option('--routes', 49);
  const scrapes = option('--scrapes', 50);
  const metrics = createMetrics();
  let n = 0;
  for (let r = 0; r < routes; r++) {
    for (const method of ['GET', 'POST']) {
      for (const status of [200, 404, 500]) {
        for (let i = 0; i < 20; i++) {
          n++;
          metrics.recordRequest({ method, route: `/service-${r}/items/:id`, status, durationSeconds: ((n * 7919) % 3000) / 1000, requestBytes: n % 2048, responseBytes: (n * 31) % 65536 });
        }
      }
    }
  }
  console.log(`${routes * 6} label sets, ${n} requests recorded`);
  await timeIt('vigil scrape(), text', scrapes, async () => (await metrics.scrape(false)).body);
  await timeIt('vigil scrape(), OpenMetrics', scrapes, async () => (await metrics.scrape(true)).body);
  await timeIt('prom-client registry.metrics()', scrapes, () => metrics.registry.metrics());
  metrics.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
