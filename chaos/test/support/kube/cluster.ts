/**
 * TEST DOUBLE, controller half: what the ReplicaSet and StatefulSet controllers, the kubelet and the
 * disruption controller do to the objects in the store, on a compressed clock (`msPerSecond`).
 *
 * - Graceful deletion (pkg/registry/core/pod/strategy.go, apiserver registry/rest/delete.go): a delete
 *   with a grace period > 0 only sets deletionTimestamp and deletionGracePeriodSeconds; the pod stays
 *   phase Running and its container still serves. The kubelet notices after `kubeletLagMs` and turns
 *   Ready False, then removes the pod when the container is gone: after the grace period, but no
 *   sooner than the kubelet's 2 s minimum before SIGKILL (kuberuntime minimumGracePeriodInSeconds),
 *   or earlier when the container exits by itself (`exitSeconds`). A grace period of 0 is a force
 *   deletion: the object goes at once.
 * - ReplicaSet controller: counts only active pods (controller.FilterActivePods drops pods with a
 *   deletionTimestamp), so it creates the replacement AT ONCE while the old pod terminates.
 * - StatefulSet controller: a pod has a stable name (`postgres-0`); it is recreated only after the old
 *   one is gone from the API. Its status counts running-and-ready pods, a terminating one included
 *   while the kubelet still reports it Ready.
 * - Disruption controller / eviction (pkg/registry/core/pod/storage/eviction.go): an eviction that
 *   would leave fewer healthy pods than minAvailable answers 429; an unhealthy pod may always go
 *   (unhealthyPodEvictionPolicy: AlwaysAllow, as k8s/base sets it).
 */
import { randomBytes } from 'node:crypto';
import { LABELS, PLATFORM, PROTECTED_LABEL } from '@self-healing-shop/contracts';
import type { Obj, Store } from './store.ts';

export interface FakeWorkloadSpec {
  name: string;
  replicas: number;
  /** `StatefulSet` for the database; default `Deployment`. */
  kind?: 'Deployment' | 'StatefulSet';
  /** PodDisruptionBudget minAvailable, when the workload has one. */
  minAvailable?: number;
  protected?: boolean;
  /** The pod's terminationGracePeriodSeconds (the default grace of a delete); default 20 as in k8s/base. */
  terminationGracePeriodSeconds?: number;
  /** When the container exits by itself after SIGTERM (preStop + drain); default 5 s. */
  exitSeconds?: number;
  /** The Service's port name; default `http` (the database's is `postgres`). */
  servicePortName?: string;
}

export interface ClusterTiming {
  /** How many real ms one second of Kubernetes time takes (grace periods); default 1000. */
  msPerSecond: number;
  /** Controller latency before a replacement pod is created; default 5 ms. */
  replaceDelayMs: number;
  /** From a pod's creation to it being ready; default 80 ms. */
  readyDelayMs: number;
  /** From a deletion to the kubelet turning the pod not ready; default 5 ms. */
  kubeletLagMs: number;
  /** Delay before a workload status reflects a pod change; default 10 ms. */
  statusLagMs: number;
}

interface Workload {
  spec: FakeWorkloadSpec;
  object: Obj;
}

const isReady = (pod: Obj): boolean =>
  ((pod.status.conditions as Array<{ type: string; status: string }> | undefined) ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
const isTerminating = (pod: Obj): boolean => pod.metadata.deletionTimestamp !== undefined;

export class Cluster {
  readonly namespace: string;
  readonly workloads = new Map<string, Workload>();
  /** Set to make the node unreachable: deleted pods stay Terminating and keep their Ready condition. */
  kubeletPaused = false;
  /** Called on every Deployment status write (rollouts.ts adds revisions and the rollout's status). */
  onDeploymentStatus?: (object: Obj, pods: Obj[]) => void;
  readonly #store: Store;
  readonly #timing: ClusterTiming;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(store: Store, namespace: string, specs: readonly FakeWorkloadSpec[], timing: ClusterTiming) {
    this.#store = store;
    this.namespace = namespace;
    this.#timing = timing;
    for (const spec of specs) this.#addWorkload(spec);
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  podsOf(workload: string): Obj[] {
    return [...this.#store.objects.pods.values()].filter((p) => p.metadata.labels[LABELS.name] === workload);
  }

  workloadOf(pod: Obj): Workload | undefined {
    return this.workloads.get(pod.metadata.labels[LABELS.name] ?? '');
  }

  /** Ready endpoints of a workload's Service: Ready and not terminating (EndpointSlice `ready`). */
  readyEndpoints(workload: string): Obj[] {
    return this.podsOf(workload).filter((p) => isReady(p) && !isTerminating(p));
  }

  setReady(pod: Obj, ready: boolean): void {
    if (this.#store.find('pods', pod.metadata.name) !== pod || isReady(pod) === ready) return;
    pod.status = {
      ...pod.status,
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    };
    this.#store.put('pods', pod);
    this.#statusLater(pod);
  }

  /** A frozen container fails its readiness probe for the duration, then passes again. */
  freeze(pod: Obj, durationMs: number): void {
    this.#later(this.#timing.kubeletLagMs, () => this.setReady(pod, false));
    this.#later(durationMs, () => {
      if (!isTerminating(pod)) this.setReady(pod, true);
    });
  }

  /** A delete with `graceSeconds` (undefined: the pod's terminationGracePeriodSeconds). */
  deletePod(pod: Obj, graceSeconds: number | undefined): void {
    const workload = this.workloadOf(pod);
    const grace = graceSeconds ?? workload?.spec.terminationGracePeriodSeconds ?? 20;
    if (isTerminating(pod)) {
      // A second delete may only shorten the grace period; the kubelet keeps its own schedule here.
      if (grace === 0) this.#remove(pod);
      return;
    }
    if (grace === 0) {
      this.#remove(pod);
      return;
    }
    pod.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString();
    pod.metadata.deletionGracePeriodSeconds = grace;
    this.#store.put('pods', pod);
    this.#statusLater(pod);
    if (workload?.spec.kind !== 'StatefulSet')
      this.#later(this.#timing.replaceDelayMs, () => this.#reconcile(workload));
    if (this.kubeletPaused) return;
    this.#later(this.#timing.kubeletLagMs, () => this.setReady(pod, false));
    const exit = workload?.spec.exitSeconds ?? 5;
    const goneAfter = Math.min(Math.max(grace, 2), exit) * this.#timing.msPerSecond;
    this.#later(goneAfter, () => this.#remove(pod));
  }

  /** PDB check of an eviction: the refusal message, or undefined when the budget allows it. */
  evictionRefusal(pod: Obj): string | undefined {
    const workload = this.workloadOf(pod);
    const minAvailable = workload?.spec.minAvailable;
    if (minAvailable === undefined || isTerminating(pod) || !isReady(pod)) return undefined;
    const healthy = this.readyEndpoints(workload!.spec.name).length;
    if (healthy - 1 >= minAvailable) return undefined;
    return (
      `Cannot evict pod as it would violate the pod's disruption budget. ` +
      `The disruption budget ${workload!.spec.name} needs ${minAvailable} healthy pods and has ${healthy} currently`
    );
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #addWorkload(spec: FakeWorkloadSpec): void {
    const selector = { [LABELS.name]: spec.name, [LABELS.partOf]: PLATFORM };
    const labels: Record<string, string> = { ...selector };
    if (spec.protected) labels[PROTECTED_LABEL] = 'true';
    const kind = spec.kind ?? 'Deployment';
    const object: Obj = {
      apiVersion: 'apps/v1',
      kind,
      metadata: { ...this.#store.newMeta(spec.name, this.namespace, labels), generation: 1 },
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: { terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 20 },
        },
        ...(kind === 'StatefulSet' ? { serviceName: spec.name } : {}),
      },
      status: {},
    };
    const workload = { spec: { ...spec, kind }, object };
    this.workloads.set(spec.name, workload);
    this.#store.put(kind === 'StatefulSet' ? 'statefulsets' : 'deployments', object);
    for (let i = 0; i < spec.replicas; i++) this.#createPod(workload, i, true);
    this.#updateStatus(workload);
  }

  /** The controller's loop for one workload: create what is missing. */
  #reconcile(workload: Workload | undefined): void {
    if (!workload) return;
    const desired = workload.spec.replicas;
    const pods = this.podsOf(workload.spec.name);
    if (workload.spec.kind === 'StatefulSet') {
      for (let ordinal = 0; ordinal < desired; ordinal++) {
        if (!pods.some((p) => p.metadata.name === `${workload.spec.name}-${ordinal}`)) {
          this.#createPod(workload, ordinal, false);
        }
      }
      return;
    }
    const active = pods.filter((p) => !isTerminating(p)).length;
    for (let i = active; i < desired; i++) this.#createPod(workload, i, false);
  }

  #createPod(workload: Workload, ordinal: number, ready: boolean): void {
    const { spec, object } = workload;
    const statefulSet = spec.kind === 'StatefulSet';
    const name = statefulSet
      ? `${spec.name}-${ordinal}`
      : `${spec.name}-5d8f7c9b4-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const labels = {
      ...(object.spec.template as { metadata: { labels: Record<string, string> } }).metadata.labels,
    };
    if (!statefulSet) labels['pod-template-hash'] = '5d8f7c9b4';
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...this.#store.newMeta(name, this.namespace, labels),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: statefulSet ? 'StatefulSet' : 'ReplicaSet',
            name: statefulSet ? spec.name : `${spec.name}-5d8f7c9b4`,
            uid: object.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: {
        containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }],
        terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 20,
      },
      status: {
        phase: ready ? 'Running' : 'Pending',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      },
    };
    this.#store.put('pods', pod);
    if (ready) return;
    this.#statusLater(pod);
    this.#later(this.#timing.readyDelayMs, () => this.setReady(pod, true));
  }

  #remove(pod: Obj): void {
    if (this.#store.find('pods', pod.metadata.name) !== pod) return;
    this.#store.remove('pods', pod);
    const workload = this.workloadOf(pod);
    this.#statusLater(pod);
    this.#later(this.#timing.replaceDelayMs, () => this.#reconcile(workload));
  }

  #statusLater(pod: Obj): void {
    const workload = this.workloadOf(pod);
    if (workload) this.#later(this.#timing.statusLagMs, () => this.#updateStatus(workload));
  }

  #updateStatus(workload: Workload): void {
    const pods = this.podsOf(workload.spec.name);
    // ReplicaSets ignore terminating pods; a StatefulSet counts a pod as long as it reports Ready.
    const counted = workload.spec.kind === 'StatefulSet' ? pods : pods.filter((p) => !isTerminating(p));
    const ready = counted.filter(isReady).length;
    workload.object.status = {
      replicas: counted.length,
      readyReplicas: ready,
      updatedReplicas: counted.length,
      availableReplicas: ready,
      ...(workload.spec.kind === 'StatefulSet' ? { currentReplicas: counted.length } : {}),
      observedGeneration: workload.object.metadata.generation,
    };
    if (workload.spec.kind !== 'StatefulSet') this.onDeploymentStatus?.(workload.object, pods);
    this.#store.put(workload.spec.kind === 'StatefulSet' ? 'statefulsets' : 'deployments', workload.object);
  }
}
