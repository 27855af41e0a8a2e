import { readFile, access, mkdir, writeFile } from 'node:fs/promises';
import { ADMIN_TOKEN_ENV, LOCAL_ADMIN_TOKEN, LOCAL_PORTS, SERVICES } from '@self-healing-shop/contracts';
import type { ReplicaView, RuntimeInfo } from '@self-healing-shop/contracts';
import type http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { Autoscaler } from './autoscaling/autoscaler.ts';
import { kubeletBackoff } from './supervision/backoff.ts';
import type { BackoffPolicy } from './supervision/backoff.ts';
import { createControlApi } from './control-plane/control-api.ts';
import { DeploymentController } from './supervision/deployment-controller.ts';
import type { DeploymentSpec, ProbeSpec } from './manifests/deployment-spec.ts';
import { Endpoints } from './networking/endpoints.ts';
import { EventLog } from './control-plane/event-log.ts';
import { createFrontProxy } from './networking/front-proxy.ts';
import { loadPlatform } from './manifests/manifests.ts';
import type { Platform } from './manifests/manifests.ts';
import { assertPortFree, freePort } from './networking/ports.ts';
import { startPostgres, type PostgresHandle } from '@self-healing-shop/embedded-postgres';
import { findPrometheus, PROMETHEUS_INSTALL_HINT, startPrometheus } from './monitoring/prometheus.ts';
import type { PrometheusHandle } from './monitoring/prometheus.ts';
import type { Replica } from './supervision/replica.ts';
import { createRuntimeMetrics } from './control-plane/runtime-metrics.ts';

/** The front port of each service (`LOCAL_PORTS`). */
export const DEFAULT_FRONT_PORTS: Readonly<Record<string, number>> = Object.fromEntries(
  SERVICES.map((service) => [service, LOCAL_PORTS[service]]),
);
const HOST = '127.0.0.1';
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export interface RuntimeOptions {
  /** The repository: services/<name>/src/main.ts and monitoring/ are found from here. */
  readonly rootDir: string;
  /** Kustomize folder with the Deployments and HPAs (default <rootDir>/k8s/base). */
  readonly k8sDir?: string;
  /** Logs, PostgreSQL and Prometheus data (default <rootDir>/.data). */
  readonly dataDir?: string;
  /** 0 picks a free port (tests). */
  readonly controlPort?: number;
  /** Front port per service (`app.kubernetes.io/name`); services not listed get none; 0 picks a free port. */
  readonly frontPorts?: Readonly<Record<string, number>>;
  readonly postgres?: false | { readonly port?: number };
  /** Default: started when `prometheus` is on PATH. */
  readonly prometheus?: false | { readonly port?: number; readonly binary?: string };
  /** How to run a replica (default `node services/<service>/src/main.ts`); tests run a fixture. */
  readonly command?: (spec: DeploymentSpec) => { readonly command: string; readonly args: readonly string[] };
  /** Added to every replica's environment, last. */
  readonly env?: Readonly<Record<string, string>>;
  /** Multiplies the manifests' probe timings, preStop and grace periods (tests run faster with 0.2). */
  readonly timeScale?: number;
  readonly hpaIntervalMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly logger?: Logger;
  /** The admin token every replica gets (`ADMIN_TOKEN`); default: `$ADMIN_TOKEN`, else `LOCAL_ADMIN_TOKEN`. */
  readonly adminToken?: string;
}

export interface Runtime {
  readonly platform: Platform;
  readonly events: EventLog;
  readonly controllers: ReadonlyMap<string, DeploymentController>;
  readonly controlUrl: string;
  /** Front URL per service, e.g. { order: 'http://127.0.0.1:8080' }. */
  readonly frontUrls: Readonly<Record<string, string>>;
  readonly prometheusUrl: string | null;
  readonly databaseUrl: string | null;
  replicas(): ReplicaView[];
  /** Stops everything: replicas (preStop, SIGTERM, grace), Prometheus, PostgreSQL; data is kept. */
  stop(): Promise<void>;
}

function scaleProbe(probe: ProbeSpec | undefined, k: number): ProbeSpec | undefined {
  return (
    probe && {
      ...probe,
      initialDelayMs: probe.initialDelayMs * k,
      periodMs: probe.periodMs * k,
      timeoutMs: probe.timeoutMs * k,
    }
  );
}

function scaleSpec(spec: DeploymentSpec, k: number): DeploymentSpec {
  if (k === 1) return spec;
  return {
    ...spec,
    startupProbe: scaleProbe(spec.startupProbe, k),
    livenessProbe: scaleProbe(spec.livenessProbe, k),
    readinessProbe: scaleProbe(spec.readinessProbe, k),
    preStopSleepMs: spec.preStopSleepMs * k,
    terminationGracePeriodMs: spec.terminationGracePeriodMs * k,
  };
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
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

/** Replica processes a previous runtime left behind (killed with SIGKILL) still hold ports: stop them. */
async function killLeftovers(file: string, logger: Logger): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '[]');
  let entries: Array<{ pid: number; name: string }> = [];
  try {
    entries = JSON.parse(text) as typeof entries;
  } catch {
    return;
  }
  for (const { pid, name } of entries) {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (!environ.split('\0').includes(`POD_NAME=${name}`)) continue;
    logger.warn({ pid, replica: name }, 'stopping a replica left by a previous runtime');
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Starts the platform like Kubernetes would run k8s/base: PostgreSQL, every Deployment's replicas with
 * their probes, a front port per service, the HPAs, Prometheus and the control API.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? pino({ name: 'local-runtime' });
  const rootDir = path.resolve(options.rootDir);
  const k8sDir = path.resolve(rootDir, options.k8sDir ?? 'k8s/base');
  const dataDir = path.resolve(rootDir, options.dataDir ?? '.data');
  const logsDir = path.join(dataDir, 'logs');
  const frontPorts = options.frontPorts ?? DEFAULT_FRONT_PORTS;
  const controlPort = options.controlPort ?? LOCAL_PORTS.control;
  const timeScale = options.timeScale ?? 1;
  const platform = await loadPlatform(k8sDir, rootDir);
  const specs = platform.deployments.map((spec) => scaleSpec(spec, timeScale));

  const commandOf =
    options.command ??
    ((spec: DeploymentSpec) => ({
      command: process.execPath,
      args: [path.join(rootDir, 'services', spec.service, 'src', 'main.ts')],
    }));
  if (!options.command) {
    for (const spec of specs) {
      const main = path.join(rootDir, 'services', spec.service, 'src', 'main.ts');
      await access(main).catch(() => {
        throw new Error(
          `${path.relative(rootDir, main)} does not exist: Deployment ${spec.name} (${spec.file}) runs services/<app.kubernetes.io/name>/src/main.ts`,
        );
      });
    }
  }

  const postgresPort =
    options.postgres === false ? undefined : (options.postgres?.port ?? LOCAL_PORTS.postgres);
  let prometheusBinary: string | undefined;
  if (options.prometheus !== false) {
    prometheusBinary = options.prometheus?.binary ?? (await findPrometheus());
    if (!prometheusBinary) logger.warn(PROMETHEUS_INSTALL_HINT);
  }
  const prometheusPort =
    options.prometheus === false ? undefined : (options.prometheus?.port ?? LOCAL_PORTS.prometheus);
  const checks: Array<[number, string]> = [[controlPort, 'control API']];
  for (const spec of specs) {
    const port = frontPorts[spec.service];
    if (port !== undefined) checks.push([port, `${spec.service} front port`]);
  }
  if (postgresPort !== undefined) checks.push([postgresPort, 'embedded PostgreSQL']);
  if (prometheusBinary && prometheusPort !== undefined) checks.push([prometheusPort, 'Prometheus']);
  await mkdir(logsDir, { recursive: true });
  const leftoversFile = path.join(dataDir, 'replicas.json');
  await killLeftovers(leftoversFile, logger);
  for (const [port, what] of checks) if (port !== 0) await assertPortFree(port, what, HOST);

  const events = new EventLog();
  const controllers = new Map<string, DeploymentController>();
  const endpoints = new Map<string, Endpoints>();
  const fronts = new Map<string, http.Server>();
  const frontUrls: Record<string, string> = {};
  let state: RuntimeInfo['state'] = 'starting';
  let autoscaler: Autoscaler | undefined;
  let postgres: PostgresHandle | undefined;
  let prometheus: PrometheusHandle | undefined;
  const registry = createRuntimeMetrics({
    controllers: () => controllers.values(),
    autoscaler: () => autoscaler,
  });

  const allReplicas = (): Replica[] => [...controllers.values()].flatMap((c) => c.replicas);
  const view = (r: Replica): ReplicaView => ({
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
  });

  // Routing follows readiness synchronously; files (scrape targets, pids) are rewritten once per tick.
  let filesPending = false;
  const changed = () => {
    for (const controller of controllers.values()) {
      endpoints
        .get(controller.spec.service)
        ?.set(controller.readyReplicas.map((r) => ({ name: r.name, port: r.port! })));
    }
    if (filesPending) return;
    filesPending = true;
    setImmediate(() => {
      filesPending = false;
      const running = allReplicas().filter((r) => r.pid !== null);
      void writeFile(leftoversFile, JSON.stringify(running.map((r) => ({ pid: r.pid, name: r.name })))).catch(
        () => undefined,
      );
      void prometheus?.setTargets(
        running.map((r) => ({
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
  };

  const info = (): RuntimeInfo => ({
    pid: process.pid,
    state,
    fronts: frontUrls,
    controlUrl,
    prometheusUrl: prometheus?.url ?? null,
    databaseUrl: postgres?.url ?? null,
  });
  const control = createControlApi({
    events,
    replicas: () => allReplicas().map(view),
    workloads: () => [...controllers.values()].map((c) => c.status()),
    kill(name, signal) {
      for (const controller of controllers.values()) {
        const replica = controller.replicas.find((r) => r.name === name && !r.removal && !r.hasExited);
        if (replica) {
          controller.kill(replica, signal);
          return true;
        }
      }
      return false;
    },
    restart(name) {
      const controller = controllers.get(name);
      controller?.restart();
      return controller !== undefined;
    },
    metrics: () => registry.metrics(),
    info,
  });

  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
    }
  };
  let controlUrl = '';
  try {
    controlUrl = `http://${HOST}:${await listen(control.server, controlPort)}`;
    cleanups.push(async () => {
      control.closeStreams();
      await close(control.server);
    });
    for (const spec of specs) {
      const port = frontPorts[spec.service];
      if (port === undefined || fronts.has(spec.service)) continue;
      const list = new Endpoints();
      const server = createFrontProxy(spec.service, list);
      frontUrls[spec.service] = `http://${HOST}:${await listen(server, port)}`;
      endpoints.set(spec.service, list);
      fronts.set(spec.service, server);
      cleanups.push(async () => {
        await close(server);
        list.close();
      });
    }
    if (postgresPort !== undefined) {
      postgres = await startPostgres({
        dataDir: path.join(dataDir, 'postgres'),
        port: postgresPort,
        logFile: path.join(logsDir, 'postgres.log'),
        logger,
      });
      const pg = postgres;
      cleanups.push(() => pg.stop());
    }
    if (prometheusBinary && prometheusPort !== undefined) {
      prometheus = await startPrometheus({
        binary: prometheusBinary,
        port: prometheusPort,
        dataDir: path.join(dataDir, 'prometheus'),
        monitoringDir: path.join(rootDir, 'monitoring'),
        runtimeAddress: controlUrl.replace('http://', ''),
        logFile: path.join(logsDir, 'prometheus.log'),
        logger,
      });
      const prom = prometheus;
      cleanups.push(() => prom.stop());
    }

    // Replicas share Node's on-disk compile cache: a replacement starts (and heals) about a second sooner.
    const baseEnv: Record<string, string> = { NODE_COMPILE_CACHE: path.join(dataDir, 'node-compile-cache') };
    for (const name of INHERITED_ENV) if (process.env[name] !== undefined) baseEnv[name] = process.env[name]!;
    const token = options.adminToken ?? process.env[ADMIN_TOKEN_ENV] ?? LOCAL_ADMIN_TOKEN;
    const prepare = async (replica: Replica, spec: DeploymentSpec) => {
      const port = await freePort(HOST);
      const env: Record<string, string> = { ...baseEnv };
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
        [ADMIN_TOKEN_ENV]: token,
      });
      if (postgres) env['DATABASE_URL'] = postgres.url;
      for (const [service, url] of Object.entries(frontUrls))
        if (service !== spec.service) env[envName(service)] = url;
      Object.assign(env, options.env);
      const { command, args } = commandOf(spec);
      return {
        port,
        launch: { command, args, cwd: rootDir, env, logFile: path.join(logsDir, `${replica.name}.log`) },
      };
    };

    for (const spec of specs) {
      controllers.set(
        spec.name,
        new DeploymentController({
          spec,
          events,
          logger: logger.child({ deployment: spec.name }),
          backoff: options.backoff ?? kubeletBackoff,
          prepare,
          changed,
        }),
      );
    }
    cleanups.push(async () => {
      await Promise.all([...controllers.values()].map((c) => c.stop()));
      changed();
      await writeFile(leftoversFile, '[]').catch(() => undefined);
    });
    for (const controller of controllers.values()) controller.start();
    if (platform.autoscalers.length > 0) {
      const scaler = new Autoscaler({
        specs: platform.autoscalers,
        controllers,
        intervalMs: options.hpaIntervalMs ?? 15_000,
        logger: logger.child({ component: 'hpa' }),
      });
      autoscaler = scaler;
      scaler.start();
      cleanups.push(async () => scaler.stop());
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  state = 'running';
  logger.info(
    { controlUrl, fronts: frontUrls, prometheus: prometheus?.url, postgres: postgres !== undefined },
    'runtime started',
  );

  let stopping: Promise<void> | undefined;
  return {
    platform,
    events,
    controllers,
    controlUrl,
    frontUrls,
    prometheusUrl: prometheus?.url ?? null,
    databaseUrl: postgres?.url ?? null,
    replicas: () => allReplicas().map(view),
    stop() {
      stopping ??= (async () => {
        state = 'stopping';
        logger.info('runtime stopping');
        await stopAll();
        logger.info('runtime stopped');
      })();
      return stopping;
    },
  };
}
