import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  ADMIN_TOKEN_ENV,
  DEFAULT_CONTROL_URL,
  DEFAULT_ORDER_URL,
  LOCAL_ADMIN_TOKEN,
  LOCAL_PORTS,
  NAMESPACE,
} from '@self-healing-shop/contracts';
import { parseDuration } from '@self-healing-shop/loadgen';
import { ExperimentError, listExperiments, loadExperiment } from './experiment.ts';
import { loadGenerator, type StartLoad } from './load.ts';
import { newSeed } from './random.ts';
import { EXIT_PASS, EXIT_USAGE, runExperiment } from './run.ts';
import { table } from './report/terminal.ts';
import {
  DEFAULT_NAMESPACES,
  DEFAULT_SELECTOR,
  SafetyError,
  checkConfirmed,
  checkContext,
  checkNamespace,
  checkSelector,
  mayKill,
} from './safety.ts';
import { KubernetesTarget } from './targets/kubernetes-target.ts';
import { LocalTarget } from './targets/local-target.ts';
import { TargetError, type Target } from './target.ts';
import { kubernetesChecks } from './verify/kubernetes-checks.ts';
import { localChecks } from './verify/local-checks.ts';
import { requestJson } from './verify/http.ts';
import { verify } from './verify/verify.ts';
import { rolloutGuardCommand } from './rollout/guard-command.ts';

const DEFAULT_NOTIFICATION_URL = `http://127.0.0.1:${LOCAL_PORTS.notification}`;
/** The token of the demo Secret in k8s/base/shared/secret.yaml. */
const KUBERNETES_DEMO_TOKEN = 'chaos-demo-token';

export const USAGE = `chaos: kill pods and inject faults under load, measure recovery, judge it.

usage:
  chaos run <experiment|file.yaml> [options]   run an experiment (see chaos list)
  chaos list                                   the experiments
  chaos targets [--target ...]                 what an experiment would hit
  chaos verify [--target ...] [--json]         self-check after \`make up\`: workloads, Prometheus targets and
                                               rules, Grafana (kubernetes), an order, one pod-kill round
  chaos rollout-guard [options]                after a deploy: watch the rollouts and the fast
                                               burn-rate alert, roll back on failure (--help)

options:
  --target local|kubernetes   platform (default local)
  --namespace NAME            Kubernetes namespace (default shop; must be allowed)
  --allow-namespace NAME      add a namespace to the allowlist (repeatable; default: shop)
  --selector SELECTOR         pods in scope (default ${DEFAULT_SELECTOR})
  --context NAME              kubeconfig context (default: the current one; must be kind-*)
  --allow-context NAME        accept this non-KIND context
  --yes                       really disrupt a Kubernetes cluster (or CHAOS_CONFIRM=1)
  --workload NAME             Deployment to hit (default: the experiment's, or random)
  --rounds N                  rounds (default: the experiment's)
  --interval DURATION         pause between rounds, e.g. 10s
  --seed S                    random seed: the same seed picks the same victims
  --mttr-slo DURATION         MTTR p95 objective, e.g. 30s
  --recovery-timeout DURATION give up waiting for recovery after this long
  --min-success RATIO         order success ratio objective, e.g. 0.99
  --load-rate N               orders per second during the run
  --url URL                   order service (default ${DEFAULT_ORDER_URL})
  --notification-url URL      notification service (default ${DEFAULT_NOTIFICATION_URL})
  --runtime-url URL           local runtime control API (default ${DEFAULT_CONTROL_URL})
  --admin-token TOKEN         the services' admin token (x-admin-token: faults, audit API); default
                              env ${ADMIN_TOKEN_ENV}, else ${LOCAL_ADMIN_TOKEN} (local) or the demo
                              Secret's ${KUBERNETES_DEMO_TOKEN} (kubernetes)
  --alertmanager-url URL      read the experiment's alerts there (default: the runtime's from GET /status;
                              kubernetes: the chart's Alertmanager through the API server's Service proxy)
  --require-alerts            alerts that cannot be checked (no Alertmanager) break the verdict
  --no-invariants             do not check the data invariants after the run (reported as not checked)
  --evict                     evict through the Eviction API (PodDisruptionBudgets respected)
  --dry-run                   print the plan; touch nothing
  --report-dir DIR            where report.json, junit.xml, metrics.prom go (default reports/chaos;
                              verify: reports/verify)

verify options:
  --json                      one JSON document instead of the lines
  --wait DURATION             how long a converging check (rollouts, first scrapes, rules, dashboards)
                              may take before it fails (default 60s)
  --prometheus-url URL        Prometheus (local: the runtime's from GET /status; kubernetes: the chart's
                              through the API server's Service proxy)
  --grafana-url URL           Grafana (kubernetes; credentials: env GRAFANA_USER and GRAFANA_PASSWORD,
                              else the chart's Secret monitoring/kube-prometheus-stack-grafana)
  --no-kill                   skip the pod-kill round (reported as skipped)

exit codes: 0 objectives met, 1 an objective broken, 2 usage or environment error.`;

export interface MainDeps {
  env: Record<string, string | undefined>;
  print: (line: string) => void;
  printError: (line: string) => void;
  signal: AbortSignal;
  /** The kubeconfig to use; default: the usual loading rules ($KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: () => KubeConfig;
  startLoad?: StartLoad;
}

const OPTIONS = {
  target: { type: 'string', default: 'local' },
  namespace: { type: 'string', default: NAMESPACE },
  'allow-namespace': { type: 'string', multiple: true },
  selector: { type: 'string', default: DEFAULT_SELECTOR },
  context: { type: 'string' },
  'allow-context': { type: 'string' },
  yes: { type: 'boolean', short: 'y', default: false },
  workload: { type: 'string' },
  rounds: { type: 'string' },
  interval: { type: 'string' },
  seed: { type: 'string' },
  'mttr-slo': { type: 'string' },
  'recovery-timeout': { type: 'string' },
  'min-success': { type: 'string' },
  'load-rate': { type: 'string' },
  url: { type: 'string', default: DEFAULT_ORDER_URL },
  'notification-url': { type: 'string', default: DEFAULT_NOTIFICATION_URL },
  'runtime-url': { type: 'string', default: DEFAULT_CONTROL_URL },
  'admin-token': { type: 'string' },
  'no-invariants': { type: 'boolean', default: false },
  'alertmanager-url': { type: 'string' },
  'require-alerts': { type: 'boolean', default: false },
  evict: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  'report-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  wait: { type: 'string' },
  'prometheus-url': { type: 'string' },
  'grafana-url': { type: 'string' },
  'no-kill': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

class UsageError extends Error {
  override name = 'UsageError';
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a whole number >= 1, got "${value}"`);
  return n;
}

function ratio(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`${flag} must be within 0..1, got "${value}"`);
  return n;
}

function duration(value: string, flag: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

function httpUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${flag} must be an http(s) URL, got "${value}"`);
  return value;
}

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function createTarget(values: Values, deps: MainDeps, purpose: 'run' | 'read'): Target {
  const adminToken = adminTokenOf(values, deps);
  const target = values.target;
  if (target === 'local') {
    return new LocalTarget({
      controlUrl: values['runtime-url'],
      adminToken: adminToken ?? LOCAL_ADMIN_TOKEN,
    });
  }
  if (target !== 'kubernetes') throw new UsageError(`--target must be local or kubernetes, got "${target}"`);
  return createKubernetesTarget(values, deps, purpose).target;
}

function adminTokenOf(values: Values, deps: MainDeps): string | undefined {
  const adminToken = values['admin-token'] ?? deps.env[ADMIN_TOKEN_ENV];
  if (adminToken !== undefined && adminToken.trim() === '')
    throw new UsageError('--admin-token must not be empty');
  return adminToken;
}

function createKubernetesTarget(
  values: Values,
  deps: MainDeps,
  purpose: 'run' | 'read',
): { target: KubernetesTarget; kc: KubeConfig } {
  const adminToken = adminTokenOf(values, deps);
  checkNamespace(values.namespace, [...DEFAULT_NAMESPACES, ...(values['allow-namespace'] ?? [])]);
  checkSelector(values.selector);
  let kc: KubeConfig;
  if (deps.kubeConfig) kc = deps.kubeConfig();
  else {
    kc = new KubeConfig();
    kc.loadFromDefault();
  }
  if (values.context) {
    if (!kc.getContextObject(values.context)) {
      throw new UsageError(
        `kubeconfig has no context "${values.context}" (have: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
      );
    }
    kc.setCurrentContext(values.context);
  }
  checkContext(kc.getCurrentContext(), values['allow-context']);
  if (purpose === 'run' && !values['dry-run']) checkConfirmed({ yes: values.yes, env: deps.env });
  const target = new KubernetesTarget({
    kubeConfig: kc,
    namespace: values.namespace,
    selector: values.selector,
    faultToken: adminToken ?? KUBERNETES_DEMO_TOKEN,
  });
  return { target, kc };
}

async function listCommand(deps: MainDeps): Promise<number> {
  const experiments = await listExperiments();
  deps.print(
    table(
      ['experiment', 'action', 'outage', 'description'],
      experiments.map((e) => [e.name, e.action.kind, e.outage ? 'yes' : 'no', e.description]),
    ),
  );
  return EXIT_PASS;
}

async function targetsCommand(values: Values, deps: MainDeps): Promise<number> {
  const target = createTarget(values, deps, 'read');
  const [replicas, workloads] = await Promise.all([target.listReplicas(), target.listWorkloads()]);
  deps.print(`scope: ${target.description}`);
  deps.print(
    table(
      ['workload', 'kind', 'desired', 'ready', 'updated', 'protected'],
      workloads.map((w) => [
        w.name,
        w.kind,
        String(w.desired),
        String(w.ready),
        String(w.updated),
        w.protected ? 'yes' : 'no',
      ]),
    ),
  );
  deps.print('');
  deps.print(
    table(
      ['replica', 'workload', 'phase', 'ready', 'pod-kill may hit it'],
      replicas.map((r) => {
        const workload = workloads.find((w) => w.name === r.workload);
        const decision =
          workload?.kind === 'StatefulSet'
            ? { allowed: false, reason: 'a StatefulSet (only database-kill hits the database)' }
            : mayKill(r, replicas, workload, false);
        return [
          r.name,
          r.workload,
          r.phase,
          r.ready ? 'yes' : 'no',
          decision.allowed ? 'yes' : `no: ${decision.reason}`,
        ];
      }),
    ),
  );
  await target.close();
  return EXIT_PASS;
}

async function runCommand(name: string | undefined, values: Values, deps: MainDeps): Promise<number> {
  if (!name)
    throw new UsageError('chaos run needs an experiment name (see `chaos list`) or a .yaml/.json file');
  const experiment = await loadExperiment(name);
  const d = experiment.defaults;
  const options = {
    experiment,
    rounds: values.rounds ? positiveInt(values.rounds, '--rounds') : d.rounds,
    intervalMs: values.interval ? duration(values.interval, '--interval') : d.interval,
    seed: values.seed ?? newSeed(),
    mttrSloMs: values['mttr-slo'] ? duration(values['mttr-slo'], '--mttr-slo') : d.mttrSlo,
    recoveryTimeoutMs: values['recovery-timeout']
      ? duration(values['recovery-timeout'], '--recovery-timeout')
      : d.recoveryTimeout,
    minSuccess: values['min-success'] ? ratio(values['min-success'], '--min-success') : d.minSuccess,
    loadRate: values['load-rate'] ? positiveInt(values['load-rate'], '--load-rate') : d.loadRate,
    url: values.url,
    notificationUrl: values['notification-url'],
    evict: values.evict,
    workload: values.workload,
    dryRun: values['dry-run'],
    reportDir: values['report-dir'] ?? 'reports/chaos',
    invariants: !values['no-invariants'],
    alertmanagerUrl: values['alertmanager-url']
      ? httpUrl(values['alertmanager-url'], '--alertmanager-url')
      : undefined,
    requireAlerts: values['require-alerts'],
  };
  const target = createTarget(values, deps, 'run');
  try {
    const startLoad = deps.startLoad ?? (await loadGenerator());
    const outcome = await runExperiment(options, {
      target,
      startLoad,
      print: deps.print,
      signal: deps.signal,
    });
    return outcome.exitCode;
  } finally {
    await target.close();
  }
}

async function verifyCommand(values: Values, deps: MainDeps): Promise<number> {
  const waitMs = values.wait ? duration(values.wait, '--wait') : 60_000;
  const prometheusUrl = values['prometheus-url'] && httpUrl(values['prometheus-url'], '--prometheus-url');
  const grafanaUrl = values['grafana-url'] && httpUrl(values['grafana-url'], '--grafana-url');
  const url = httpUrl(values.url, '--url');
  const kill = values['no-kill']
    ? undefined
    : {
        startLoad: deps.startLoad ?? (await loadGenerator()),
        url,
        notificationUrl: values['notification-url'],
        reportDir: values['report-dir'] ?? 'reports/verify',
        signal: deps.signal,
        mttrSloMs: values['mttr-slo'] ? duration(values['mttr-slo'], '--mttr-slo') : undefined,
        recoveryTimeoutMs: values['recovery-timeout']
          ? duration(values['recovery-timeout'], '--recovery-timeout')
          : undefined,
        workload: values.workload,
        seed: values.seed,
        loadRate: values['load-rate'] ? positiveInt(values['load-rate'], '--load-rate') : undefined,
        evict: values.evict,
      };
  const print = { json: values.json, print: deps.print };
  if (values.target === 'kubernetes') {
    const { target, kc } = createKubernetesTarget(values, deps, values['no-kill'] ? 'read' : 'run');
    try {
      const checks = kubernetesChecks({
        kubeConfig: kc,
        target,
        namespace: values.namespace,
        selector: values.selector,
        orderUrl: url,
        prometheusUrl,
        grafanaUrl,
        grafanaUser: deps.env.GRAFANA_USER,
        grafanaPassword: deps.env.GRAFANA_PASSWORD,
        waitMs,
        kill,
      });
      return (await verify(target, checks, print)).exitCode;
    } finally {
      await target.close();
    }
  }
  const target = createTarget(values, deps, 'read');
  try {
    if (prometheusUrl) throw new UsageError('--prometheus-url: the local runtime names its own Prometheus');
    // Nothing to check without the runtime: one message instead of every check failing alike.
    await requestJson('the local runtime', `${values['runtime-url']}/status`).catch((error: unknown) => {
      throw new TargetError(
        `${(error as Error).message}: nothing to verify; start the platform with \`make up\` (or pass --runtime-url)`,
      );
    });
    const checks = localChecks({ target, controlUrl: values['runtime-url'], orderUrl: url, waitMs, kill });
    return (await verify(target, checks, print)).exitCode;
  } finally {
    await target.close();
  }
}

/** The CLI without the process: arguments in, exit code out. */
export async function main(argv: string[], deps: MainDeps): Promise<number> {
  // Its own options (rollout/guard-command.ts).
  if (argv[0] === 'rollout-guard') return rolloutGuardCommand(argv.slice(1), deps);
  try {
    const { values, positionals } = parse(argv);
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      deps.print(USAGE);
      return values.help ? EXIT_PASS : EXIT_USAGE;
    }
    if (command === 'list') return await listCommand(deps);
    if (command === 'targets') return await targetsCommand(values, deps);
    if (command === 'verify') {
      if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
      return await verifyCommand(values, deps);
    }
    if (command === 'run') {
      if (rest.length > 1) throw new UsageError(`unexpected arguments: ${rest.slice(1).join(' ')}`);
      return await runCommand(rest[0], values, deps);
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      deps.printError(`chaos: ${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (error instanceof SafetyError || error instanceof TargetError || error instanceof ExperimentError) {
      deps.printError(`chaos: ${error.message}`);
      return EXIT_USAGE;
    }
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND') {
      deps.printError(`chaos: ${(error as Error).message}\nrun \`make install\` (pnpm install) first`);
      return EXIT_USAGE;
    }
    deps.printError(`chaos: ${(error as Error).stack ?? String(error)}`);
    return EXIT_USAGE;
  }
}
