/**
 * End to end: the cpu-stress experiment against the real local runtime and services. The runtime runs a
 * copy of k8s/base whose order HPA scales down after 6 s instead of 5 min, and decides every 2 s instead
 * of 15 s, so that scale-out and the return to the minimum both happen within the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

jest.setTimeout(240_000);

const ROOT = resolve(import.meta.dirname, '../..');

async function freePorts(count: number): Promise<number> {
  const bind = (port: number) =>
    new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await bind(base + i);
    if (ok) return base;
  }
}

describe('cpu-stress against the real local runtime (e2e)', () => {
  let runtime: ChildProcess;
  let dir: string;
  let output = '';
  let control: string;
  let frontPort: number;
  const results: CliResult[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaos-cpu-'));
    await chmod(dir, 0o755); // as root, the postgres user must enter the data folder
    await cp(join(ROOT, 'k8s/base'), join(dir, 'k8s'), { recursive: true });
    const hpaFile = join(dir, 'k8s/order/hpa.yaml');
    const hpa = parse(await readFile(hpaFile, 'utf8'));
    hpa.spec.behavior.scaleDown = {
      stabilizationWindowSeconds: 6,
      policies: [{ type: 'Pods', value: 4, periodSeconds: 2 }],
    };
    await writeFile(hpaFile, stringify(hpa));
    const controlPort = await freePorts(1);
    frontPort = await freePorts(3);
    control = `http://127.0.0.1:${controlPort}`;
    // The order replicas answer while they burn a core each, so the test's own requests stay modest.
    runtime = spawn(
      process.execPath,
      [
        'packages/local-runtime/src/cli.ts',
        'up',
        '--foreground',
        '--no-prometheus',
        '--k8s-dir',
        join(dir, 'k8s'),
        '--data-dir',
        join(dir, 'data'),
        '--hpa-interval',
        '2',
        '--control-port',
        String(controlPort),
        '--front-port',
        String(frontPort),
        '--postgres-port',
        String(await freePorts(1)),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    runtime.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    runtime.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 180_000;
    for (;;) {
      const items = await fetch(`${control}/deployments`)
        .then((r) => r.json() as Promise<{ items: { replicas: number; readyReplicas: number }[] }>)
        .then((b) => b.items)
        .catch(() => []);
      if (items.length > 0 && items.every((d) => d.readyReplicas === d.replicas)) break;
      if (runtime.exitCode !== null)
        throw new Error(`the local runtime exited (${runtime.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`the local runtime was not ready within 180 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    for (const r of results) await cleanup(r);
    if (runtime && runtime.exitCode === null) {
      const exited = new Promise((r) => runtime.once('exit', r));
      runtime.kill('SIGINT');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('scales order out while its replicas burn CPU and back to the minimum after the window', async () => {
    const experiment = join(dir, 'cpu-stress-short.yaml');
    await writeFile(
      experiment,
      stringify({
        name: 'cpu-stress-short',
        description: 'cpu-stress with a short burn, for the test',
        action: {
          kind: 'cpu-stress',
          workload: 'order',
          duration: '12s',
          scaleOutDeadline: '12s',
          scaleInDeadline: '60s',
        },
        defaults: { rounds: 1, loadRate: 5, minSuccess: 0.9 },
      }),
    );
    const result = await runCli(
      [
        'run',
        experiment,
        '--target',
        'local',
        '--seed',
        'cpu',
        '--runtime-url',
        control,
        '--url',
        `http://127.0.0.1:${frontPort}`,
        '--notification-url',
        `http://127.0.0.1:${frontPort + 2}`,
      ],
      {},
    );
    results.push(result);
    expect(result.code === 0 ? 'exit 0' : `exit ${result.code}\n${result.out}\n${result.err}`).toBe('exit 0');
    const report = await result.report();
    const details = report.rounds[0]!.details as {
      minimum: number;
      maxReplicas: number;
      scaleOutMs: number;
      backToMinMs: number;
    };
    expect(details.minimum).toBe(2);
    expect(details.maxReplicas).toBeGreaterThan(2);
    // Exit 0 means both happened within the experiment's deadlines; the figures are in the report.
    expect(details.scaleOutMs).toBeGreaterThan(0);
    expect(details.backToMinMs).toBeGreaterThanOrEqual(0);
    const deployments = (await (await fetch(`${control}/deployments`)).json()) as {
      items: { name: string; replicas: number }[];
    };
    expect(deployments.items.find((d) => d.name === 'order')?.replicas).toBe(2);
  });
});
