import { writeFile } from 'node:fs/promises';
import type http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN_ENV, LOCAL_ADMIN_TOKEN, TRACING_ENV } from '@self-healing-shop/contracts';
import type { ReplicaView, RuntimeInfo, RuntimeUrls } from '@self-healing-shop/contracts';
import { postgresReady, postgresUrl, preparePostgres } from '@self-healing-shop/embedded-postgres';
import type { Logger } from 'pino';
import { Autoscaler } from '../autoscaling/autoscaler.ts';
import { createControlApi } from '../control-plane/control-api.ts';
import { EventLog } from '../control-plane/event-log.ts';
import { createRuntimeMetrics } from '../control-plane/runtime-metrics.ts';
import type { DeploymentSpec } from '../manifests/deployment-spec.ts';
import { startConsole } from '@self-healing-shop/console';
import type { ConsoleHandle } from '@self-healing-shop/console';
import { startAlertmanager } from '../monitoring/alertmanager.ts';
import type { AlertmanagerHandle } from '../monitoring/alertmanager.ts';
import { startPrometheus } from '../monitoring/prometheus.ts';
import type { PrometheusHandle } from '../monitoring/prometheus.ts';
import { Endpoints } from '../networking/endpoints.ts';
import { createFrontProxy } from '../networking/front-proxy.ts';
import { busyPort, freePort } from '../networking/ports.ts';
import { kubeletBackoff } from '../supervision/backoff.ts';
import type { BackoffPolicy } from '../supervision/backoff.ts';
import { DeploymentController } from '../supervision/deployment-controller.ts';
import type { ProcessLaunch, Replica } from '../supervision/replica.ts';
import { StatefulSetController } from '../supervision/statefulset-controller.ts';
import type { WorkloadController } from '../supervision/workload.ts';
import { registerTraceMetrics } from '../tracing/trace-metrics.ts';
import { rolloutTarget } from '../control-plane/rollout-target.ts';
import { TraceStore } from '../tracing/trace-store.ts';
import type { TraceStoreOptions } from '../tracing/trace-store.ts';
import { ServiceBundles } from './bundles.ts';
import type { RuntimePlan } from './plan.ts';

const HOST = '127.0.0.1';
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
const DATABASE_START_TIMEOUT_MS = 60_000;

/** How the runtime runs what the plan says (tests replace the command, the back-off and the clock of the HPA). */
export interface AssemblyOptions {
  /** How to run a replica (default `node` on the service's bundle, see `bundle`); tests run a fixture. */
  readonly command?: (spec: DeploymentSpec) => { readonly command: string; readonly args: readonly string[] };
  /**
   * Replicas run their service's sources bundled into one file, rebuilt when a source changes (default
   * true, start-up/bundles.ts); false runs `node services/<service>/src/main.ts`.
   */
  readonly bundle?: boolean;
  /** Added to every replica's environment, last. */
  readonly env?: Readonly<Record<string, string>>;
  readonly hpaIntervalMs?: number;
  readonly backoff?: BackoffPolicy;
  /** The admin token every replica gets (`ADMIN_TOKEN`); default: `$ADMIN_TOKEN`, else `LOCAL_ADMIN_TOKEN`. */
  readonly adminToken?: string;
  /** Bounds of the in-memory trace store (default 50,000 spans, 30 minutes). */
  readonly traces?: TraceStoreOptions;
}

function listen(server: net.Server, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      // Taken between the check and now: say by whom, as the check would have.
      if (error.code !== 'EADDRINUSE') reject(error);
      else void busyPort(port).then((problem) => reject(new Error(`${what}: ${problem ?? error.message}`)));
    });
    server.listen(port, HOST, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function envName(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
}

/**
 * The running parts of a runtime, started by named steps in order (control API, fronts, database,
 * Prometheus, Deployments, autoscaler) and stopped in reverse.
 */
export class RuntimeAssembly {
  readonly plan: RuntimePlan;
  readonly events = new EventLog();
  readonly workloads: WorkloadController[] = [];
  readonly controllers = new Map<string, DeploymentController>();
  readonly traces: TraceStore;
  readonly frontUrls: Record<string, string> = {};
  controlUrl = '';
  state: RuntimeInfo['state'] = 'starting';
  database: StatefulSetController | undefined;
  databaseDataDir: string | undefined;
  prometheus: PrometheusHandle | undefined;
  alertmanager: AlertmanagerHandle | undefined;
  console: ConsoleHandle | undefined;
  autoscaler: Autoscaler | undefined;
  readonly #options: AssemblyOptions;
  readonly #logger: Logger;
  readonly #endpoints = new Map<string, Endpoints>();
  readonly #cleanups: Array<() => Promise<void>> = [];
  readonly #bundles: ServiceBundles;
  #filesPending = false;

  constructor(plan: RuntimePlan, options: AssemblyOptions, logger: Logger) {
    this.plan = plan;
    this.#options = options;
    this.#logger = logger;
    this.traces = new TraceStore(options.traces);
    this.#bundles = new ServiceBundles(plan.rootDir, logger);
  }

  get databaseUrl(): string | null {
    return this.database ? postgresUrl(this.plan.database!.port) : null;
  }

  replicas(): Replica[] {
    return this.workloads.flatMap((w) => w.replicas);
  }

  view(r: Replica): ReplicaView {
    return {
      name: r.name,
      service: r.spec.service,
      kind: r.spec.kind,
      uid: r.uid,
      pid: r.pid,
      port: r.port,
      phase: r.phase,
      ready: r.ready,
      restarts: r.restarts,
      startedAt: r.startedAt === null ? null : new Date(r.startedAt).toISOString(),
      readyAt: r.readyAt === null ? null : new Date(r.readyAt).toISOString(),
      labels: r.spec.podLabels,
    };
  }

  info(): RuntimeInfo {
    return { pid: process.pid, state: this.state, fronts: this.frontUrls, ...this.urls() };
  }

  urls(): RuntimeUrls {
    return {
      controlUrl: this.controlUrl,
      prometheusUrl: this.prometheus?.url ?? null,
      databaseUrl: this.databaseUrl,
      consoleUrl: this.console?.url ?? null,
      alertmanagerUrl: this.alertmanager?.url ?? null,
    };
  }

  /** Step: the control API (replicas, workloads, kill, restart, events, metrics). */
  async startControlApi(): Promise<void> {
    const registry = createRuntimeMetrics({
      workloads: () => this.workloads,
      autoscaler: () => this.autoscaler,
    });
    registerTraceMetrics(registry, this.traces);
    const find = (name: string) => this.workloads.find((w) => w.spec.name === name) ?? undefined;
    const control = createControlApi({
      events: this.events,
      replicas: () => this.replicas().map((r) => this.view(r)),
      workloads: () => this.workloads.map((w) => w.status()),
      kill: (name, signal) => {
        for (const workload of this.workloads) {
          const replica = workload.replicas.find((r) => r.name === name && !r.removal && !r.hasExited);
          if (replica) {
            workload.kill(replica, signal);
            return true;
          }
        }
        return false;
      },
      restart: (name) => {
        find(name)?.restart();
        return find(name) !== undefined;
      },
      metrics: () => registry.metrics(),
      info: () => this.info(),
      traces: this.traces,
      ...rolloutTarget(this.controllers),
    });
    this.controlUrl = `http://${HOST}:${await listen(control.server, this.plan.controlPort, 'control API')}`;
    this.#cleanups.push(async () => {
      control.closeStreams();
      await close(control.server);
    });
  }

  /** Step: a front port per service, routing to its ready replicas. */
  async startFronts(): Promise<void> {
    for (const [service, port] of Object.entries(this.plan.frontPorts)) {
      const list = new Endpoints();
      const server = createFrontProxy(service, list);
      this.frontUrls[service] = `http://${HOST}:${await listen(server, port, `${service} front port`)}`;
      this.#endpoints.set(service, list);
      this.#cleanups.push(async () => {
        await close(server);
        list.close();
      });
    }
  }

  /** Step: the database's StatefulSet; returns once the server accepts connections. */
  async startDatabase(): Promise<void> {
    const planned = this.plan.database;
    if (!planned) return;
    const problem = await busyPort(planned.port);
    if (problem) throw new Error(`PostgreSQL: ${problem}: stop it, or start with --postgres-port <port>`);
    const cluster = await preparePostgres({ dataDir: planned.dataDir, logger: this.#logger });
    this.databaseDataDir = cluster.dataDir;
    const { command, args, ...ids } = cluster.launch(planned.port);
    const launch: ProcessLaunch = {
      command,
      args,
      cwd: cluster.dataDir,
      env: { ...this.#inheritedEnv(), POD_NAME: `${planned.spec.name}-0` },
      logFile: path.join(this.plan.logsDir, `${planned.spec.name}-0.log`),
      ...ids,
    };
    const database = new StatefulSetController({
      spec: planned.spec,
      port: planned.port,
      events: this.events,
      logger: this.#logger.child({ statefulset: planned.spec.name }),
      backoff: this.#options.backoff ?? kubeletBackoff,
      check: (port, probe) => postgresReady(port, probe.timeoutMs),
      prepare: async () => launch,
      changed: () => this.#changed(),
    });
    this.database = database;
    this.workloads.push(database);
    this.#cleanups.push(() => database.stop());
    database.start();
    await this.#untilAcceptingConnections(planned.port, launch.logFile);
  }

  async #untilAcceptingConnections(port: number, logFile: string): Promise<void> {
    const deadline = Date.now() + DATABASE_START_TIMEOUT_MS;
    const from = this.events.lastSeq;
    while (!(await postgresReady(port, 1_000))) {
      const exited = this.events.after(from).find((e) => e.type === 'exited');
      if (exited) throw new Error(`postgres exited while starting (${exited.reason}): see ${logFile}`);
      if (Date.now() > deadline)
        throw new Error(
          `postgres did not accept connections within ${DATABASE_START_TIMEOUT_MS / 1000}s: see ${logFile}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Step (optional part): Prometheus scraping every replica and the runtime. */
  async startPrometheus(): Promise<void> {
    const planned = this.plan.prometheus;
    if (!planned) return;
    const prometheus = await startPrometheus({
      binary: planned.binary,
      port: planned.port,
      dataDir: planned.dataDir,
      monitoringDir: path.join(this.plan.rootDir, 'monitoring'),
      runtimeAddress: this.controlUrl.replace('http://', ''),
      logFile: path.join(this.plan.logsDir, 'prometheus.log'),
      logger: this.#logger,
      ...(this.alertmanager ? { alertmanagerAddress: this.alertmanager.url.replace('http://', '') } : {}),
    });
    this.prometheus = prometheus;
    this.#cleanups.push(() => prometheus.stop());
    // Replicas may have started meanwhile: write their scrape targets now.
    this.#changed();
  }

  /** Step (optional part): Alertmanager, before Prometheus, which sends its alerts there. */
  async startAlertmanager(): Promise<void> {
    const planned = this.plan.alertmanager;
    if (!planned) return;
    const alertmanager = await startAlertmanager({
      binary: planned.binary,
      port: planned.port,
      dataDir: planned.dataDir,
      logFile: path.join(this.plan.logsDir, 'alertmanager.log'),
      logger: this.#logger,
    });
    this.alertmanager = alertmanager;
    this.#cleanups.push(() => alertmanager.stop());
  }

  /** Step (optional part): the web console, once the control API and Prometheus answer. */
  async startConsole(): Promise<void> {
    const planned = this.plan.console;
    if (!planned) return;
    const handle = await startConsole({
      port: planned.port,
      controlUrl: this.controlUrl,
      prometheusUrl: this.prometheus?.url ?? null,
      alertmanagerUrl: this.alertmanager?.url ?? null,
      dashboardsDir: planned.dashboardsDir,
      reportsDir: planned.reportsDir,
      logger: this.#logger.child({ component: 'console' }),
    });
    this.console = handle;
    this.#cleanups.push(() => handle.close());
  }

  /**
   * Step, beside the database's start: each service's bundle made or found up to date, so the first
   * replicas do not wait for it (they would build it themselves otherwise).
   */
  async prepareBundles(): Promise<void> {
    if (this.#options.command || this.#options.bundle === false) return;
    const services = new Set(this.plan.deployments.map((spec) => spec.service));
    await Promise.all([...services].map((service) => this.#bundles.entry(service)));
  }

  /** Step: every Deployment's controller, which starts its replicas. */
  startDeployments(): void {
    for (const spec of this.plan.deployments) {
      const controller = new DeploymentController({
        spec,
        events: this.events,
        logger: this.#logger.child({ deployment: spec.name }),
        backoff: this.#options.backoff ?? kubeletBackoff,
        prepare: (replica, deployment) => this.#prepareReplica(replica, deployment),
        changed: () => this.#changed(),
      });
      this.controllers.set(spec.name, controller);
      this.workloads.push(controller);
    }
    this.#cleanups.push(async () => {
      await Promise.all([...this.controllers.values()].map((c) => c.stop()));
      this.#changed();
    });
    for (const controller of this.controllers.values()) controller.start();
  }

  /** Step: the HorizontalPodAutoscalers. */
  startAutoscaler(): void {
    if (this.plan.autoscalers.length === 0) return;
    const scaler = new Autoscaler({
      specs: this.plan.autoscalers,
      controllers: this.controllers,
      intervalMs: this.#options.hpaIntervalMs ?? 15_000,
      logger: this.#logger.child({ component: 'hpa' }),
    });
    this.autoscaler = scaler;
    scaler.start();
    this.#cleanups.push(async () => scaler.stop());
  }

  /** Stops every part in reverse order: replicas drain before the database and Prometheus stop. */
  async stop(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => this.#logger.error({ err: error }, 'error while stopping'));
    }
    await writeFile(this.plan.leftoversFile, '[]').catch(() => undefined);
  }

  #inheritedEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of INHERITED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    return env;
  }

  async #prepareReplica(
    replica: Replica,
    spec: DeploymentSpec,
  ): Promise<{ port: number; launch: ProcessLaunch }> {
    const port = await freePort(HOST);
    // Replicas share Node's on-disk compile cache: a replacement starts (and heals) about a second sooner.
    const env: Record<string, string> = {
      ...this.#inheritedEnv(),
      NODE_COMPILE_CACHE: path.join(this.plan.dataDir, 'node-compile-cache'),
    };
    for (const { name, source } of spec.env) {
      env[name] =
        source.kind === 'value'
          ? source.value
          : source.fieldPath === 'metadata.name'
            ? replica.name
            : source.fieldPath === 'metadata.namespace'
              ? spec.namespace
              : HOST;
    }
    Object.assign(env, {
      PORT: String(port),
      HOST,
      POD_NAME: replica.name,
      FAULT_INJECTION_ENABLED: 'true',
      [ADMIN_TOKEN_ENV]: this.#options.adminToken ?? process.env[ADMIN_TOKEN_ENV] ?? LOCAL_ADMIN_TOKEN,
      // Spans go to the control API's OTLP receiver (the SDK appends /v1/traces), named by Deployment.
      [TRACING_ENV.endpoint]: this.controlUrl,
      [TRACING_ENV.serviceName]: spec.name,
    });
    if (this.databaseUrl) env['DATABASE_URL'] = this.databaseUrl;
    for (const [service, url] of Object.entries(this.frontUrls))
      if (service !== spec.service) env[envName(service)] = url;
    Object.assign(env, this.#options.env);
    const { command, args } = this.#options.command?.(spec) ?? {
      command: process.execPath,
      args: [
        this.#options.bundle === false
          ? this.#bundles.source(spec.service)
          : await this.#bundles.entry(spec.service),
      ],
    };
    const logFile = path.join(this.plan.logsDir, `${replica.name}.log`);
    // The script node runs, relative to the repository (a bundle, main.ts or a test's fixture).
    const program = path.relative(this.plan.rootDir, path.resolve(this.plan.rootDir, args[0] ?? command));
    return { port, launch: { command, args, cwd: this.plan.rootDir, env, logFile, program } };
  }

  /** Routing follows readiness synchronously; files (scrape targets, pids) are rewritten once per tick. */
  #changed(): void {
    for (const controller of this.controllers.values()) {
      this.#endpoints
        .get(controller.spec.service)
        ?.set(controller.readyReplicas.map((r) => ({ name: r.name, port: r.port! })));
    }
    if (this.#filesPending) return;
    this.#filesPending = true;
    setImmediate(() => {
      this.#filesPending = false;
      const running = this.replicas().filter((r) => r.pid !== null);
      const entries = running.map((r) => ({ pid: r.pid, name: r.name }));
      if (this.prometheus) entries.push({ pid: this.prometheus.pid, name: 'prometheus' });
      if (this.alertmanager) entries.push({ pid: this.alertmanager.pid, name: 'alertmanager' });
      const pids = JSON.stringify(entries);
      void writeFile(this.plan.leftoversFile, pids).catch(() => undefined);
      // The database has no /metrics: Prometheus scrapes the services' replicas and the runtime.
      const scraped = running.filter((r) => r.spec.kind === 'Deployment');
      void this.prometheus?.setTargets(
        scraped.map((r) => ({
          address: `${HOST}:${r.port}`,
          labels: {
            service: r.spec.service,
            pod: r.name,
            namespace: r.spec.namespace,
            container: r.spec.containerName,
          },
        })),
      );
    });
  }
}
