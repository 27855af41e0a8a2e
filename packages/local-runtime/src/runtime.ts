import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import type { ReplicaView, RuntimeUrls } from '@self-healing-shop/contracts';
import type { EventLog } from './control-plane/event-log.ts';
import { loadPlatform } from './manifests/manifests.ts';
import { findAlertmanager } from './monitoring/alertmanager.ts';
import { findPrometheus } from './monitoring/prometheus.ts';
import { RuntimeAssembly } from './start-up/assembly.ts';
import type { AssemblyOptions } from './start-up/assembly.ts';
import { checkPorts } from './start-up/check-ports.ts';
import { stopLeftovers } from './start-up/leftovers.ts';
import { planRuntime } from './start-up/plan.ts';
import type { PlanOptions, RuntimePlan } from './start-up/plan.ts';
import type { DeploymentController } from './supervision/deployment-controller.ts';
import type { StatefulSetController } from './supervision/statefulset-controller.ts';

export { DEFAULT_FRONT_PORTS } from './start-up/plan.ts';

export interface RuntimeOptions extends PlanOptions, AssemblyOptions {
  readonly logger?: Logger;
  /**
   * A plan `up` already made and checked (`preparePlan`): the runtime then neither reads the
   * manifests nor checks ports again.
   */
  readonly plan?: RuntimePlan;
}

export interface Runtime extends RuntimeUrls {
  readonly plan: RuntimePlan;
  readonly events: EventLog;
  readonly controllers: ReadonlyMap<string, DeploymentController>;
  readonly database: StatefulSetController | undefined;
  /** Front URL per service, e.g. { order: 'http://127.0.0.1:8080' }. */
  readonly frontUrls: Readonly<Record<string, string>>;
  /** Where the cluster lives: the plan's folder, unless the postgres user cannot reach it (as root). */
  readonly databaseDataDir: string | null;
  replicas(): ReplicaView[];
  /** Stops everything: replicas (preStop, SIGTERM, grace), Prometheus, PostgreSQL; data is kept. */
  stop(): Promise<void>;
}

/** Runs `work` as a named start-up step and logs how long it took (`up` prints these). */
export async function step<T>(logger: Logger, name: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  logger.info({ step: name, ms: Math.round(performance.now() - started) }, 'start-up step');
  return result;
}

/** Every Deployment runs services/<app.kubernetes.io/name>/src/main.ts unless a command is given. */
async function checkEntrypoints(plan: RuntimePlan): Promise<void> {
  for (const spec of plan.deployments) {
    const main = path.join(plan.rootDir, 'services', spec.service, 'src', 'main.ts');
    await access(main).catch(() => {
      throw new Error(
        `${path.relative(plan.rootDir, main)} does not exist: Deployment ${spec.name} (${spec.file}) runs services/<app.kubernetes.io/name>/src/main.ts`,
      );
    });
  }
}

/**
 * The checks before anything starts, each a named step: read the manifests, find Prometheus (once),
 * make the plan, stop what a killed runtime left, check the ports (an optional part moves). `up` runs
 * them in its own process and hands the plan to the daemon.
 */
export async function preparePlan(options: PlanOptions, logger: Logger): Promise<RuntimePlan> {
  const rootDir = path.resolve(options.rootDir);
  const k8sDir = path.resolve(rootDir, options.k8sDir ?? 'k8s/base');
  const platform = await step(logger, 'read manifests', () => loadPlatform(k8sDir, rootDir));
  const binary =
    options.prometheus === false || options.prometheus?.binary
      ? undefined
      : await step(logger, 'find prometheus', () => findPrometheus());
  const alertmanagerBinary =
    options.prometheus === false || options.alertmanager === false || options.alertmanager?.binary
      ? undefined
      : await step(logger, 'find alertmanager', () => findAlertmanager());
  const plan = planRuntime(options, platform, binary, alertmanagerBinary);
  await step(logger, 'stop leftovers', () => stopLeftovers(plan.leftoversFile, logger));
  return step(logger, 'check ports', () => checkPorts(plan));
}

/**
 * Starts the platform like Kubernetes would run k8s/base: the control API, a front port per service,
 * PostgreSQL as the `postgres` StatefulSet, Alertmanager, Prometheus, the console, every Deployment's replicas with their
 * probes, and the HPAs. Each step is timed in the log.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? pino({ name: 'local-runtime' });
  const plan = options.plan ?? (await preparePlan(options, logger));
  for (const note of plan.notes) logger.warn(note);
  if (!options.command) await checkEntrypoints(plan);
  await mkdir(plan.logsDir, { recursive: true });
  const parts = new RuntimeAssembly(plan, options, logger);
  try {
    await step(logger, 'control API', () => parts.startControlApi());
    await step(logger, 'front ports', () => parts.startFronts());
    // Monitoring (optional: Alertmanager, then Prometheus that sends to it, then the console that reads
    // both) starts beside the rest: the Deployments wait only for the database.
    const prometheus = step(logger, 'alertmanager', () => parts.startAlertmanager())
      .then(() => step(logger, 'prometheus', () => parts.startPrometheus()))
      .then(() => step(logger, 'console', () => parts.startConsole()))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const bundles = step(logger, 'bundles', () => parts.prepareBundles());
    const database = step(logger, 'postgres', () => parts.startDatabase()).then(async () => {
      await bundles;
      return step(logger, 'deployments', () => parts.startDeployments());
    });
    // Both settle before anything is stopped, so no Prometheus starts after the clean-up.
    const [started, prometheusFailure] = await Promise.all([
      database.then(
        () => undefined,
        (e: unknown) => e,
      ),
      prometheus,
    ]);
    if (started !== undefined) throw started;
    if (prometheusFailure !== undefined) throw prometheusFailure;
    await step(logger, 'autoscalers', () => parts.startAutoscaler());
  } catch (error) {
    await parts.stop();
    throw error;
  }
  parts.state = 'running';
  logger.info(
    {
      controlUrl: parts.controlUrl,
      fronts: parts.frontUrls,
      prometheus: parts.prometheus?.url,
      alertmanager: parts.alertmanager?.url,
      console: parts.console?.url,
      postgres: parts.databaseUrl,
    },
    'runtime started',
  );
  let stopping: Promise<void> | undefined;
  return {
    plan,
    events: parts.events,
    controllers: parts.controllers,
    database: parts.database,
    frontUrls: parts.frontUrls,
    ...parts.urls(),
    databaseDataDir: parts.databaseDataDir ?? null,
    replicas: () => parts.replicas().map((r) => parts.view(r)),
    stop() {
      stopping ??= (async () => {
        parts.state = 'stopping';
        logger.info('runtime stopping');
        await parts.stop();
        logger.info('runtime stopped');
      })();
      return stopping;
    },
  };
}
