// Start-up of a service as its KIND image holds it: the Dockerfile's build steps replayed without Docker
// (k8s/docker/build-steps.ts), then, alternated, N starts of the deployed sources (`node src/main.ts` in
// /out, what the images ran before they ran a bundle) and of the bundle (`node main.mjs` in /app, alone in
// its folder). Each start: spawn → first 200 from /health, with the process's CPU time (user + system,
// /proc) at that moment; without a compile cache (a new pod's /tmp is empty) and with one a previous start
// wrote (a restarted container). The database refuses connections: the kit then listens at once.
// Prints figures, never fails on timing.
//   Usage: pnpm --filter @self-healing-shop/local-runtime bench:image [-- --service order --starts 6]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildImageTree } from '../../../k8s/docker/build-steps.ts';
import { freePort } from '../src/networking/ports.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    service: { type: 'string', default: 'order' },
    starts: { type: 'string', default: '6' },
  },
});
const service = values.service;
const starts = Number(values.starts);
if (!['order', 'inventory', 'notification'].includes(service) || !Number.isInteger(starts) || starts < 1) {
  console.error('usage: bench:image [-- --service order|inventory|notification --starts N (≥ 1)]');
  process.exit(2);
}

/** User + system CPU of a live process in ms (Linux: /proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Start {
  wallMs: number;
  cpuMs: number;
}

async function start(cwd: string, entry: string, compileCache: string | undefined): Promise<Start> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(port),
    DATABASE_URL: `postgres://shop:shop@127.0.0.1:${await freePort()}/shop`,
    INVENTORY_URL: 'http://inventory',
    NOTIFICATION_URL: 'http://notification',
    LOG_LEVEL: 'error',
    ...(compileCache ? { NODE_COMPILE_CACHE: compileCache } : {}),
  };
  const began = performance.now();
  const child = spawn(process.execPath, [entry], { cwd, env, stdio: 'ignore' });
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${entry} in ${cwd} exited ${child.exitCode} before /health`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return { wallMs: performance.now() - began, cpuMs: cpuMs(child.pid!) };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const work = mkdtempSync(path.join(os.tmpdir(), 'bench-image-'));
try {
  console.log(
    `${new Date().toISOString()}  ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(2)}`,
  );
  console.log(`replaying k8s/docker/Dockerfile's build steps for ${service} (pnpm deploy, bundle)…`);
  const tree = buildImageTree(service, work);
  if (tree.status !== 0) throw new Error(`the build steps failed:\n${tree.output}`);
  const variants = [
    { name: 'sources (node src/main.ts)', cwd: tree.out, entry: 'src/main.ts' },
    { name: 'bundle (node main.mjs)', cwd: tree.app, entry: 'main.mjs' },
  ];
  for (const cached of [false, true]) {
    const results = new Map(variants.map((v) => [v.name, [] as Start[]]));
    for (let i = 0; i < starts; i++) {
      for (const v of variants) {
        const cache = cached ? mkdtempSync(path.join(work, 'compile-cache-')) : undefined;
        if (cache) await start(v.cwd, v.entry, cache); // writes the cache, as a container's first start
        results.get(v.name)!.push(await start(v.cwd, v.entry, cache));
        if (cache) rmSync(cache, { recursive: true, force: true });
      }
      process.stdout.write('.');
    }
    console.log(
      `\n${cached ? 'with the compile cache of a previous start' : 'no compile cache (a new pod)'}:`,
    );
    for (const [name, list] of results) {
      console.log(
        `  ${name.padEnd(28)} /health after ${median(list.map((s) => s.wallMs)).toFixed(0)} ms, ` +
          `CPU ${median(list.map((s) => s.cpuMs))} ms (medians of ${list.length})`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
