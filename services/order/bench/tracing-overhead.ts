// Tracing overhead: the whole platform four times on one PostgreSQL (a database each), as real
// processes: tracing off, on but sampling nothing, on with the default sampler, and on for every request.
// Driven in turns, each round starting with the next configuration, so that the machine's other load falls on all alike. Prints POST /orders
// throughput, p99 and the services' CPU per confirmed order (which other load barely moves). Spans go
// to an OTLP/HTTP sink in this process that discards them. Never fails on timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '@self-healing-shop/child-server';
import pg from 'pg';
import { TRACING_ENV } from '@self-healing-shop/contracts';
import { startEmbeddedPostgres } from '@self-healing-shop/embedded-postgres';
import { DEFAULT_SAMPLE_RATIO } from '@self-healing-shop/service-kit/tracing';
import { cpuByGroup, cpuDelta } from './cpu-usage.ts';
import { ORDER_REQUESTS } from './order-requests.ts';

// Few connections: four platforms share the machine, and an overloaded one measures its timeouts.
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SERVICES = ['order', 'inventory', 'notification'];
const children: ChildProcess[] = [];
const childNames = new Map<number, string>();

async function start(group: string, service: string, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, `services/${service}/src/main.ts`)], {
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      POD_NAME: `${service}-${group}`,
    },
    // Logs are written (their cost is part of the figures) but not shown: the shutdown's are noise here.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  if (child.pid !== undefined) childNames.set(child.pid, group);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${service} (${group}) exited with ${child.exitCode}`);
    if (
      await fetch(`${url}/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
    if (Date.now() > deadline) throw new Error(`${service} (${group}) not ready within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A platform (inventory, notification, order) on its own database; returns order's URL. */
async function platform(group: string, adminUrl: string, tracing: Record<string, string>): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "bench_${group}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/bench_${group}`;
  const env = { DATABASE_URL: url.toString(), ...tracing };
  const [inventory, notification] = await Promise.all([
    start(group, 'inventory', env),
    start(group, 'notification', env),
  ]);
  return start(group, 'order', { ...env, INVENTORY_URL: inventory, NOTIFICATION_URL: notification });
}

interface Figures {
  ok: number;
  other: number;
  seconds: number;
  latencies: number[];
  cpuMs: number;
  /** CPU µs per order of each turn: the spread says how much to trust the averages. */
  turns: number[];
  /** Orders/s of each turn, to compare each configuration with tracing off in the same round. */
  rates: number[];
}

async function drive(url: string, durationS: number, into?: Figures, group?: string): Promise<void> {
  const before = cpuByGroup(childNames);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: durationS,
        requests: ORDER_REQUESTS,
      },
      (error, r) => (error ? reject(error) : resolve(r)),
    );
    instance.on('response', (_c, _s, _b, responseTime) => into?.latencies.push(responseTime));
  });
  if (!into || !group) return;
  into.ok += result['2xx'];
  into.other += result.non2xx + result.errors + result.timeouts;
  into.seconds += durationS;
  const cpuMs = cpuDelta(before, cpuByGroup(childNames)).get(group) ?? 0;
  into.cpuMs += cpuMs;
  into.turns.push(Math.round((cpuMs / Math.max(1, result['2xx'])) * 1000));
  into.rates.push(result['2xx'] / durationS);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const percent = (ratio: number) => `${((ratio - 1) * 100).toFixed(1)} %`;

/**
 * Each round drives every configuration once, one after the other (starting with a different one each
 * round, so that none is always first or last), so the machine's drift (another process, a noisy
 * neighbour of the VM) falls mostly within a round: the median over the rounds of a configuration's
 * ratio to tracing off in the same round is steadier than the ratio of the totals. A round in which
 * either turn confirmed nothing is left out.
 */
function pairedMedians(f: Figures, off: Figures): string {
  const rounds = f.rates.map((_, i) => i).filter((i) => f.rates[i]! > 0 && off.rates[i]! > 0);
  if (rounds.length === 0) return 'no round with orders confirmed in both turns';
  const rate = median(rounds.map((i) => f.rates[i]! / off.rates[i]!));
  const cpu = median(rounds.map((i) => f.turns[i]! / off.turns[i]!));
  return `median of the rounds' ratios to off: throughput ${percent(rate)}, CPU per order ${percent(cpu)}`;
}

const p99 = (sorted: number[]) =>
  sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? NaN;

// The OTLP/HTTP receiver stand-in: reads and drops every export.
let exported = 0;
const sink = createHttpServer((req, res) => {
  req.on('data', (chunk: Buffer) => (exported += chunk.length));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;

const configs = [
  { group: 'off', label: 'tracing off', env: {} },
  {
    // The SDK loaded and every request turned away at the door: what tracing costs before any trace.
    group: 'none',
    label: 'tracing on, nothing sampled (always_off)',
    env: { [TRACING_ENV.endpoint]: endpoint, [TRACING_ENV.sampler]: 'always_off' },
  },
  {
    group: 'default',
    label: `tracing on, default (parentbased_traceidratio ${DEFAULT_SAMPLE_RATIO})`,
    env: { [TRACING_ENV.endpoint]: endpoint },
  },
  {
    group: 'all',
    label: 'tracing on, every request (ratio 1)',
    env: { [TRACING_ENV.endpoint]: endpoint, [TRACING_ENV.samplerArg]: '1' },
  },
] as const;

const db = await startEmbeddedPostgres();
try {
  const urls = new Map<string, string>();
  for (const c of configs) urls.set(c.group, await platform(c.group, db.url, c.env));
  const figures = new Map(
    configs.map((c) => [
      c.group,
      { ok: 0, other: 0, seconds: 0, latencies: [], cpuMs: 0, turns: [], rates: [] } as Figures,
    ]),
  );
  for (const c of configs) await drive(urls.get(c.group)!, 2);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < configs.length; k++) {
      const c = configs[(round + k) % configs.length]!;
      await drive(urls.get(c.group)!, DURATION_S, figures.get(c.group), c.group);
    }
  }
  console.log(
    `${new Date().toISOString()} (load average ${loadavg()[0]!.toFixed(1)}): POST /orders, ${CONNECTIONS} connections, ${ROUNDS} turns of ${DURATION_S} s per configuration, ` +
      `${SERVICES.join(' + ')} as processes`,
  );
  const off = figures.get('off')!;
  const offRate = off.ok / off.seconds;
  const offCpu = off.cpuMs / off.ok;
  for (const c of configs) {
    const f = figures.get(c.group)!;
    const rate = f.ok / f.seconds;
    const cpu = f.cpuMs / f.ok;
    f.latencies.sort((a, b) => a - b);
    console.log(
      `${c.label.padEnd(56)} ${rate.toFixed(0).padStart(5)} orders/s (${(((rate - offRate) / offRate) * 100).toFixed(1).padStart(5)} %)` +
        `   p99 ${p99(f.latencies).toFixed(0).padStart(4)} ms   services' CPU ${(cpu * 1000).toFixed(0)} µs/order` +
        ` (${(((cpu - offCpu) / offCpu) * 100).toFixed(1)} %; turns ${f.turns.join(', ')})   non-2xx or errors ${f.other}`,
    );
    if (c.group !== 'off') console.log(`${''.padEnd(56)} ${pairedMedians(f, off)}`);
  }
  console.log(`spans exported: ${(exported / 1e6).toFixed(1)} MB of OTLP JSON`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
  );
  sink.close();
  await db.stop();
}
