import { hostname } from 'node:os';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  HttpMethod,
  RequestContext,
  Watch,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { fetch } from 'undici';
import {
  PROTECTED_LABEL,
  TargetError,
  type EventSubscription,
  type FaultSpec,
  type KillOptions,
  type KillResult,
  type Replica,
  type Target,
  type TargetEvent,
  type WorkloadStatus,
} from '../target.ts';

export interface KubernetesTargetOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  selector: string;
  /** Bearer token of the services' fault-injection admin API. */
  faultToken: string;
  /** Container port of the services (the admin API is reached through the API server's pod proxy). */
  servicePort?: number;
  now?: () => number;
}

interface PodState {
  name: string;
  workload: string;
  ready: boolean;
  terminating: boolean;
}

function isProtected(labels: Record<string, string> | undefined): boolean {
  return labels?.[PROTECTED_LABEL] === 'true';
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function matches(
  labels: Record<string, string> | undefined,
  selector: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function deploymentStatus(d: V1Deployment): WorkloadStatus {
  return {
    name: d.metadata?.name ?? '',
    desired: d.spec?.replicas ?? 1,
    ready: d.status?.readyReplicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    generation: d.metadata?.generation ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    protected: isProtected(d.metadata?.labels),
  };
}

function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'object' && body?.message ? body.message : String(body ?? '');
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  return (error as Error).message;
}

/** Kubernetes (@kubernetes/client-node): pods of Deployments in one namespace matching a label selector. */
export class KubernetesTarget implements Target {
  readonly kind = 'kubernetes' as const;
  readonly description: string;
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #namespace: string;
  readonly #selector: string;
  readonly #faultToken: string;
  readonly #servicePort: number;
  readonly #now: () => number;

  constructor(options: KubernetesTargetOptions) {
    this.#kc = options.kubeConfig;
    this.#core = this.#kc.makeApiClient(CoreV1Api);
    this.#apps = this.#kc.makeApiClient(AppsV1Api);
    this.#namespace = options.namespace;
    this.#selector = options.selector;
    this.#faultToken = options.faultToken;
    this.#servicePort = options.servicePort ?? 8080;
    this.#now = options.now ?? Date.now;
    this.description =
      `kubernetes context ${this.#kc.getCurrentContext()}, namespace ${this.#namespace}, ` +
      `selector ${this.#selector}`;
  }

  async #listDeployments(): Promise<{ items: V1Deployment[]; resourceVersion: string }> {
    const list = await this.#apps.listNamespacedDeployment({
      namespace: this.#namespace,
      labelSelector: this.#selector,
    });
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async #listPods(): Promise<{ items: V1Pod[]; resourceVersion: string }> {
    const list = await this.#core.listNamespacedPod({
      namespace: this.#namespace,
      labelSelector: this.#selector,
    });
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  #workloadOf(pod: V1Pod, deployments: readonly V1Deployment[]): string | undefined {
    return deployments.find((d) => matches(pod.metadata?.labels, d.spec?.selector?.matchLabels))?.metadata
      ?.name;
  }

  #toReplica(pod: V1Pod, workload: string): Replica {
    return {
      name: pod.metadata?.name ?? '',
      workload,
      uid: pod.metadata?.uid ?? '',
      ready: podReady(pod),
      phase: pod.metadata?.deletionTimestamp ? 'terminating' : (pod.status?.phase ?? 'Unknown'),
      protected: isProtected(pod.metadata?.labels),
    };
  }

  async listWorkloads(): Promise<WorkloadStatus[]> {
    try {
      return (await this.#listDeployments()).items.map(deploymentStatus);
    } catch (error) {
      throw new TargetError(`cannot list Deployments in ${this.#namespace}: ${describeApiError(error)}`);
    }
  }

  async listReplicas(): Promise<Replica[]> {
    try {
      const [deployments, pods] = await Promise.all([this.#listDeployments(), this.#listPods()]);
      const replicas: Replica[] = [];
      for (const pod of pods.items) {
        const workload = this.#workloadOf(pod, deployments.items);
        if (workload) replicas.push(this.#toReplica(pod, workload));
      }
      return replicas.sort((a, b) => a.name.localeCompare(b.name));
    } catch (error) {
      throw new TargetError(`cannot list pods in ${this.#namespace}: ${describeApiError(error)}`);
    }
  }

  /**
   * Lists pods and Deployments, then watches both from the lists' resourceVersions, so no change
   * between the list and the watch is lost. A watch that ends is resumed from the last
   * resourceVersion seen; a 410 Gone (too old) relists and reports the differences.
   */
  async subscribe(onEvent: (event: TargetEvent) => void): Promise<EventSubscription> {
    const watch = new Watch(this.#kc);
    const pods = new Map<string, PodState>();
    const specReplicas = new Map<string, number>();
    let deployments: V1Deployment[] = [];
    let closed = false;
    const controllers = new Set<AbortController>();
    const emit = (event: Omit<TargetEvent, 'at'>): void => onEvent({ at: this.#now(), ...event });

    const applyPod = (phase: string, pod: V1Pod): void => {
      const uid = pod.metadata?.uid;
      const name = pod.metadata?.name ?? '';
      if (!uid) return;
      const known = pods.get(uid);
      const workload = known?.workload ?? this.#workloadOf(pod, deployments);
      if (!workload) return;
      if (phase === 'DELETED') {
        if (known) {
          pods.delete(uid);
          emit({ type: 'replica-gone', workload, replica: name, uid, source: 'DELETED' });
        }
        return;
      }
      const ready = podReady(pod);
      const terminating = Boolean(pod.metadata?.deletionTimestamp);
      if (!known) {
        pods.set(uid, { name, workload, ready, terminating });
        emit({ type: 'replica-added', workload, replica: name, uid, source: phase });
        if (ready) emit({ type: 'replica-ready', workload, replica: name, uid, source: phase });
        return;
      }
      if (terminating && !known.terminating) {
        known.terminating = true;
        emit({ type: 'replica-terminating', workload, replica: name, uid, source: phase });
      }
      if (ready !== known.ready) {
        known.ready = ready;
        emit({
          type: ready ? 'replica-ready' : 'replica-unready',
          workload,
          replica: name,
          uid,
          source: phase,
        });
      }
    };

    const applyDeployment = (phase: string, d: V1Deployment): void => {
      const status = deploymentStatus(d);
      if (phase === 'DELETED') {
        deployments = deployments.filter((x) => x.metadata?.name !== status.name);
        return;
      }
      deployments = [...deployments.filter((x) => x.metadata?.name !== status.name), d];
      const before = specReplicas.get(status.name);
      specReplicas.set(status.name, status.desired);
      if (before !== undefined && before !== status.desired) {
        emit({ type: 'scaled', workload: status.name, status, source: `${before}->${status.desired}` });
      }
      emit({ type: 'workload-status', workload: status.name, status, source: phase });
    };

    const relistPods = async (): Promise<string> => {
      const list = await this.#listPods();
      const seen = new Set<string>();
      for (const pod of list.items) {
        if (pod.metadata?.uid) seen.add(pod.metadata.uid);
        applyPod('MODIFIED', pod);
      }
      for (const [uid, state] of [...pods]) {
        if (!seen.has(uid)) applyPod('DELETED', { metadata: { uid, name: state.name } });
      }
      return list.resourceVersion;
    };
    const relistDeployments = async (): Promise<string> => {
      const list = await this.#listDeployments();
      for (const d of list.items) applyDeployment('MODIFIED', d);
      return list.resourceVersion;
    };

    const startWatch = async <T extends V1Pod | V1Deployment>(
      path: string,
      initialVersion: string,
      apply: (phase: string, obj: T) => void,
      relist: () => Promise<string>,
    ): Promise<void> => {
      let resourceVersion = initialVersion;
      let expired = false;
      const run = async (): Promise<void> => {
        const controller = await watch.watch(
          path,
          { resourceVersion, labelSelector: this.#selector, allowWatchBookmarks: true },
          (phase, obj: { metadata?: { resourceVersion?: string }; code?: number }) => {
            if (phase === 'ERROR') {
              if (obj.code === 410) expired = true;
              return;
            }
            if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
            if (phase !== 'BOOKMARK') apply(phase, obj as T);
          },
          (err: unknown) => {
            controllers.delete(controller);
            if (closed) return;
            const resume = async (): Promise<void> => {
              if (expired || (err as { statusCode?: number } | null)?.statusCode === 410) {
                expired = false;
                resourceVersion = await relist();
              }
              await run();
            };
            // A watch that ends (server timeout, network) is resumed; errors go to stderr, once.
            if (err) console.error(`watch ${path} ended (${(err as Error).message}); resuming`);
            resume().catch((error: unknown) =>
              console.error(`watch ${path} cannot resume: ${describeApiError(error)}`),
            );
          },
        );
        if (closed) controller.abort();
        else controllers.add(controller);
      };
      await run();
    };

    try {
      const deploymentList = await this.#listDeployments();
      deployments = deploymentList.items;
      for (const d of deployments) specReplicas.set(d.metadata?.name ?? '', d.spec?.replicas ?? 1);
      const podList = await this.#listPods();
      for (const pod of podList.items) {
        const workload = this.#workloadOf(pod, deployments);
        if (pod.metadata?.uid && workload) {
          pods.set(pod.metadata.uid, {
            name: pod.metadata.name ?? '',
            workload,
            ready: podReady(pod),
            terminating: Boolean(pod.metadata.deletionTimestamp),
          });
        }
      }
      await startWatch<V1Deployment>(
        `/apis/apps/v1/namespaces/${this.#namespace}/deployments`,
        deploymentList.resourceVersion,
        applyDeployment,
        relistDeployments,
      );
      await startWatch<V1Pod>(
        `/api/v1/namespaces/${this.#namespace}/pods`,
        podList.resourceVersion,
        applyPod,
        relistPods,
      );
    } catch (error) {
      closed = true;
      for (const c of controllers) c.abort();
      throw new TargetError(`cannot watch ${this.#namespace}: ${describeApiError(error)}`);
    }
    return {
      close: async () => {
        closed = true;
        for (const c of controllers) c.abort();
        controllers.clear();
      },
    };
  }

  async kill(replica: Replica, options: KillOptions): Promise<KillResult> {
    const { name, uid } = replica;
    try {
      if (options.evict) {
        await this.#core.createNamespacedPodEviction({
          name,
          namespace: this.#namespace,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name, namespace: this.#namespace },
            deleteOptions: { gracePeriodSeconds: 0, preconditions: { uid } },
          },
        });
        return { outcome: 'sent', method: 'eviction' };
      }
      await this.#core.deleteNamespacedPod({
        name,
        namespace: this.#namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
      return { outcome: 'sent', method: 'delete (grace period 0)' };
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

  /** The admin API of one pod, reached through the API server's pod proxy (no port-forward needed). */
  async #adminRequest(
    replica: Replica,
    method: 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new TargetError('the kubeconfig has no current cluster');
    const url =
      `${cluster.server}/api/v1/namespaces/${this.#namespace}/pods/` +
      `${encodeURIComponent(replica.name)}:${this.#servicePort}/proxy${path}`;
    const ctx = new RequestContext(url, method === 'POST' ? HttpMethod.POST : HttpMethod.DELETE);
    await this.#kc.applySecurityAuthentication(ctx);
    const headers = ctx.getHeaders();
    // The API server takes the Authorization header for itself when the kubeconfig uses a token;
    // KIND's kubeconfig uses a client certificate, which leaves the header to the admin API.
    if (headers.Authorization || headers.authorization) {
      throw new TargetError(
        'fault injection through the pod proxy needs a kubeconfig with client-certificate credentials ' +
          "(KIND's default): this one sends a bearer token",
      );
    }
    headers.Authorization = `Bearer ${this.#faultToken}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: ctx.getDispatcher(),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new TargetError(
        `fault admin API of ${replica.name} answered ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  async injectFault(replica: Replica, fault: FaultSpec): Promise<string> {
    const created = (await this.#adminRequest(replica, 'POST', '/admin/faults', fault)) as { id?: string };
    return created?.id ?? '';
  }

  async clearFaults(replica: Replica): Promise<void> {
    await this.#adminRequest(replica, 'DELETE', '/admin/faults');
  }

  async publishMetrics(): Promise<void> {
    // Kubernetes: Prometheus reads metrics.prom from the report folder (CI artefact); nothing to push.
  }

  async close(): Promise<void> {}
}
