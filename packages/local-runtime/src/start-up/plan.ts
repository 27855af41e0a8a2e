import path from 'node:path';
import { LOCAL_PORTS, SERVICES } from '@self-healing-shop/contracts';
import { DEFAULT_DATABASE_SPEC } from '../manifests/database-spec.ts';
import type { DatabaseSpec } from '../manifests/database-spec.ts';
import type { DeploymentSpec, PodSpec, ProbeSpec } from '../manifests/deployment-spec.ts';
import type { HpaSpec } from '../manifests/hpa-spec.ts';
import type { Platform } from '../manifests/manifests.ts';
import { ALERTMANAGER_INSTALL_HINT } from '../monitoring/alertmanager.ts';
import { PROMETHEUS_INSTALL_HINT } from '../monitoring/prometheus.ts';

/** The front port of each service (`LOCAL_PORTS`). */
export const DEFAULT_FRONT_PORTS: Readonly<Record<string, number>> = Object.fromEntries(
  SERVICES.map((service) => [service, LOCAL_PORTS[service]]),
);

/** What the caller decides; everything else comes from the manifests. */
export interface PlanOptions {
  /** The repository: services/<name>/src/main.ts and monitoring/ are found from here. */
  readonly rootDir: string;
  /** Kustomize folder with the Deployments, HPAs and the database (default <rootDir>/k8s/base). */
  readonly k8sDir?: string;
  /** Logs, PostgreSQL and Prometheus data (default <rootDir>/.data). */
  readonly dataDir?: string;
  /** 0 picks a free port (tests). */
  readonly controlPort?: number;
  /** Front port per service (`app.kubernetes.io/name`); services not listed get none; 0 picks a free port. */
  readonly frontPorts?: Readonly<Record<string, number>>;
  /** The database (a real port: PostgreSQL cannot pick one and tell). */
  readonly postgres?: false | { readonly port?: number };
  /** Default: started when `prometheus` is on PATH. */
  readonly prometheus?: false | { readonly port?: number; readonly binary?: string };
  /**
   * Default: started when Prometheus runs and `prometheus-alertmanager` (or `alertmanager`) is on PATH;
   * the local Prometheus sends its alerts there.
   */
  readonly alertmanager?: false | { readonly port?: number; readonly binary?: string };
  /** The web console (default: started on LOCAL_PORTS.console); 0 picks a free port. */
  readonly console?: false | { readonly port?: number };
  /** Multiplies the manifests' probe timings, preStop and grace periods (tests run faster with 0.2). */
  readonly timeScale?: number;
}

/** A port the runtime will listen on, and which flag moves it. */
export interface PlannedPort {
  readonly port: number;
  readonly what: string;
  readonly flag: string;
  /** An optional part (Prometheus, Alertmanager, the console) moves to a free port when this one is taken; the others stop `up`. */
  readonly optional: boolean;
}

/** What to start, on which ports, from which manifests: plain data (the daemon receives it as JSON). */
export interface RuntimePlan {
  readonly rootDir: string;
  readonly k8sDir: string;
  readonly dataDir: string;
  readonly logsDir: string;
  /** Pids of running replicas, for the next `up` after a runtime killed with SIGKILL. */
  readonly leftoversFile: string;
  readonly deployments: readonly DeploymentSpec[];
  readonly autoscalers: readonly HpaSpec[];
  readonly controlPort: number;
  readonly frontPorts: Readonly<Record<string, number>>;
  readonly database?: { readonly spec: DatabaseSpec; readonly port: number; readonly dataDir: string };
  readonly prometheus?: { readonly binary: string; readonly port: number; readonly dataDir: string };
  readonly alertmanager?: { readonly binary: string; readonly port: number; readonly dataDir: string };
  /** The console: its port, the dashboards it draws and the chaos reports it shows. */
  readonly console?: { readonly port: number; readonly dashboardsDir: string; readonly reportsDir: string };
  readonly ports: readonly PlannedPort[];
  /** What the user should know (a part left out, a port moved), one line each. */
  readonly notes: readonly string[];
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

function scaleSpec<T extends PodSpec>(spec: T, k: number): T {
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

/**
 * The start-up plan: a pure function of the options, the manifests and whether Prometheus and
 * Alertmanager are installed (found once by the caller). `up` checks the plan's ports and hands it to
 * the daemon.
 */
export function planRuntime(
  options: PlanOptions,
  platform: Platform,
  prometheusBinary: string | undefined,
  alertmanagerBinary?: string,
): RuntimePlan {
  const rootDir = path.resolve(options.rootDir);
  const dataDir = path.resolve(rootDir, options.dataDir ?? '.data');
  const k = options.timeScale ?? 1;
  const deployments = platform.deployments.map((spec) => scaleSpec(spec, k));
  const requested = options.frontPorts ?? DEFAULT_FRONT_PORTS;
  const frontPorts: Record<string, number> = {};
  for (const spec of deployments)
    if (requested[spec.service] !== undefined) frontPorts[spec.service] = requested[spec.service]!;
  const controlPort = options.controlPort ?? LOCAL_PORTS.control;
  const ports: PlannedPort[] = [
    { port: controlPort, what: 'control API', flag: '--control-port', optional: false },
  ];
  for (const [service, port] of Object.entries(frontPorts))
    ports.push({ port, what: `${service} front port`, flag: '--front-port', optional: false });
  const notes: string[] = [];

  let database: RuntimePlan['database'];
  if (options.postgres !== false) {
    const port = options.postgres?.port ?? LOCAL_PORTS.postgres;
    database = {
      spec: scaleSpec(platform.database ?? DEFAULT_DATABASE_SPEC, k),
      port,
      dataDir: path.join(dataDir, 'postgres'),
    };
    ports.push({ port, what: 'PostgreSQL', flag: '--postgres-port', optional: false });
  }
  let prometheus: RuntimePlan['prometheus'];
  if (options.prometheus !== false) {
    const binary = options.prometheus?.binary ?? prometheusBinary;
    if (binary) {
      const port = options.prometheus?.port ?? LOCAL_PORTS.prometheus;
      prometheus = { binary, port, dataDir: path.join(dataDir, 'prometheus') };
      ports.push({ port, what: 'Prometheus', flag: '--prometheus-port', optional: true });
    } else notes.push(PROMETHEUS_INSTALL_HINT);
  }
  // Alertmanager only receives what Prometheus sends: without Prometheus it has nothing to show.
  let alertmanager: RuntimePlan['alertmanager'];
  if (prometheus && options.alertmanager !== false) {
    const binary = options.alertmanager?.binary ?? alertmanagerBinary;
    if (binary) {
      const port = options.alertmanager?.port ?? LOCAL_PORTS.alertmanager;
      alertmanager = { binary, port, dataDir: path.join(dataDir, 'alertmanager') };
      ports.push({ port, what: 'Alertmanager', flag: '--alertmanager-port', optional: true });
    } else notes.push(ALERTMANAGER_INSTALL_HINT);
  }
  let consolePart: RuntimePlan['console'];
  if (options.console !== false) {
    const port = options.console?.port ?? LOCAL_PORTS.console;
    consolePart = {
      port,
      dashboardsDir: path.join(rootDir, 'monitoring', 'dashboards'),
      reportsDir: path.join(rootDir, 'reports', 'chaos'),
    };
    ports.push({ port, what: 'console', flag: '--console-port', optional: true });
  }
  return {
    rootDir,
    k8sDir: path.resolve(rootDir, options.k8sDir ?? 'k8s/base'),
    dataDir,
    logsDir: path.join(dataDir, 'logs'),
    leftoversFile: path.join(dataDir, 'replicas.json'),
    deployments,
    autoscalers: platform.autoscalers,
    controlPort,
    frontPorts,
    ...(database ? { database } : {}),
    ...(prometheus ? { prometheus } : {}),
    ...(alertmanager ? { alertmanager } : {}),
    ...(consolePart ? { console: consolePart } : {}),
    ports,
    notes,
  };
}

/** The plan with an optional part moved to another port (its port was taken). */
export function movePort(plan: RuntimePlan, what: PlannedPort, port: number, note: string): RuntimePlan {
  return {
    ...plan,
    ...(what.what === 'Prometheus' && plan.prometheus ? { prometheus: { ...plan.prometheus, port } } : {}),
    ...(what.what === 'Alertmanager' && plan.alertmanager
      ? { alertmanager: { ...plan.alertmanager, port } }
      : {}),
    ...(what.what === 'console' && plan.console ? { console: { ...plan.console, port } } : {}),
    ports: plan.ports.map((p) => (p === what ? { ...p, port } : p)),
    notes: [...plan.notes, note],
  };
}
