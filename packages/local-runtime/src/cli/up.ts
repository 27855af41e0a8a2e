import { spawn } from 'node:child_process';
import { DEFAULT_ORDER_URL, LOCAL_PORTS } from '@self-healing-shop/contracts';
import type { RuntimeInfo, WorkloadView } from '@self-healing-shop/contracts';
import { openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ControlClient } from '../control-plane/control-client.ts';
import { loadPlatform } from '../manifests/manifests.ts';
import { assertPortFree } from '../networking/ports.ts';
import { findPrometheus, PROMETHEUS_INSTALL_HINT } from '../monitoring/prometheus.ts';
import { DEFAULT_FRONT_PORTS, startRuntime } from '../runtime.ts';
import { colour, eventLine, prettyLine } from './format.ts';
import { controlUrl, repoRoot, runningDaemon, runtimePaths } from './paths.ts';

export interface UpOptions {
  readonly foreground: boolean;
  /** Internal: the detached daemon `up` starts (logs JSON to runtime.log). */
  readonly daemon: boolean;
  readonly k8sDir: string;
  readonly dataDir?: string;
  readonly prometheus: boolean;
  readonly timeoutMs: number;
  readonly ports: UpPorts;
  /** How often the HorizontalPodAutoscalers decide (Kubernetes: 15 s). */
  readonly hpaIntervalMs?: number;
}

/** Where `up` listens; the defaults are the README's (tests and a second runtime pick others). */
export interface UpPorts {
  readonly control: number;
  /** order on base, inventory on base + 1, notification on base + 2. */
  readonly frontBase: number;
  readonly postgres: number;
  readonly prometheus: number;
}

export const DEFAULT_PORTS: UpPorts = {
  control: LOCAL_PORTS.control,
  frontBase: LOCAL_PORTS.order,
  postgres: LOCAL_PORTS.postgres,
  prometheus: LOCAL_PORTS.prometheus,
};

function frontPorts(base: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(DEFAULT_FRONT_PORTS).map(([service, port]) => [service, base + port - LOCAL_PORTS.order]),
  );
}

const tty = process.stdout.isTTY === true;

/** A path relative to the working directory when it is inside it, else absolute. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') ? file : relative;
}

function printUrls(info: RuntimeInfo): void {
  console.log('');
  console.log(colour('self-healing-shop is up (local runtime)', 1, tty));
  for (const [service, url] of Object.entries(info.fronts)) console.log(`  ${service.padEnd(13)} ${url}`);
  console.log(
    `  ${'control API'.padEnd(13)} ${info.controlUrl}   (GET /replicas, /workloads, /events, /metrics)`,
  );
  if (info.prometheusUrl) console.log(`  ${'prometheus'.padEnd(13)} ${info.prometheusUrl}`);
  if (info.databaseUrl) console.log(`  ${'postgres'.padEnd(13)} ${info.databaseUrl}`);
  console.log('');
  console.log('next: make status | make logs SERVICE=order | make chaos | make down');
  console.log(
    `try:  curl -s -X POST ${info.fronts['order'] ?? DEFAULT_ORDER_URL}/orders -H 'content-type: application/json' \\`,
  );
  console.log(`        -d '{"customer":{"email":"a@b.c"},"items":[{"productId":"p-001","quantity":1}]}'`);
}

/** Checks what `up` needs before anything starts: readable manifests and free ports, each with a way out. */
async function preflight(options: UpOptions): Promise<void> {
  const platform = await loadPlatform(path.resolve(repoRoot, options.k8sDir), repoRoot);
  const { ports } = options;
  const fronts = frontPorts(ports.frontBase);
  const checks: Array<[number, string]> = [[ports.control, 'control API']];
  for (const deployment of platform.deployments) {
    const port = fronts[deployment.service];
    if (port !== undefined) checks.push([port, `${deployment.service} front port`]);
  }
  checks.push([ports.postgres, 'embedded PostgreSQL']);
  if (options.prometheus && (await findPrometheus())) checks.push([ports.prometheus, 'Prometheus']);
  for (const [port, what] of checks) await assertPortFree(port, what);
}

/** `up --foreground` (and the daemon): runs the runtime in this process until SIGINT/SIGTERM. */
async function runInForeground(options: UpOptions): Promise<number> {
  const paths = runtimePaths(options.dataDir);
  await mkdir(paths.dataDir, { recursive: true });
  // The daemon logs pino JSON to runtime.log; a terminal gets the same lines, compact.
  const logger = options.daemon
    ? pino({ name: 'local-runtime' })
    : pino(
        { name: 'local-runtime', level: 'info' },
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            for (const line of chunk.toString('utf8').split('\n')) {
              // Replica events are printed by the live view below, once.
              if (line && !line.includes('"event":'))
                process.stdout.write(`${colour('runtime ', 90, tty)}${prettyLine(line, tty)}\n`);
            }
            callback();
          },
        }),
      );
  writeFileSync(paths.pidFile, `${process.pid}\n`);
  const removePidFile = () => {
    try {
      if (readFileSync(paths.pidFile, 'utf8').trim() === String(process.pid)) rmSync(paths.pidFile);
    } catch {
      // already gone
    }
  };
  let runtime: Awaited<ReturnType<typeof startRuntime>> | undefined;
  let stopRequested = false;
  const stop = (signal: string) => {
    if (stopRequested) {
      logger.warn({ signal }, 'already stopping: replicas get their grace period, then SIGKILL');
      return;
    }
    stopRequested = true;
    logger.info({ signal }, 'stopping the platform');
    void (async () => {
      await runtime?.stop();
      removePidFile();
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (options.prometheus && !(await findPrometheus())) logger.warn(PROMETHEUS_INSTALL_HINT);
  try {
    runtime = await startRuntime({
      rootDir: repoRoot,
      k8sDir: options.k8sDir,
      dataDir: paths.dataDir,
      prometheus: options.prometheus ? { port: options.ports.prometheus } : false,
      controlPort: options.ports.control,
      frontPorts: frontPorts(options.ports.frontBase),
      postgres: { port: options.ports.postgres },
      ...(options.hpaIntervalMs === undefined ? {} : { hpaIntervalMs: options.hpaIntervalMs }),
      logger,
    });
  } catch (error) {
    logger.fatal({ err: error }, error instanceof Error ? error.message : String(error));
    removePidFile();
    return 1;
  }
  if (stopRequested) return new Promise(() => undefined);
  if (!options.daemon) {
    const started = runtime;
    started.events.subscribe((event) => console.log(eventLine(event, tty)));
    const deadline = Date.now() + options.timeoutMs;
    const timer = setInterval(() => {
      const deployments = [...started.controllers.values()].map((c) => c.status());
      if (deployments.every((d) => d.readyReplicas >= d.replicas)) {
        clearInterval(timer);
        const control = new ControlClient(started.controlUrl);
        void control.status().then(printUrls, () => undefined);
      } else if (Date.now() > deadline) clearInterval(timer);
    }, 250);
  }
  // Runs until a signal stops it.
  return new Promise(() => undefined);
}

function lastLogLines(logFile: string, count: number): string[] {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-count);
  } catch {
    return [];
  }
}

/** The reason a daemon gave up, from the fatal line it logged (else its last lines). */
function failureOf(logFile: string, since: number): string {
  const lines = lastLogLines(logFile, 200).filter((line) => {
    try {
      return (JSON.parse(line) as { time: number }).time >= since;
    } catch {
      return true;
    }
  });
  const fatal = lines.filter((line) => line.includes('"level":60') || line.includes('"level":50'));
  const chosen = fatal.length > 0 ? fatal.slice(-3) : lines.slice(-10);
  return chosen.map((line) => `  ${prettyLine(line, false)}`).join('\n');
}

/** `up`: starts the daemon, prints progress until every Deployment is ready, then the URLs. */
async function runDetached(options: UpOptions, argv: readonly string[]): Promise<number> {
  const paths = runtimePaths(options.dataDir);
  const control = new ControlClient(controlUrl(options.ports.control));
  const existing = runningDaemon(paths.pidFile);
  if (existing) {
    console.log(
      `the local runtime is already running (pid ${existing}); make status shows it, make down stops it`,
    );
    const info = await control.status().catch(() => undefined);
    if (info) printUrls(info);
    return 0;
  }
  try {
    await preflight(options);
  } catch (error) {
    console.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (options.prometheus && !(await findPrometheus())) console.log(`note: ${PROMETHEUS_INSTALL_HINT}`);
  await mkdir(paths.dataDir, { recursive: true });
  const since = Date.now();
  const log = openSync(paths.logFile, 'a');
  const child = spawn(process.execPath, [process.argv[1]!, 'up', '--daemon', ...argv], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  closeSync(log);
  writeFileSync(paths.pidFile, `${child.pid}\n`);
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = signal ?? `code ${code}`));
  console.log(`starting the local runtime (pid ${child.pid}, log ${shown(paths.logFile)})`);

  const deadline = Date.now() + options.timeoutMs;
  const reported = new Map<string, string>();
  let info: RuntimeInfo | undefined;
  let said = { control: false, postgres: false, prometheus: false };
  for (;;) {
    if (exited !== undefined) {
      console.error(`the runtime stopped while starting (${exited}):\n${failureOf(paths.logFile, since)}`);
      console.error(`full log: ${paths.logFile}`);
      return 1;
    }
    info = await control.status().catch(() => undefined);
    if (info) {
      if (!said.control) console.log(`  control API on ${info.controlUrl}`);
      if (info.databaseUrl && !said.postgres) {
        console.log(
          `  postgres started on 127.0.0.1:${options.ports.postgres} (data in ${shown(path.join(paths.dataDir, 'postgres'))})`,
        );
      }
      if (info.prometheusUrl && !said.prometheus)
        console.log(`  prometheus started on ${info.prometheusUrl}`);
      said = {
        control: true,
        postgres: said.postgres || info.databaseUrl !== null,
        prometheus: said.prometheus || info.prometheusUrl !== null,
      };
      const deployments: WorkloadView[] =
        info.state === 'running' ? await control.workloads().catch(() => []) : [];
      for (const d of deployments) {
        const text = `${d.readyReplicas}/${d.replicas}`;
        if (reported.get(d.name) !== text) {
          console.log(`  ${d.name.padEnd(13)} ${text} ready`);
          reported.set(d.name, text);
        }
      }
      if (deployments.length > 0 && deployments.every((d) => d.readyReplicas >= d.replicas)) break;
    }
    if (Date.now() > deadline) {
      console.error(
        `not ready after ${options.timeoutMs / 1000}s; the runtime keeps trying in the background.`,
      );
      console.error(
        '  make status shows which replicas are not ready, make logs SERVICE=<name> why; make down stops it.',
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.unref();
  printUrls(info!);
  return 0;
}

export function up(options: UpOptions, argv: readonly string[]): Promise<number> {
  return options.foreground || options.daemon ? runInForeground(options) : runDetached(options, argv);
}
