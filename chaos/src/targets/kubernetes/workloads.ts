import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { isProtected, type Replica, type WorkloadStatus } from '../../target.ts';

export type WorkloadKind = WorkloadStatus['kind'];

/** A Deployment or a StatefulSet (the database, `postgres`), as listed or watched. */
export type WorkloadObject =
  { kind: 'Deployment'; object: V1Deployment } | { kind: 'StatefulSet'; object: V1StatefulSet };

function hasReadyCondition(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function isTerminating(pod: V1Pod): boolean {
  return Boolean(pod.metadata?.deletionTimestamp);
}

/**
 * Ready for traffic: the Ready condition holds AND no deletion started. The kubelet flips Ready only
 * after it notices the deletion, while the EndpointSlice controller drops a pod from the ready
 * endpoints as soon as deletionTimestamp is set, and the ReplicaSet controller stops counting it
 * (controller.FilterActivePods): a Terminating pod is not capacity even while it still says Ready.
 */
export function podReady(pod: V1Pod): boolean {
  return hasReadyCondition(pod) && !isTerminating(pod);
}

function matches(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function workloadStatus(workload: WorkloadObject): WorkloadStatus {
  const { metadata, spec, status } = workload.object;
  return {
    name: metadata?.name ?? '',
    kind: workload.kind,
    desired: spec?.replicas ?? 1,
    ready: status?.readyReplicas ?? 0,
    updated: status?.updatedReplicas ?? 0,
    available: status?.availableReplicas ?? 0,
    generation: metadata?.generation ?? 0,
    observedGeneration: status?.observedGeneration ?? 0,
    protected: isProtected(metadata?.labels),
  };
}

/** The workload a pod belongs to: the one whose selector matches its labels. */
export function workloadOf(pod: V1Pod, workloads: Iterable<WorkloadObject>): string | undefined {
  for (const w of workloads) {
    if (matches(pod.metadata?.labels, w.object.spec?.selector?.matchLabels)) return w.object.metadata?.name;
  }
  return undefined;
}

export function toReplica(pod: V1Pod, workload: string): Replica {
  return {
    name: pod.metadata?.name ?? '',
    workload,
    uid: pod.metadata?.uid ?? '',
    ready: podReady(pod),
    phase: isTerminating(pod) ? 'terminating' : (pod.status?.phase ?? 'Unknown'),
    protected: isProtected(pod.metadata?.labels),
  };
}
