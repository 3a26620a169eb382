/**
 * `npm run demo:load`: bounded traffic against the order service so the dashboard fills and an
 * alert fires, then resolves.
 *
 *   1. warm-up      normal traffic (orders, order lookups, user lookups, a few 404s)
 *   2. incident     POST /demo/incident: the payment provider is slow and fails a third of the time;
 *                   the error-rate, latency and Apdex rules go pending, then firing
 *   3. recovery     normal traffic again; the alerts resolve
 *
 * Environment: BASE_URL (default http://127.0.0.1:3000), RPS (default 25), WARMUP_S (20),
 * INCIDENT_S (40), RECOVERY_S (20). At most RPS × total seconds requests, 32 in flight.
 */
const base = (process.env.BASE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(/\/$/, '');
const rps = Math.min(200, Math.max(1, Number(process.env.RPS ?? 25)));
const phases = [
  { name: 'warm-up', seconds: Number(process.env.WARMUP_S ?? 20) },
  { name: 'incident', seconds: Number(process.env.INCIDENT_S ?? 40) },
  { name: 'recovery', seconds: Number(process.env.RECOVERY_S ?? 20) },
];
const MAX_IN_FLIGHT = 32;
const SKUS = ['book', 'lamp', 'mug', 'pen', 'desk'];

const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)];
const createdOrders: string[] = [];
const statusCounts = new Map<string, number>();
let inFlight = 0;
let sent = 0;

async function one(): Promise<void> {
  const r = Math.random();
  let res: Response;
  if (r < 0.45) {
    const items = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({ sku: pick(SKUS), qty: 1 + Math.floor(Math.random() * 3) }));
    const userId = Math.random() < 0.03 ? 9999 : 1 + Math.floor(Math.random() * 200);
    res = await fetch(`${base}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId, items }) });
    if (res.status === 201) {
      const order = (await res.json()) as { id: string };
      createdOrders.push(order.id);
      if (createdOrders.length > 500) createdOrders.shift();
    } else await res.arrayBuffer();
  } else if (r < 0.7 && createdOrders.length > 0) {
    res = await fetch(`${base}/orders/${Math.random() < 0.05 ? 'ORD-0' : pick(createdOrders)}`);
    await res.arrayBuffer();
  } else {
    res = await fetch(`${base}/users/${1 + Math.floor(Math.random() * (Math.random() < 0.05 ? 1000 : 200))}`);
    await res.arrayBuffer();
  }
  const key = `${res.status}`;
  statusCounts.set(key, (statusCounts.get(key) ?? 0) + 1);
}

async function runPhase(seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  const gap = 1000 / rps;
  let next = Date.now();
  while (Date.now() < end) {
    if (inFlight < MAX_IN_FLIGHT) {
      inFlight++;
      sent++;
      one()
        .catch((error: Error) => statusCounts.set(`error ${error.message}`, (statusCounts.get(`error ${error.message}`) ?? 0) + 1))
        .finally(() => inFlight--);
    }
    next += gap;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
}

async function main(): Promise<void> {
  console.log(`demo:load → ${base} at ~${rps} req/s; watch ${base}/_vigil`);
  for (const phase of phases) {
    if (phase.name === 'incident') {
      const res = await fetch(`${base}/demo/incident`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seconds: phase.seconds }) });
      console.log(`incident: payment provider degraded for ${phase.seconds} s (${res.status})`);
    }
    console.log(`${phase.name}: ${phase.seconds} s`);
    await runPhase(phase.seconds);
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 50));
  console.log(`done: ${sent} requests`, Object.fromEntries(statusCounts));
}

main().catch((error: unknown) => {
  console.error('demo:load failed:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
