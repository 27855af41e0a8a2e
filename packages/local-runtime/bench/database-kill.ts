// SIGKILL of PostgreSQL (postgres-0) under a fixed-rate order load on a running local runtime; prints
// how orders fared, when the database and the first order were back, and whether every order answered
// 201 can be read back. Never fails on figures.
//   node packages/local-runtime/bench/database-kill.ts [--control http://127.0.0.1:7070] [--order http://127.0.0.1:8080]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_URL, DEFAULT_ORDER_URL } from '@self-healing-shop/contracts';
import { ControlClient } from '../src/control-plane/control-client.ts';

const { values } = parseArgs({
  options: {
    control: { type: 'string', default: DEFAULT_CONTROL_URL },
    order: { type: 'string', default: DEFAULT_ORDER_URL },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const control = new ControlClient(values.control);
const database = (await control.replicas()).find((r) => r.name === 'postgres-0');
if (!database?.pid) throw new Error('no running postgres-0: start the platform with make up');

const statuses: Record<string, number> = {};
const acknowledged: string[] = [];
const started = Date.now();
const killAt = started + 5_000;
let firstOkAfterKill: number | undefined;
const killed = new Promise<void>((resolve) =>
  setTimeout(() => {
    process.kill(database.pid!, 'SIGKILL');
    resolve();
  }, killAt - Date.now()),
);
const readyAgain = (async () => {
  await killed;
  for await (const event of control.events())
    if (event.type === 'ready' && event.replica === 'postgres-0') return Date.now();
  return undefined;
})();

async function placeOrder(): Promise<void> {
  const sent = Date.now();
  const response = await fetch(`${values.order}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ customer: { email: 'a@b.c' }, items: [{ productId: 'p-001', quantity: 1 }] }),
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  const key = String(response?.status ?? 'error');
  statuses[key] = (statuses[key] ?? 0) + 1;
  if (response?.status !== 201) return;
  acknowledged.push(((await response.json()) as { id: string }).id);
  if (sent > killAt && firstOkAfterKill === undefined) firstOkAfterKill = Date.now();
}

const inflight: Array<Promise<void>> = [];
for (let i = 0; i < rate * seconds; i += 1) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i * 1000) / rate - Date.now())));
  inflight.push(placeOrder());
}
await Promise.all(inflight);
let missing = 0;
for (const id of acknowledged) if ((await fetch(`${values.order}/orders/${id}`)).status !== 200) missing += 1;
const ready = await Promise.race([
  readyAgain,
  new Promise<undefined>((r) => setTimeout(() => r(undefined), 1_000)),
]);
console.log(
  JSON.stringify({
    date: new Date().toISOString(),
    rate,
    seconds,
    statuses,
    acknowledged: acknowledged.length,
    acknowledgedMissing: missing,
    postgresReadyAfterKillMs: ready === undefined ? null : ready - killAt,
    firstOrderOkAfterKillMs: firstOkAfterKill === undefined ? null : firstOkAfterKill - killAt,
  }),
);
process.exit(0);
