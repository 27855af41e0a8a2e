import type { V1Pod } from '@kubernetes/client-node';
import type { TargetEvent } from '../../target.ts';
import type { WatchEventType } from './reflector.ts';
import {
  isTerminating,
  podReady,
  workloadOf,
  workloadStatus,
  type WorkloadKind,
  type WorkloadObject,
} from './workloads.ts';

interface PodState {
  name: string;
  workload: string;
  ready: boolean;
  terminating: boolean;
}

export type Emit = (event: Omit<TargetEvent, 'at'>) => void;

/**
 * What the event stream knows of the workloads and their pods, and the TargetEvents each change
 * makes. Pods are keyed by UID, never by name: a StatefulSet recreates `postgres-0` under the same
 * name, and that is a new replica (`replica-gone` for the old UID, `replica-added` for the new one).
 */
export class ClusterState {
  readonly #emit: Emit;
  readonly #workloads = new Map<string, WorkloadObject>();
  readonly #pods = new Map<string, PodState>();

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  /** The initial lists: known without events. */
  seed(workloads: readonly WorkloadObject[], pods: readonly V1Pod[]): void {
    for (const w of workloads) this.#workloads.set(w.object.metadata?.name ?? '', w);
    for (const pod of pods) {
      const uid = pod.metadata?.uid;
      const workload = workloadOf(pod, this.#workloads.values());
      if (uid && workload) {
        this.#pods.set(uid, {
          name: pod.metadata?.name ?? '',
          workload,
          ready: podReady(pod),
          terminating: isTerminating(pod),
        });
      }
    }
  }

  applyWorkload(type: WatchEventType, workload: WorkloadObject): void {
    const status = workloadStatus(workload);
    if (type === 'DELETED') {
      this.#workloads.delete(status.name);
      return;
    }
    const before = this.#workloads.get(status.name);
    this.#workloads.set(status.name, workload);
    const desiredBefore = before ? workloadStatus(before).desired : undefined;
    if (desiredBefore !== undefined && desiredBefore !== status.desired) {
      this.#emit({
        type: 'scaled',
        workload: status.name,
        status,
        source: `${desiredBefore}->${status.desired}`,
      });
    }
    this.#emit({ type: 'workload-status', workload: status.name, status, source: type });
  }

  /** A re-list of one kind: every listed workload is reported, the missing ones are dropped. */
  replaceWorkloads(kind: WorkloadKind, items: readonly WorkloadObject[]): void {
    const listed = new Set(items.map((w) => w.object.metadata?.name ?? ''));
    for (const [name, w] of [...this.#workloads]) {
      if (w.kind === kind && !listed.has(name)) this.applyWorkload('DELETED', w);
    }
    for (const w of items) this.applyWorkload('MODIFIED', w);
  }

  applyPod(type: WatchEventType, pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const name = pod.metadata?.name ?? '';
    const known = this.#pods.get(uid);
    if (type === 'DELETED') {
      if (!known) return;
      this.#pods.delete(uid);
      this.#replica('replica-gone', known, uid, type);
      return;
    }
    const workload = known?.workload ?? workloadOf(pod, this.#workloads.values());
    if (!workload) return;
    const ready = podReady(pod);
    const terminating = isTerminating(pod);
    if (!known) {
      const state = { name, workload, ready, terminating };
      this.#pods.set(uid, state);
      this.#replica('replica-added', state, uid, type);
      if (terminating) this.#replica('replica-terminating', state, uid, type);
      if (ready) this.#replica('replica-ready', state, uid, type);
      return;
    }
    if (terminating && !known.terminating) {
      known.terminating = true;
      this.#replica('replica-terminating', known, uid, type);
    }
    if (ready !== known.ready) {
      known.ready = ready;
      this.#replica(ready ? 'replica-ready' : 'replica-unready', known, uid, type);
    }
  }

  /**
   * A re-list of the pods after a 410: what vanished meanwhile is reported gone (first, so a
   * StatefulSet's recreated pod follows its predecessor), then each listed pod as a change.
   */
  replacePods(pods: readonly V1Pod[]): void {
    const listed = new Set(pods.map((p) => p.metadata?.uid));
    for (const [uid, state] of [...this.#pods]) {
      if (!listed.has(uid)) this.applyPod('DELETED', { metadata: { uid, name: state.name } });
    }
    for (const pod of pods) this.applyPod('MODIFIED', pod);
  }

  #replica(type: TargetEvent['type'], state: PodState, uid: string, source: string): void {
    this.#emit({ type, workload: state.workload, replica: state.name, uid, source });
  }
}
