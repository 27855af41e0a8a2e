// MTTR of the local runtime: time from a SIGKILL to the replacement being ready (median of N kills),
// then the failed orders while the load generator sends 50 orders/s through the order front during 5 kills.
// Each kill is split into phases: kill -> process started (the runtime's `started` event) -> listening
// (the replica's own `listening` log line) -> ready (the runtime's `ready` event, from the probes).
// Runs the real platform (k8s/base, services/*) on free ports in a temporary folder; prints figures,
// never fails on timing.  Usage: pnpm --filter @self-healing-shop/local-runtime bench [-- --kills 10 --load-kills 5 --rate 50 --no-bundle]
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startLoad } from '@self-healing-shop/loadgen';
import type { RuntimeEvent } from '../src/control-plane/event-log.ts';
import { freePort } from '../src/networking/ports.ts';
import { startRuntime } from '../src/runtime.ts';
import type { Runtime } from '../src/runtime.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    kills: { type: 'string', default: '10' },
    'load-kills': { type: 'string', default: '5' },
    rate: { type: 'string', default: '50' },
    // Replicas from their sources (node services/<name>/src/main.ts), as before bundles: to compare.
    'no-bundle': { type: 'boolean', default: false },
  },
});
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SERVICES = ['order', 'inventory', 'notification'];

function waitEvent(
  runtime: Runtime,
  after: number,
  match: (e: RuntimeEvent) => boolean,
  timeoutMs = 120_000,
): Promise<RuntimeEvent> {
  const seen = runtime.events.after(after).find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
    const off = runtime.events.subscribe((e) => {
      if (e.seq > after && match(e)) {
        clearTimeout(timer);
        off();
        resolve(e);
      }
    });
  });
}

async function allReady(runtime: Runtime): Promise<void> {
  const deadline = Date.now() + 180_000;
  while ([...runtime.controllers.values()].some((c) => c.status().readyReplicas < c.desired)) {
    if (Date.now() > deadline) throw new Error('the platform did not become ready within 180 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Recovery {
  readonly service: string;
  /** ms from the kill to the replacement's process start, to its `listening` log line, to ready. */
  readonly started: number;
  readonly listening: number;
  readonly ready: number;
  /** CPU ms (user + system) the replacement had used when it was seen ready: what start-up costs. */
  readonly cpuMs: number;
}

/** CPU ms used so far by a process (Linux /proc; NaN elsewhere or once it has exited). */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ 100
  } catch {
    return Number.NaN;
  }
}

/** When the replica's own log says it listened (the kit's `listening` line), as epoch ms. */
async function listenedAt(runtime: Runtime, replica: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const log = await readFile(path.join(runtime.plan.logsDir, `${replica}.log`), 'utf8').catch(() => '');
    for (const line of log.split('\n')) {
      if (!line.includes('"msg":"listening"')) continue;
      const { time } = JSON.parse(line) as { time: string | number };
      return typeof time === 'number' ? time : Date.parse(time);
    }
    if (Date.now() > deadline) return Number.NaN;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGKILLs one ready replica of `service`; resolves with the phases of its replacement's recovery. */
async function killOne(runtime: Runtime, service: string): Promise<Recovery> {
  const controller = runtime.controllers.get(service)!;
  const victim = controller.readyReplicas[0]!;
  const from = runtime.events.lastSeq;
  const killedAt = Date.now();
  controller.kill(victim, 'SIGKILL');
  const replaced = await waitEvent(runtime, from, (e) => e.type === 'replaced' && e.replica === victim.name);
  const successor = replaced.reason!.replace('by ', '');
  const started = await waitEvent(runtime, from, (e) => e.type === 'started' && e.replica === successor);
  const ready = await waitEvent(runtime, from, (e) => e.type === 'ready' && e.replica === successor);
  const cpuMs = cpuMsOf(Number(/pid (\d+)/.exec(started.reason ?? '')?.[1]));
  const recovery = {
    cpuMs,
    service,
    started: Date.parse(started.at) - killedAt,
    listening: (await listenedAt(runtime, successor)) - killedAt,
    ready: Date.parse(ready.at) - killedAt,
  };
  console.log(
    `  kill ${service.padEnd(12)} started +${recovery.started} ms, listening +${recovery.listening} ms, ready +${recovery.ready} ms (start-up CPU ${recovery.cpuMs} ms)`,
  );
  return recovery;
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, p95 ${at(0.95)} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms (n=${sorted.length})`;
}

/** The three phases' medians: where a slow recovery spends its time. */
function phases(recoveries: readonly Recovery[]): string {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
  const started = median(recoveries.map((r) => r.started));
  const listening = median(recoveries.map((r) => r.listening));
  const ready = median(recoveries.map((r) => r.ready));
  const cpu = median(recoveries.map((r) => r.cpuMs));
  return `medians: started +${started} ms, listening +${listening} ms, ready +${ready} ms, start-up CPU ${cpu} ms`;
}

/** `kills` kills while the load generator sends `rate` orders/s through the order front. */
async function killsUnderLoad(runtime: Runtime, rate: number, kills: number): Promise<void> {
  const load = startLoad({
    url: runtime.frontUrls['order']!,
    productsUrl: runtime.frontUrls['inventory']!,
    rate,
    durationMs: 600_000,
  });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const underLoad: Recovery[] = [];
  for (let i = 0; i < kills; i += 1) {
    underLoad.push(await killOne(runtime, SERVICES[i % SERVICES.length]!));
    await allReady(runtime);
  }
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  load.stop();
  const report = await load.done;
  console.log(
    `under load (${rate} orders/s), ${kills} kills: MTTR ${stats(underLoad.map((r) => r.ready))}; ${phases(underLoad)} ` +
      `(load average ${os.loadavg()[0]!.toFixed(1)})`,
  );
  console.log(
    `orders: sent ${report.sent}, failed ${report.failed} (${((1 - report.successRatio) * 100).toFixed(2)}%), errors ${JSON.stringify(report.errorsByKind)}, latency p50 ${report.latencyMs.p50} ms p99 ${report.latencyMs.p99} ms`,
  );
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'runtime-bench-'));
await chmod(dataDir, 0o755);
const runtime = await startRuntime({
  rootDir: root,
  dataDir,
  controlPort: 0,
  frontPorts: { order: 0, inventory: 0, notification: 0 },
  postgres: { port: await freePort() },
  prometheus: false,
  console: false,
  bundle: !values['no-bundle'],
  logger: pino({ level: 'warn' }),
});
try {
  const started = Date.now();
  await allReady(runtime);
  console.log(
    `${new Date().toISOString()}: platform ready in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}; replicas run ` +
      `${values['no-bundle'] ? 'their sources' : 'their bundles'})`,
  );

  const mttr: Recovery[] = [];
  for (let i = 0; i < Number(values.kills); i += 1) {
    mttr.push(await killOne(runtime, SERVICES[i % SERVICES.length]!));
    await allReady(runtime);
  }
  if (mttr.length > 0)
    console.log(`SIGKILL -> replacement ready: ${stats(mttr.map((r) => r.ready))}; ${phases(mttr)}`);

  const rate = Number(values.rate);
  const kills = Number(values['load-kills']);
  if (kills > 0) await killsUnderLoad(runtime, rate, kills);
} finally {
  await runtime.stop();
  await rm(dataDir, { recursive: true, force: true });
}
