import { spawn } from 'node:child_process';
import { DEFAULT_ORDER_URL, LOCAL_PORTS } from '@self-healing-shop/contracts';
import type { RuntimeInfo, WorkloadView } from '@self-healing-shop/contracts';
import { openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ControlClient } from '../control-plane/control-client.ts';
import { preparePlan, DEFAULT_FRONT_PORTS, startRuntime } from '../runtime.ts';
import type { Runtime } from '../runtime.ts';
import type { PlanOptions, RuntimePlan } from '../start-up/plan.ts';
import { colour, eventLine, prettyLine } from './format.ts';
import { controlUrl, repoRoot, runningDaemon, runtimePaths } from './paths.ts';

export interface UpOptions {
  readonly foreground: boolean;
  /** Internal: the detached daemon `up` starts (logs JSON to runtime.log). */
  readonly daemon: boolean;
  readonly k8sDir: string;
  readonly dataDir?: string;
  readonly prometheus: boolean;
  readonly console: boolean;
  readonly timeoutMs: number;
  /** Replicas run their service's bundle (false: its sources). */
  readonly bundle: boolean;
  readonly ports: UpPorts;
  /** How often the HorizontalPodAutoscalers decide (Kubernetes: 15 s). */
  readonly hpaIntervalMs?: number;
  /** Internal: the plan file `up` wrote for its daemon (checked already). */
  readonly planFile?: string;
}

/** Where `up` listens; the defaults are the README's (tests and a second runtime pick others). */
export interface UpPorts {
  readonly control: number;
  /** order on base, inventory on base + 1, notification on base + 2. */
  readonly frontBase: number;
  readonly postgres: number;
  readonly prometheus: number;
  readonly alertmanager: number;
  readonly console: number;
}

export const DEFAULT_PORTS: UpPorts = {
  control: LOCAL_PORTS.control,
  frontBase: LOCAL_PORTS.order,
  postgres: LOCAL_PORTS.postgres,
  prometheus: LOCAL_PORTS.prometheus,
  alertmanager: LOCAL_PORTS.alertmanager,
  console: LOCAL_PORTS.console,
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
  if (info.consoleUrl) console.log(`  ${'console'.padEnd(13)} ${info.consoleUrl}`);
  if (info.prometheusUrl) console.log(`  ${'prometheus'.padEnd(13)} ${info.prometheusUrl}`);
  if (info.alertmanagerUrl) console.log(`  ${'alertmanager'.padEnd(13)} ${info.alertmanagerUrl}`);
  if (info.databaseUrl) console.log(`  ${'postgres'.padEnd(13)} ${info.databaseUrl}`);
  console.log('');
  console.log('next: make status | make logs SERVICE=order | make chaos | make down');
  console.log(
    `try:  curl -s -X POST ${info.fronts['order'] ?? DEFAULT_ORDER_URL}/orders -H 'content-type: application/json' \\`,
  );
  console.log(`        -d '{"customer":{"email":"a@b.c"},"items":[{"productId":"p-001","quantity":1}]}'`);
}

function planOptions(options: UpOptions, dataDir: string): PlanOptions {
  const { ports } = options;
  return {
    rootDir: repoRoot,
    k8sDir: options.k8sDir,
    dataDir,
    controlPort: ports.control,
    frontPorts: frontPorts(ports.frontBase),
    postgres: { port: ports.postgres },
    prometheus: options.prometheus ? { port: ports.prometheus } : false,
    alertmanager: { port: ports.alertmanager },
    console: options.console ? { port: ports.console } : false,
  };
}

/** A logger that prints each start-up step with its duration, and warnings as notes. */
function progressLogger(): pino.Logger {
  return pino(
    { name: 'local-runtime', level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
          const entry = JSON.parse(line) as { msg: string; step?: string; ms?: number; level: number };
          if (entry.step !== undefined) console.log(stepLine(entry.step, entry.ms ?? 0));
          else if (entry.level >= 40) console.log(`  note: ${entry.msg}`);
        }
        callback();
      },
    }),
  );
}

function stepLine(name: string, ms: number): string {
  return `  ${name.padEnd(22)} ${String(ms).padStart(6)} ms`;
}

/**
 * The checks before anything starts, run once in `up`'s own process (manifests, Prometheus, leftovers,
 * ports), each printed with its duration; the plan goes to the daemon in a file.
 */
async function planOnce(options: UpOptions, dataDir: string): Promise<RuntimePlan | undefined> {
  try {
    const plan = await preparePlan(planOptions(options, dataDir), progressLogger());
    for (const note of plan.notes) console.log(`  note: ${note}`);
    return plan;
  } catch (error) {
    console.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** The daemon logs pino JSON to runtime.log; a terminal gets the same lines, compact. */
function foregroundLogger(daemon: boolean): pino.Logger {
  if (daemon) return pino({ name: 'local-runtime' });
  return pino(
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
}

/** The pid file says who runs; it goes when this process stops (unless another took it over). */
function claimPidFile(pidFile: string): () => void {
  writeFileSync(pidFile, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile);
    } catch {
      // already gone
    }
  };
}

/** In a terminal: every event as it happens, then the URLs once the Deployments are ready. */
function liveView(runtime: Runtime, timeoutMs: number): void {
  runtime.events.subscribe((event) => console.log(eventLine(event, tty)));
  const deadline = Date.now() + timeoutMs;
  const timer = setInterval(() => {
    const deployments = [...runtime.controllers.values()].map((c) => c.status());
    if (deployments.every((d) => d.readyReplicas >= d.replicas)) {
      clearInterval(timer);
      void new ControlClient(runtime.controlUrl).status().then(printUrls, () => undefined);
    } else if (Date.now() > deadline) clearInterval(timer);
  }, 250);
}

/** `up --foreground` (and the daemon): runs the runtime in this process until SIGINT/SIGTERM. */
async function runInForeground(options: UpOptions): Promise<number> {
  const paths = runtimePaths(options.dataDir);
  await mkdir(paths.dataDir, { recursive: true });
  const logger = foregroundLogger(options.daemon);
  // Node's own start and the imports, before any of the runtime's steps.
  logger.info({ step: 'process start', ms: Math.round(performance.now()) }, 'start-up step');
  const removePidFile = claimPidFile(paths.pidFile);
  let runtime: Runtime | undefined;
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
  try {
    // The daemon gets the plan `up` made and checked; `up --foreground` makes it here, once.
    const plan = options.planFile
      ? (JSON.parse(await readFile(options.planFile, 'utf8')) as RuntimePlan)
      : await preparePlan(planOptions(options, paths.dataDir), logger);
    runtime = await startRuntime({
      rootDir: repoRoot,
      plan,
      ...(options.hpaIntervalMs === undefined ? {} : { hpaIntervalMs: options.hpaIntervalMs }),
      bundle: options.bundle,
      logger,
    });
  } catch (error) {
    logger.fatal({ err: error }, error instanceof Error ? error.message : String(error));
    removePidFile();
    return 1;
  }
  if (!stopRequested && !options.daemon) liveView(runtime, options.timeoutMs);
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

/**
 * The daemon's start-up steps and warnings logged since `since` (its runtime.log), not yet printed;
 * `shown` are warnings `up` printed itself already (the plan's notes, which the daemon logs again).
 */
function daemonSteps(
  logFile: string,
  since: number,
  printed: Set<string>,
  shown: ReadonlySet<string>,
): string[] {
  const lines: string[] = [];
  for (const line of lastLogLines(logFile, 400)) {
    let entry: { time?: number; step?: string; ms?: number; msg?: string; level?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if ((entry.time ?? 0) < since) continue;
    const key = `${entry.time}:${entry.step ?? entry.msg}`;
    if (printed.has(key)) continue;
    if (entry.step !== undefined) lines.push(stepLine(`daemon: ${entry.step}`, entry.ms ?? 0));
    else if ((entry.level ?? 0) >= 40 && !shown.has(entry.msg ?? '')) {
      lines.push(`  note: ${prettyLine(line, false)}`);
    } else continue;
    printed.add(key);
  }
  return lines;
}

/** Starts the daemon with the checked plan; its pid goes to the pid file. */
async function spawnDaemon(
  paths: ReturnType<typeof runtimePaths>,
  plan: RuntimePlan,
  argv: readonly string[],
) {
  await mkdir(paths.dataDir, { recursive: true });
  const planFile = path.join(paths.dataDir, 'plan.json');
  await writeFile(planFile, JSON.stringify(plan));
  const log = openSync(paths.logFile, 'a');
  const child = spawn(process.execPath, [process.argv[1]!, 'up', '--daemon', '--plan', planFile, ...argv], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', log, log],
    // Node's compile cache: the daemon's own start (its imports) is quicker from the second `up` on.
    env: { NODE_COMPILE_CACHE: path.join(paths.dataDir, 'node-compile-cache'), ...process.env },
  });
  closeSync(log);
  writeFileSync(paths.pidFile, `${child.pid}\n`);
  return child;
}

/** `up`: checks once, starts the daemon, prints each step and the workloads' readiness, then the URLs. */
async function runDetached(options: UpOptions, argv: readonly string[]): Promise<number> {
  const began = performance.now();
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
  const plan = await planOnce(options, paths.dataDir);
  if (!plan) return 1;
  const since = Date.now();
  const child = await spawnDaemon(paths, plan, argv);
  // The daemon outlives `up` whatever it returns (ready, not ready in time): `up` must not wait for it.
  child.unref();
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = signal ?? `code ${code}`));
  console.log(`starting the local runtime (pid ${child.pid}, log ${shown(paths.logFile)})`);
  const elapsed = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
  const deadline = Date.now() + options.timeoutMs;
  const reported = new Map<string, string>();
  const printed = new Set<string>();
  const shownNotes = new Set(plan.notes);
  let info: RuntimeInfo | undefined;
  for (;;) {
    for (const line of daemonSteps(paths.logFile, since, printed, shownNotes)) console.log(line);
    if (exited !== undefined) {
      console.error(`the runtime stopped while starting (${exited}):\n${failureOf(paths.logFile, since)}`);
      console.error(`full log: ${paths.logFile}`);
      return 1;
    }
    info = await control.status().catch(() => undefined);
    const workloads: WorkloadView[] =
      info?.state === 'running' ? await control.workloads().catch(() => []) : [];
    for (const w of workloads) {
      const text = `${w.readyReplicas}/${w.replicas}`;
      if (reported.get(w.name) !== text) {
        console.log(`  ${w.name.padEnd(13)} ${text} ready   (${elapsed()} since up)`);
        reported.set(w.name, text);
      }
    }
    // The Deployments decide: postgres-0 accepted connections before they started, and its
    // readiness follows its own probe period (5 s in the manifest), as on Kubernetes.
    const deployments = workloads.filter((w) => w.kind === 'Deployment');
    if (deployments.length > 0 && deployments.every((w) => w.readyReplicas >= w.replicas)) break;
    if (Date.now() > deadline) {
      console.error(
        `not ready after ${options.timeoutMs / 1000}s; the runtime keeps trying in the background.`,
      );
      console.error(
        '  make status shows which replicas are not ready, make logs SERVICE=<name> why; make down stops it.',
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`ready in ${elapsed()}`);
  printUrls(info!);
  return 0;
}

export function up(options: UpOptions, argv: readonly string[]): Promise<number> {
  return options.foreground || options.daemon ? runInForeground(options) : runDetached(options, argv);
}
