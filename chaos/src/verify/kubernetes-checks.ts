/**
 * `chaos verify --target kubernetes`: what `make up` on KIND must have produced, read from the API
 * server (kubeconfig credentials), the chart's Prometheus and Grafana, and the order NodePort.
 *
 * How Prometheus and Grafana are reached: `make verify` passes the host ports that kind.sh mapped
 * (`kind.sh env`: PROMETHEUS_URL, GRAFANA_URL, ORDER_URL), the URLs a user opens, so the check covers
 * them too. Grafana cannot be reached through the API server's Service proxy: its basic authentication
 * travels in `Authorization`, which kube-apiserver deletes from a request it has authenticated. Without
 * --prometheus-url, Prometheus (no authentication) is read through that proxy, as the chaos engine
 * already reads Alertmanager; without --grafana-url the dashboards check fails and says what to pass.
 */
import { AppsV1Api, CustomObjectsApi, CoreV1Api, Metrics, type KubeConfig } from '@kubernetes/client-node';
import type { KubernetesTarget } from '../targets/kubernetes-target.ts';
import { AdminProxy, parseJson } from '../targets/kubernetes/admin-proxy.ts';
import { describeApiError } from '../targets/kubernetes/api-errors.ts';
import { fail, pass, settle, type Check, type CheckOutcome } from './check.ts';
import { expectedDashboards, judgeDashboards, type GrafanaAccess } from './grafana.ts';
import { killRound, type KillRoundOptions } from './kill-round.ts';
import { orderRoundTrip } from './order-round-trip.ts';
import {
  activeTargets,
  judgeRules,
  judgeTargets,
  prometheusAt,
  ruleGroups,
  unwrap,
  type PrometheusApi,
  type TargetSet,
} from './prometheus.ts';
import { deploymentPending, statefulSetPending } from './rollout-status.ts';

/** kube-prometheus-stack as k8s/scripts/kind.sh installs it (release `kube-prometheus-stack`, namespace `monitoring`). */
export const CHART = {
  namespace: 'monitoring',
  /** The chart's Prometheus Service (`<release>-prometheus`, port 9090). */
  prometheus: { name: 'kube-prometheus-stack-prometheus', port: 9090 },
  /** The Grafana subchart's admin Secret (`<release>-grafana`, keys admin-user / admin-password). */
  grafanaSecret: 'kube-prometheus-stack-grafana',
} as const;

const MONITORING = { group: 'monitoring.coreos.com', version: 'v1' } as const;

export interface KubernetesChecksOptions {
  kubeConfig: KubeConfig;
  target: KubernetesTarget;
  namespace: string;
  selector: string;
  orderUrl: string;
  prometheusUrl?: string;
  grafanaUrl?: string;
  /** GRAFANA_USER / GRAFANA_PASSWORD; else the chart's Secret. */
  grafanaUser?: string;
  grafanaPassword?: string;
  waitMs: number;
  kill?: Omit<KillRoundOptions, 'target'>;
}

interface ServiceMonitor {
  metadata: { name: string; namespace?: string };
  spec: {
    endpoints?: unknown[];
    selector?: { matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
  };
}

interface PrometheusRuleObject {
  metadata: { name: string };
  spec: { groups?: Array<{ name: string }> };
}

/** Prometheus through the API server's Service proxy (no authentication on Prometheus' side). */
export function prometheusThroughApiServer(kc: KubeConfig): PrometheusApi {
  // The proxy never sends the services' admin token (withAdminToken false): it is only a placeholder.
  const proxy = new AdminProxy(kc, CHART.namespace, 'unused');
  const { namespace, prometheus } = CHART;
  const base = `/api/v1/namespaces/${namespace}/services/${prometheus.name}:${prometheus.port}/proxy`;
  return {
    description: `Prometheus (service ${namespace}/${prometheus.name}:${prometheus.port} through the API server)`,
    get: async <T>(path: string) => {
      const what = `Prometheus ${path} (through the API server)`;
      return unwrap<T>(
        what,
        parseJson(what, await proxy.send(what, 'GET', `${base}${path}`, undefined, false)),
      );
    },
  };
}

/** The `app.kubernetes.io/name In (...)` values of a ServiceMonitor's selector: the services it must find. */
function selectedServices(monitor: ServiceMonitor): string[] {
  const expression = monitor.spec.selector?.matchExpressions?.find(
    (e) => e.key === 'app.kubernetes.io/name' && e.operator === 'In',
  );
  return expression?.values ?? [];
}

/** What the Kubernetes checks share: the options, the cluster's clients and where Prometheus answers. */
interface KubernetesContext {
  readonly options: KubernetesChecksOptions;
  readonly core: CoreV1Api;
  readonly prometheus: PrometheusApi;
  /** `kubectl --context <context> -n <namespace>`, for the next steps printed on a failure. */
  readonly kubectl: string;
  readonly listMonitoring: <T>(plural: string) => Promise<T[]>;
}

export function kubernetesChecks(options: KubernetesChecksOptions): Check[] {
  const { kubeConfig: kc, target, namespace, selector, waitMs } = options;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const listMonitoring = async <T>(plural: string): Promise<T[]> => {
    try {
      const list = (await custom.listNamespacedCustomObject({
        ...MONITORING,
        namespace,
        plural,
        labelSelector: selector,
      })) as {
        items: T[];
      };
      return list.items;
    } catch (error) {
      throw new Error(`cannot list ${plural} in ${namespace}: ${describeApiError(error)}`, { cause: error });
    }
  };
  const context: KubernetesContext = {
    options,
    core: kc.makeApiClient(CoreV1Api),
    prometheus: options.prometheusUrl ? prometheusAt(options.prometheusUrl) : prometheusThroughApiServer(kc),
    kubectl: `kubectl --context ${kc.getCurrentContext()} -n ${namespace}`,
    listMonitoring,
  };
  const { kubectl } = context;
  return [
    {
      name: 'rollouts',
      next: `${kubectl} get deploy,sts,pods; bash k8s/scripts/kind.sh wait`,
      run: () => settle(() => rollouts(kc, namespace, selector, kubectl), waitMs),
    },
    {
      name: 'metrics-server',
      next: 'bash k8s/scripts/kind.sh metrics-server (kind installs none; the HPAs need it)',
      run: () => settle(() => metricsServing(kc, target, namespace), waitMs),
    },
    prometheusTargetsCheck(context),
    prometheusRulesCheck(context),
    grafanaDashboardsCheck(context),
    {
      name: 'order round trip',
      next: `${kubectl} logs deploy/order`,
      run: () =>
        orderRoundTrip(
          target,
          options.orderUrl,
          `${kubectl} logs deploy/order; bash k8s/scripts/kind.sh urls`,
        ),
    },
    {
      name: 'pod-kill round',
      next: `${kubectl} get events --sort-by=.lastTimestamp`,
      run: async () =>
        options.kill
          ? killRound(
              { ...options.kill, target },
              `${kubectl} get events --sort-by=.lastTimestamp; ${kubectl} get pods`,
            )
          : { status: 'skip', seen: 'not run (--no-kill)' },
    },
  ];
}

function prometheusTargetsCheck({ options, prometheus, kubectl, listMonitoring }: KubernetesContext): Check {
  const { namespace, selector } = options;
  return {
    name: 'prometheus targets',
    next: `${prometheus.description}: is kube-prometheus-stack installed? bash k8s/scripts/kind.sh monitoring`,
    run: async () => {
      const monitors = await listMonitoring<ServiceMonitor>('servicemonitors');
      const next = `open ${options.prometheusUrl ?? 'Prometheus'}/targets for each target's last error; ${kubectl} get servicemonitors,endpoints`;
      if (monitors.length === 0)
        return fail(
          `no ServiceMonitor matches ${selector} in ${namespace}`,
          'bash k8s/scripts/kind.sh deploy',
        );
      // prometheus-operator names each endpoint's scrape pool `serviceMonitor/<namespace>/<name>/<index>`;
      // its targets carry the job (the Service's name by default) and `service` labels.
      const sets: TargetSet[] = monitors.map((m) => {
        const pool = `serviceMonitor/${m.metadata.namespace ?? namespace}/${m.metadata.name}/`;
        return {
          name: `ServiceMonitor ${m.metadata.name}`,
          matches: (t) => t.scrapePool.startsWith(pool),
          services: selectedServices(m),
        };
      });
      return settle(async () => judgeTargets(await activeTargets(prometheus), sets, next), options.waitMs);
    },
  };
}

function prometheusRulesCheck({ options, prometheus, kubectl, listMonitoring }: KubernetesContext): Check {
  return {
    name: 'prometheus rules',
    next: `${prometheus.description}: is kube-prometheus-stack installed? bash k8s/scripts/kind.sh monitoring`,
    run: async () => {
      const rules = await listMonitoring<PrometheusRuleObject>('prometheusrules');
      const expected = rules.flatMap((r) => (r.spec.groups ?? []).map((g) => g.name));
      const next =
        `${kubectl} get prometheusrules --show-labels (the chart selects release=kube-prometheus-stack); ` +
        'kubectl -n monitoring logs deploy/kube-prometheus-stack-operator shows rejected rules';
      return settle(async () => judgeRules(await ruleGroups(prometheus), expected, next), options.waitMs);
    },
  };
}

function grafanaDashboardsCheck({ options, core }: KubernetesContext): Check {
  return {
    name: 'grafana dashboards',
    next: 'kubectl -n monitoring logs deploy/kube-prometheus-stack-grafana -c grafana-sc-dashboard shows the dashboards sidecar',
    run: async () => {
      if (!options.grafanaUrl)
        return fail(
          'no Grafana URL given',
          'pass --grafana-url (make verify passes the host port from bash k8s/scripts/kind.sh env)',
        );
      const access = await grafanaAccess(core, options);
      const expected = await expectedDashboards();
      const next =
        `kubectl -n monitoring get configmaps -l grafana_dashboard=1 (make up applies monitoring/); ` +
        'kubectl -n monitoring logs deploy/kube-prometheus-stack-grafana -c grafana-sc-dashboard';
      return settle(() => judgeDashboards(access, expected, next), options.waitMs);
    },
  };
}

/** Every Deployment and StatefulSet matching the selector, judged as `kubectl rollout status` does. */
async function rollouts(
  kc: KubeConfig,
  namespace: string,
  selector: string,
  kubectl: string,
): Promise<CheckOutcome> {
  const apps = kc.makeApiClient(AppsV1Api);
  const [deployments, statefulSets] = await Promise.all([
    apps.listNamespacedDeployment({ namespace, labelSelector: selector }),
    apps.listNamespacedStatefulSet({ namespace, labelSelector: selector }),
  ]).catch((error: unknown) => {
    throw new Error(`cannot list workloads in ${namespace}: ${describeApiError(error)}`, { cause: error });
  });
  const judged = [
    ...deployments.items.map((d) => ({
      ref: `deployment/${d.metadata?.name}`,
      name: d.metadata?.name ?? '',
      ready: `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
      pending: deploymentPending(d),
    })),
    ...statefulSets.items.map((s) => ({
      ref: `statefulset/${s.metadata?.name}`,
      name: s.metadata?.name ?? '',
      ready: `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`,
      pending: statefulSetPending(s),
    })),
  ];
  if (judged.length === 0)
    return fail(`nothing matches ${selector} in ${namespace}`, 'bash k8s/scripts/kind.sh deploy');
  const pending = judged.filter((w) => w.pending !== undefined);
  const seen = judged.map((w) => `${w.name} ${w.ready}${w.pending ? ` (${w.pending})` : ''}`).join(', ');
  return pending.length === 0
    ? pass(`${judged.length} rollouts complete: ${seen}`)
    : fail(
        `not complete: ${pending.map((w) => w.name).join(', ')}; seen ${seen}`,
        `${kubectl} rollout status ${pending.map((w) => w.ref).join(' ')}; ${kubectl} describe pods`,
      );
}

/** GRAFANA_USER/GRAFANA_PASSWORD, else the chart's admin Secret (the values file sets it; the chart stores it there). */
async function grafanaAccess(core: CoreV1Api, options: KubernetesChecksOptions): Promise<GrafanaAccess> {
  const url = options.grafanaUrl!;
  if (options.grafanaUser && options.grafanaPassword)
    return { url, user: options.grafanaUser, password: options.grafanaPassword };
  let data: Record<string, string> | undefined;
  try {
    data = (await core.readNamespacedSecret({ name: CHART.grafanaSecret, namespace: CHART.namespace })).data;
  } catch (error) {
    throw new Error(
      `cannot read Grafana's admin Secret ${CHART.namespace}/${CHART.grafanaSecret}: ${describeApiError(error)}; ` +
        'set GRAFANA_USER and GRAFANA_PASSWORD',
      { cause: error },
    );
  }
  const decode = (key: string): string => {
    const value = data?.[key];
    if (!value) throw new Error(`Secret ${CHART.namespace}/${CHART.grafanaSecret} has no ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
  return { url, user: decode('admin-user'), password: decode('admin-password') };
}

/** metrics.k8s.io answers for the pods in the namespace, with at least one pod of each Deployment. */
async function metricsServing(
  kc: KubeConfig,
  target: KubernetesTarget,
  namespace: string,
): Promise<CheckOutcome> {
  const next = 'bash k8s/scripts/kind.sh metrics-server; kubectl get apiservice v1beta1.metrics.k8s.io';
  let names: Set<string>;
  try {
    const list = await new Metrics(kc).getPodMetrics(namespace);
    names = new Set(list.items.map((p) => p.metadata.name));
  } catch (error) {
    return fail(`metrics.k8s.io does not answer for pods in ${namespace}: ${describeApiError(error)}`, next);
  }
  const [replicas, workloads] = await Promise.all([target.listReplicas(), target.listWorkloads()]);
  const deployments = workloads.filter((w) => w.kind === 'Deployment').map((w) => w.name);
  const without = deployments.filter((d) => !replicas.some((r) => r.workload === d && names.has(r.name)));
  const measured = replicas.filter((r) => names.has(r.name)).length;
  return without.length === 0
    ? pass(`metrics.k8s.io answers: ${measured}/${replicas.length} pods in ${namespace} measured`)
    : fail(
        `metrics.k8s.io answers but has no pod of ${without.join(', ')} (${measured}/${replicas.length} pods measured)`,
        next,
      );
}
