import { hostname } from 'node:os';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  Watch,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import {
  TargetError,
  type EventSubscription,
  type FaultSpec,
  type KillOptions,
  type KillResult,
  READINESS_TIMEOUT_MS,
  type Readiness,
  type Replica,
  type Target,
  type TargetEvent,
  type WorkloadStatus,
} from '../target.ts';
import { ALERTS_PATH, parseAlerts, type AlertSource } from '../alerts/alert-source.ts';
import { silenceApi } from '../alerts/silences.ts';
import { AdminProxy, parseJson } from './kubernetes/admin-proxy.ts';
import { describeApiError } from './kubernetes/api-errors.ts';
import { ClusterState } from './kubernetes/cluster-state.ts';
import { DEFAULT_PAGE_SIZE, listAll, type Listed } from './kubernetes/pager.ts';
import { Reflector, type ReconnectPolicy, type ReflectorStats } from './kubernetes/reflector.ts';
import { toReplica, workloadOf, workloadStatus, type WorkloadObject } from './kubernetes/workloads.ts';

export { workloadStatus } from './kubernetes/workloads.ts';
export type { ReconnectPolicy } from './kubernetes/reflector.ts';

export interface KubernetesTargetOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  selector: string;
  /** The services' admin token, sent in `x-admin-token` through the API server's proxy. */
  adminToken?: string;
  /** @deprecated the former name of `adminToken`. */
  faultToken?: string;
  /** Items per list page (`limit`/`continue`); default 500, as client-go's pager. */
  pageSize?: number;
  /** Reconnect behaviour of the watches (backoff, give-up); defaults in reflector.ts. */
  reconnect?: Partial<ReconnectPolicy>;
  /** client-node's watch inactivity timeout (`Watch.requestTimeoutMs`); default 30 s. */
  watchIdleTimeoutMs?: number;
  /** The chart's Alertmanager Service (default: kube-prometheus-stack's, see ALERTMANAGER_SERVICE). */
  alertmanagerService?: { namespace: string; name: string; port: number };
  now?: () => number;
}

/**
 * kube-prometheus-stack's Alertmanager as k8s/scripts/kind.sh installs it: release `kube-prometheus-stack`
 * in namespace `monitoring` (the chart names the Service `<release>-alertmanager`, port 9093 `http-web`).
 */
export const ALERTMANAGER_SERVICE = {
  namespace: 'monitoring',
  name: 'kube-prometheus-stack-alertmanager',
  port: 9093,
} as const;

/** What `subscribe` returns on Kubernetes: the stream's health besides `close`. */
export interface KubernetesEventSubscription extends EventSubscription {
  /** Set once the stream gave up (it then delivers nothing more); also passed to `onError`. */
  readonly error: TargetError | undefined;
  /** Per watched collection: watches sent, re-lists after 410, failures. */
  stats(): Record<'pods' | 'deployments' | 'statefulsets', ReflectorStats>;
}

/**
 * Pod deletions use a grace period of 1 s (`kubectl delete --now`), never 0: with 0 the API server
 * removes the Pod object at once (a force deletion) while the kubelet lets the container run on for
 * its terminationGracePeriodSeconds, and for a StatefulSet it breaks the at-most-one guarantee — a
 * new `postgres-0` may start while the old one still holds the volume (Kubernetes docs, "Force Delete
 * StatefulSet Pods"). With 1 s the pod shows Terminating, gets SIGTERM, then SIGKILL (the kubelet
 * allows at least 2 s), the ReplicaSet replaces it at once and the StatefulSet once it is gone.
 */
const KILL_GRACE_SECONDS = 1;

/** Kubernetes (@kubernetes/client-node): pods of Deployments and StatefulSets matching a label selector. */
export class KubernetesTarget implements Target {
  readonly kind = 'kubernetes' as const;
  readonly description: string;
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #namespace: string;
  readonly #selector: string;
  readonly #admin: AdminProxy;
  readonly #alertmanager: { namespace: string; name: string; port: number };
  readonly #pageSize: number;
  readonly #reconnect: Partial<ReconnectPolicy>;
  readonly #watchIdleTimeoutMs: number | undefined;
  readonly #now: () => number;
  readonly #subscriptions = new Set<EventSubscription>();

  constructor(options: KubernetesTargetOptions) {
    const token = options.adminToken ?? options.faultToken;
    if (!token) throw new TargetError("the Kubernetes target needs the services' admin token (adminToken)");
    this.#kc = options.kubeConfig;
    this.#core = this.#kc.makeApiClient(CoreV1Api);
    this.#apps = this.#kc.makeApiClient(AppsV1Api);
    this.#namespace = options.namespace;
    this.#selector = options.selector;
    this.#admin = new AdminProxy(this.#kc, this.#namespace, token);
    this.#alertmanager = options.alertmanagerService ?? ALERTMANAGER_SERVICE;
    this.#pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#reconnect = options.reconnect ?? {};
    this.#watchIdleTimeoutMs = options.watchIdleTimeoutMs;
    this.#now = options.now ?? Date.now;
    this.description =
      `kubernetes context ${this.#kc.getCurrentContext()}, namespace ${this.#namespace}, ` +
      `selector ${this.#selector}`;
  }

  #listPods(): Promise<Listed<V1Pod>> {
    return listAll(
      (page) =>
        this.#core.listNamespacedPod({ namespace: this.#namespace, labelSelector: this.#selector, ...page }),
      this.#pageSize,
    );
  }

  #listDeployments(): Promise<Listed<V1Deployment>> {
    return listAll(
      (page) =>
        this.#apps.listNamespacedDeployment({
          namespace: this.#namespace,
          labelSelector: this.#selector,
          ...page,
        }),
      this.#pageSize,
    );
  }

  #listStatefulSets(): Promise<Listed<V1StatefulSet>> {
    return listAll(
      (page) =>
        this.#apps.listNamespacedStatefulSet({
          namespace: this.#namespace,
          labelSelector: this.#selector,
          ...page,
        }),
      this.#pageSize,
    );
  }

  async #listWorkloadObjects(): Promise<WorkloadObject[]> {
    const [deployments, statefulSets] = await Promise.all([
      this.#listDeployments(),
      this.#listStatefulSets(),
    ]);
    return [...asDeployments(deployments.items), ...asStatefulSets(statefulSets.items)];
  }

  async listWorkloads(): Promise<WorkloadStatus[]> {
    try {
      return (await this.#listWorkloadObjects()).map(workloadStatus);
    } catch (error) {
      throw new TargetError(`cannot list workloads in ${this.#namespace}: ${describeApiError(error)}`);
    }
  }

  async listReplicas(): Promise<Replica[]> {
    try {
      const [workloads, pods] = await Promise.all([this.#listWorkloadObjects(), this.#listPods()]);
      const replicas: Replica[] = [];
      for (const pod of pods.items) {
        const workload = workloadOf(pod, workloads);
        if (workload) replicas.push(toReplica(pod, workload));
      }
      return replicas.sort((a, b) => a.name.localeCompare(b.name));
    } catch (error) {
      throw new TargetError(`cannot list pods in ${this.#namespace}: ${describeApiError(error)}`);
    }
  }

  #newWatch(): Watch {
    const watch = new Watch(this.#kc);
    // `requestTimeoutMs` is a plain field at run time that 2.0.1's typings mark private.
    if (this.#watchIdleTimeoutMs !== undefined) {
      (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = this.#watchIdleTimeoutMs;
    }
    return watch;
  }

  /** One list-watch loop per collection, all feeding `state`. */
  #reflectors(state: ClusterState, watch: Watch, onFailure: (error: TargetError) => void) {
    const ns = this.#namespace;
    const common = { watch, policy: this.#reconnect, onFailure };
    const statefulSets = new Reflector<V1StatefulSet>({
      ...common,
      source: {
        path: `/apis/apps/v1/namespaces/${ns}/statefulsets`,
        labelSelector: this.#selector,
        list: () => this.#listStatefulSets(),
      },
      handlers: {
        replace: (items) => state.replaceWorkloads('StatefulSet', asStatefulSets(items)),
        apply: (type, object) => state.applyWorkload(type, { kind: 'StatefulSet', object }),
      },
    });
    const deployments = new Reflector<V1Deployment>({
      ...common,
      source: {
        path: `/apis/apps/v1/namespaces/${ns}/deployments`,
        labelSelector: this.#selector,
        list: () => this.#listDeployments(),
      },
      handlers: {
        replace: (items) => state.replaceWorkloads('Deployment', asDeployments(items)),
        apply: (type, object) => state.applyWorkload(type, { kind: 'Deployment', object }),
      },
    });
    const pods = new Reflector<V1Pod>({
      ...common,
      source: {
        path: `/api/v1/namespaces/${ns}/pods`,
        labelSelector: this.#selector,
        list: () => this.#listPods(),
      },
      handlers: {
        replace: (items) => state.replacePods(items),
        apply: (type, pod) => state.applyPod(type, pod),
      },
    });
    return { statefulSets, deployments, pods };
  }

  /**
   * Lists StatefulSets, Deployments and pods, then watches each from its list's resourceVersion, so
   * no change between list and watch is lost; each watch resumes by itself (see reflector.ts). Resolves
   * once every watch is established. A stream that gives up is reported to `onError` (and in
   * `error`); it never ends silently.
   */
  async subscribe(
    onEvent: (event: TargetEvent) => void,
    onError?: (error: TargetError) => void,
  ): Promise<KubernetesEventSubscription> {
    const state = new ClusterState((event) => onEvent({ at: this.#now(), ...event }));
    const watch = this.#newWatch();
    let failure: TargetError | undefined;
    let established = false;
    const reflectors: Array<Reflector<V1Pod> | Reflector<V1Deployment> | Reflector<V1StatefulSet>> = [];
    const onFailure = (error: TargetError): void => {
      if (failure) return;
      failure = error;
      for (const r of reflectors) r.stop(error);
      if (!established) return; // subscribe() itself rejects with it
      // Without a listener the failure still shows, on stderr, rather than nowhere.
      if (onError) onError(error);
      else console.error(`chaos: ${error.message}; no further platform events will be seen`);
    };
    const { statefulSets, deployments, pods } = this.#reflectors(state, watch, onFailure);
    reflectors.push(statefulSets, deployments, pods);
    const subscription: KubernetesEventSubscription = {
      get error() {
        return failure;
      },
      stats: () => ({ pods: pods.stats, deployments: deployments.stats, statefulsets: statefulSets.stats }),
      close: async () => {
        for (const r of reflectors) r.stop();
        this.#subscriptions.delete(subscription);
      },
    };
    try {
      const [statefulSetList, deploymentList, podList] = await Promise.all([
        this.#listStatefulSets(),
        this.#listDeployments(),
        this.#listPods(),
      ]);
      state.seed(
        [...asDeployments(deploymentList.items), ...asStatefulSets(statefulSetList.items)],
        podList.items,
      );
      await Promise.all([
        statefulSets.start(statefulSetList.resourceVersion),
        deployments.start(deploymentList.resourceVersion),
        pods.start(podList.resourceVersion),
      ]);
      established = true;
    } catch (error) {
      for (const r of reflectors) r.stop();
      throw new TargetError(`cannot watch ${this.#namespace}: ${describeApiError(failure ?? error)}`);
    }
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async kill(replica: Replica, options: KillOptions): Promise<KillResult> {
    const { name, uid } = replica;
    const deleteOptions = { gracePeriodSeconds: KILL_GRACE_SECONDS, preconditions: { uid } };
    try {
      if (options.evict) {
        await this.#core.createNamespacedPodEviction({
          name,
          namespace: this.#namespace,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name, namespace: this.#namespace },
            deleteOptions,
          },
        });
        return { outcome: 'sent', method: `eviction (grace period ${KILL_GRACE_SECONDS} s)` };
      }
      await this.#core.deleteNamespacedPod({
        name,
        namespace: this.#namespace,
        gracePeriodSeconds: KILL_GRACE_SECONDS,
        body: deleteOptions,
      });
      return { outcome: 'sent', method: `delete (grace period ${KILL_GRACE_SECONDS} s)` };
    } catch (error) {
      if (options.evict && error instanceof ApiException && error.code === 429) {
        return {
          outcome: 'refused',
          reason: `eviction refused by a PodDisruptionBudget (${describeApiError(error)})`,
        };
      }
      if (error instanceof ApiException && (error.code === 404 || error.code === 409)) {
        return { outcome: 'refused', reason: `${name} changed before the kill (${describeApiError(error)})` };
      }
      throw new TargetError(`cannot kill pod ${name}: ${describeApiError(error)}`);
    }
  }

  async annotateKill(replica: Replica, message: string): Promise<void> {
    const now = new Date(this.#now());
    await this.#core.createNamespacedEvent({
      namespace: this.#namespace,
      body: {
        metadata: { name: `${replica.name}.chaos-${now.getTime().toString(16)}`, namespace: this.#namespace },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          name: replica.name,
          namespace: this.#namespace,
          uid: replica.uid,
        },
        reason: 'ChaosPodKill',
        message,
        type: 'Warning',
        source: { component: 'self-healing-shop-chaos' },
        reportingComponent: 'self-healing-shop-chaos',
        reportingInstance: hostname(),
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  /**
   * A `freeze` fault on the pod's admin API: its event loop blocks for the duration (a container's
   * PID 1 cannot be SIGSTOPped from inside its PID namespace). Resolves once the pod accepted it.
   */
  async freeze(replica: Replica, durationMs: number): Promise<void> {
    if (!Number.isSafeInteger(durationMs) || durationMs <= 0) {
      throw new TargetError(`freeze needs a whole positive number of milliseconds, got ${durationMs}`);
    }
    await this.#admin.send(
      `the admin API of pod ${replica.name} (freeze)`,
      'POST',
      this.#admin.podPath(replica.name, '/admin/faults'),
      { type: 'freeze', durationMs },
    );
  }

  /** The chart's Alertmanager through the API server's Service proxy (no port-forward needed). */
  async alertSource(): Promise<AlertSource> {
    const { namespace, name, port } = this.#alertmanager;
    const proxy = `/api/v1/namespaces/${namespace}/services/${name}:${port}/proxy`;
    const apiPath = `${proxy}${ALERTS_PATH}`;
    const what = `Alertmanager (service ${namespace}/${name}:${port} through the API server)`;
    return {
      description: what,
      silences: silenceApi(
        async (method, path, body) =>
          (await this.#admin.send(what, method as 'POST' | 'DELETE', `${proxy}${path}`, body, false)).text,
      ),
      firing: async () => {
        const response = await this.#admin.send(what, 'GET', apiPath, undefined, false);
        return parseAlerts(what, parseJson<unknown>(what, response));
      },
    };
  }

  async adminGet<T>(service: string, path: string): Promise<T> {
    if (!path.startsWith('/')) throw new TargetError(`adminGet needs an absolute path, got "${path}"`);
    const what = `the admin API of service ${service} (GET ${path})`;
    return parseJson<T>(what, await this.#admin.send(what, 'GET', this.#admin.servicePath(service, path)));
  }

  /** The pod's readiness through the pod proxy (2 s at most); a public endpoint: no admin token. */
  async readiness(replica: Replica): Promise<Readiness> {
    const what = `pod ${replica.name} (GET /ready)`;
    const path = this.#admin.podPath(replica.name, '/ready');
    return parseJson<Readiness>(
      what,
      await this.#admin.send(what, 'GET', path, undefined, false, AbortSignal.timeout(READINESS_TIMEOUT_MS)),
    );
  }

  async injectFault(replica: Replica, fault: FaultSpec): Promise<string> {
    const what = `the admin API of pod ${replica.name} (inject a ${fault.type} fault)`;
    const response = await this.#admin.send(
      what,
      'POST',
      this.#admin.podPath(replica.name, '/admin/faults'),
      fault,
    );
    return parseJson<{ id?: string }>(what, response).id ?? '';
  }

  async clearFaults(replica: Replica): Promise<void> {
    await this.#admin.send(
      `the admin API of pod ${replica.name} (clear faults)`,
      'DELETE',
      this.#admin.podPath(replica.name, '/admin/faults'),
    );
  }

  async publishMetrics(): Promise<void> {
    // Kubernetes: Prometheus reads metrics.prom from the report folder (CI artefact); nothing to push.
  }

  async close(): Promise<void> {
    for (const s of [...this.#subscriptions]) await s.close();
  }
}

function asDeployments(items: readonly V1Deployment[]): WorkloadObject[] {
  return items.map((object) => ({ kind: 'Deployment', object }));
}

function asStatefulSets(items: readonly V1StatefulSet[]): WorkloadObject[] {
  return items.map((object) => ({ kind: 'StatefulSet', object }));
}
