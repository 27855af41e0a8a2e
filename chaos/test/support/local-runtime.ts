/**
 * Boots the real local runtime (packages/local-runtime) with the real services for the end-to-end
 * tests: `cli.ts up --foreground` on free ports, data in a temporary folder, stopped with SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { freePorts } from '@self-healing-shop/child-server';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');

export { freePorts };

export interface TestRuntime {
  /** The control API, e.g. http://127.0.0.1:31234 */
  readonly control: string;
  readonly frontPort: number;
  /** A temporary folder (the runtime's data is in `data/` below it), removed by stop(). */
  readonly dir: string;
  /** The chaos CLI options that point at this runtime. */
  readonly chaosArgs: string[];
  stop(): Promise<void>;
}

/** Starts the runtime and resolves once every Deployment is at full strength. */
export async function startTestRuntime(
  options: {
    extraArgs?: (dir: string) => Promise<string[]> | string[];
    /** Run the runtime's Prometheus (and Alertmanager when installed) and console, each on a free port. */
    monitoring?: boolean;
  } = {},
): Promise<TestRuntime> {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-e2e-'));
  // As root, embedded PostgreSQL runs as the `postgres` user, which must be able to enter the folder.
  await chmod(dir, 0o755);
  const controlPort = await freePorts(1);
  const frontPort = await freePorts(3);
  const control = `http://127.0.0.1:${controlPort}`;
  const args = [
    'packages/local-runtime/src/cli.ts',
    'up',
    '--foreground',
    ...(options.monitoring
      ? [
          '--prometheus-port',
          String(await freePorts(1)),
          '--alertmanager-port',
          String(await freePorts(1)),
          '--console-port',
          String(await freePorts(1)),
        ]
      : ['--no-prometheus']),
    '--data-dir',
    join(dir, 'data'),
    '--control-port',
    String(controlPort),
    '--front-port',
    String(frontPort),
    '--postgres-port',
    String(await freePorts(1)),
    ...((await options.extraArgs?.(dir)) ?? []),
  ];
  let output = '';
  const runtime: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runtime.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  runtime.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const stop = async () => {
    if (runtime.exitCode === null) {
      const exited = new Promise((r) => runtime.once('exit', r));
      runtime.kill('SIGINT');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    const items = await fetch(`${control}/workloads`)
      .then((r) => r.json() as Promise<{ items: { replicas: number; readyReplicas: number }[] }>)
      .then((b) => b.items)
      .catch(() => []);
    if (items.length > 0 && items.every((d) => d.readyReplicas === d.replicas)) break;
    if (runtime.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        runtime.exitCode !== null
          ? `the local runtime exited (${runtime.exitCode}):\n${output}`
          : `the local runtime was not ready within 180 s:\n${output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    control,
    frontPort,
    dir,
    chaosArgs: [
      '--runtime-url',
      control,
      '--url',
      `http://127.0.0.1:${frontPort}`,
      '--notification-url',
      `http://127.0.0.1:${frontPort + 2}`,
    ],
    stop,
  };
}
