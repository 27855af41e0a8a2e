/**
 * TEST DOUBLE, Deployment rollouts: what the deployment controller keeps for a rollout
 * (pkg/controller/deployment), on the same compressed clock as cluster.ts:
 * - sync.go getNewReplicaSet: a template change makes a new ReplicaSet `<name>-<hash>` with revision
 *   max+1 (`deployment.kubernetes.io/revision` on the ReplicaSet and the Deployment); a template equal
 *   to an old ReplicaSet's (pod-template-hash aside) reuses it and gives it the new revision, which is
 *   how `kubectl rollout undo` lands;
 * - rolling.go, with maxSurge 1 / maxUnavailable 0 as k8s/base sets them: one new pod at a time, an
 *   old ready pod deleted once a new one is ready, an old unready pod deleted at once;
 * - progress.go syncRolloutStatus: `Progressing` True (NewReplicaSetCreated / ReplicaSetUpdated, then
 *   NewReplicaSetAvailable when complete), and False with reason ProgressDeadlineExceeded, message
 *   `ReplicaSet "<name>" has timed out progressing.`, when no new pod was created or turned ready for
 *   spec.progressDeadlineSeconds; status replicas / updatedReplicas / availableReplicas /
 *   observedGeneration.
 * A pod of a template whose image is in `unpullableImages` never turns Ready (ImagePullBackOff).
 * PATCH takes a JSON patch (kubectl rollout undo's) or a merge patch (a deploy's new template).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster } from './cluster.ts';
import type { Obj, Store } from './store.ts';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH_LABEL = 'pod-template-hash';
/** The hash cluster.ts gives every Deployment's first pods. */
const FIRST_HASH = '5d8f7c9b4';

export interface RolloutTiming {
  msPerSecond: number;
  readyDelayMs: number;
  unpullableImages: readonly string[];
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastUpdateTime: string;
}

interface RolloutState {
  hash: string;
  replicaSet: string;
  progressing: Condition;
  deadline?: NodeJS.Timeout;
  /** Ready pods of the new template at the last status write: more is progress. */
  readyNew: number;
}

type Template = { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
export type PatchAnswer = { object: Obj } | { code: number; reason: string; error: string };

/** JSON with sorted keys: templates compare equal whatever order a client serialised them in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

function withoutHash(template: Template): Template {
  const copy = JSON.parse(JSON.stringify(template)) as Template;
  delete copy.metadata?.labels?.[HASH_LABEL];
  return copy;
}

const isReady = (pod: Obj): boolean =>
  ((pod.status.conditions as Array<{ type: string; status: string }> | undefined) ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
const isTerminating = (pod: Obj): boolean => pod.metadata.deletionTimestamp !== undefined;
const condition = (status: 'True' | 'False', reason: string, message: string): Condition => ({
  type: 'Progressing',
  status,
  reason,
  message,
  lastUpdateTime: new Date().toISOString(),
});

/** RFC 6902 add / replace at a JSON pointer (what kubectl sends); other ops are refused. */
function applyJsonPatch(target: Record<string, unknown>, ops: unknown): string | undefined {
  if (!Array.isArray(ops)) return 'a JSON patch must be an array of operations';
  for (const op of ops as Array<{ op?: string; path?: string; value?: unknown }>) {
    if (op.op !== 'replace' && op.op !== 'add') return `the double does not apply "${op.op}" operations`;
    const keys = (op.path ?? '')
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    if (last === undefined) return `bad path ${op.path}`;
    let at: Record<string, unknown> = target;
    for (const key of keys) {
      if (typeof at[key] !== 'object' || at[key] === null) return `path ${op.path} does not exist`;
      at = at[key] as Record<string, unknown>;
    }
    if (op.op === 'replace' && !(last in at)) return `path ${op.path} does not exist`;
    at[last] = JSON.parse(JSON.stringify(op.value)) as unknown;
  }
  return undefined;
}

/** RFC 7386 merge patch. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      typeof target[key] === 'object' &&
      target[key]
    )
      mergePatch(target[key] as Record<string, unknown>, value as Record<string, unknown>);
    else target[key] = JSON.parse(JSON.stringify(value)) as unknown;
  }
}

export class Rollouts {
  readonly #store: Store;
  readonly #cluster: Cluster;
  readonly #timing: RolloutTiming;
  readonly #states = new Map<string, RolloutState>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(store: Store, cluster: Cluster, timing: RolloutTiming) {
    this.#store = store;
    this.#cluster = cluster;
    this.#timing = timing;
    cluster.onDeploymentStatus = (object, pods) => this.#overlay(object, pods);
    for (const { spec, object } of cluster.workloads.values())
      if (spec.kind !== 'StatefulSet') this.#init(object);
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const state of this.#states.values()) clearTimeout(state.deadline);
  }

  /** `PATCH /apis/apps/v1/namespaces/N/deployments/NAME`. */
  patch(name: string, contentType: string, body: unknown): PatchAnswer {
    const deployment = this.#store.find('deployments', name);
    if (!deployment) return { code: 404, reason: 'NotFound', error: `deployments.apps "${name}" not found` };
    const before = canonical(withoutHash(deployment.spec.template as Template));
    const object = deployment as unknown as Record<string, unknown>;
    if (contentType.startsWith('application/json-patch+json')) {
      const error = applyJsonPatch(object, body);
      if (error) return { code: 422, reason: 'Invalid', error };
    } else if (/^application\/(merge-patch|strategic-merge-patch)\+json/.test(contentType)) {
      if (!body || typeof body !== 'object') return { code: 400, reason: 'BadRequest', error: 'empty patch' };
      mergePatch(object, body as Record<string, unknown>);
    } else {
      return { code: 415, reason: 'UnsupportedMediaType', error: `the double does not take ${contentType}` };
    }
    if (canonical(withoutHash(deployment.spec.template as Template)) !== before) {
      deployment.metadata.generation = (deployment.metadata.generation ?? 1) + 1;
      this.#newTemplate(deployment);
    }
    this.#write(deployment);
    return { object: JSON.parse(JSON.stringify(deployment)) as Obj };
  }

  #init(deployment: Obj): void {
    deployment.spec.progressDeadlineSeconds ??= 600;
    deployment.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    const template = deployment.spec.template as Template;
    template.spec = {
      ...template.spec,
      containers: [{ name: 'app', image: `self-healing-shop/${deployment.metadata.name}:dev` }],
    };
    this.#replicaSet(deployment, FIRST_HASH, 1);
    deployment.metadata.annotations = { ...deployment.metadata.annotations, [REVISION]: '1' };
    this.#states.set(deployment.metadata.name, {
      hash: FIRST_HASH,
      replicaSet: `${deployment.metadata.name}-${FIRST_HASH}`,
      readyNew: 0,
      progressing: condition(
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${deployment.metadata.name}-${FIRST_HASH}" has successfully progressed.`,
      ),
    });
    this.#write(deployment);
  }

  #replicaSetsOf(deployment: Obj): Obj[] {
    return [...this.#store.objects.replicasets.values()].filter((rs) =>
      rs.metadata.ownerReferences?.some((o) => o.uid === deployment.metadata.uid),
    );
  }

  /** Creates (or updates the revision of) the ReplicaSet `<deployment>-<hash>`. */
  #replicaSet(deployment: Obj, hash: string, revision: number): Obj {
    const name = `${deployment.metadata.name}-${hash}`;
    const existing = this.#store.find('replicasets', name);
    const template = JSON.parse(JSON.stringify(deployment.spec.template)) as Template;
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [HASH_LABEL]: hash },
    };
    const rs: Obj = existing ?? {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        ...this.#store.newMeta(name, deployment.metadata.namespace, { ...template.metadata.labels }),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: deployment.metadata.name,
            uid: deployment.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: { replicas: deployment.spec.replicas, template },
      status: {},
    };
    rs.metadata.annotations = { ...rs.metadata.annotations, [REVISION]: String(revision) };
    this.#store.put('replicasets', rs);
    return rs;
  }

  #newTemplate(deployment: Obj): void {
    const state = this.#states.get(deployment.metadata.name)!;
    const template = withoutHash(deployment.spec.template as Template);
    const owned = this.#replicaSetsOf(deployment);
    const revision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0))) + 1;
    const same = owned.find(
      (rs) => canonical(withoutHash(rs.spec.template as Template)) === canonical(template),
    );
    const hash =
      same?.metadata.labels[HASH_LABEL] ??
      createHash('sha256').update(canonical(template)).digest('hex').slice(0, 10);
    const rs = this.#replicaSet(deployment, hash, revision);
    deployment.metadata.annotations = { ...deployment.metadata.annotations, [REVISION]: String(revision) };
    state.hash = hash;
    state.replicaSet = rs.metadata.name;
    state.readyNew = 0;
    state.progressing = same
      ? condition('True', 'FoundNewReplicaSet', `Found new replica set "${rs.metadata.name}"`)
      : condition('True', 'NewReplicaSetCreated', `Created new replica set "${rs.metadata.name}"`);
    this.#progressed(deployment.metadata.name);
    this.#later(1, () => this.#step(deployment.metadata.name));
  }

  /** Progress: the deadline counts again from now. */
  #progressed(name: string): void {
    const state = this.#states.get(name)!;
    clearTimeout(state.deadline);
    const deployment = this.#store.find('deployments', name)!;
    const seconds = Number(deployment.spec.progressDeadlineSeconds ?? 600);
    state.deadline = setTimeout(() => {
      if (state.progressing.reason === 'NewReplicaSetAvailable') return;
      state.progressing = condition(
        'False',
        'ProgressDeadlineExceeded',
        `ReplicaSet "${state.replicaSet}" has timed out progressing.`,
      );
      this.#write(deployment);
    }, seconds * this.#timing.msPerSecond);
  }

  /** rolling.go with maxSurge 1, maxUnavailable 0. */
  #step(name: string): void {
    const deployment = this.#store.find('deployments', name);
    const state = this.#states.get(name);
    if (!deployment || !state) return;
    const desired = Number(deployment.spec.replicas ?? 1);
    const pods = this.#cluster.podsOf(name).filter((p) => !isTerminating(p));
    const fresh = pods.filter((p) => p.metadata.labels[HASH_LABEL] === state.hash);
    const old = pods.filter((p) => p.metadata.labels[HASH_LABEL] !== state.hash);
    if (fresh.length < desired && pods.length < desired + 1) {
      this.#createPod(deployment, state);
      this.#progressed(name);
    }
    let ready = pods.filter(isReady).length;
    for (const pod of old) {
      if (!isReady(pod)) this.#cluster.deletePod(pod, undefined);
      else if (ready - 1 >= desired) {
        this.#cluster.deletePod(pod, undefined);
        ready -= 1;
      }
    }
    if (
      old.length === 0 &&
      fresh.length === desired &&
      fresh.every(isReady) &&
      state.progressing.reason !== 'NewReplicaSetAvailable'
    ) {
      clearTimeout(state.deadline);
      state.progressing = condition(
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${state.replicaSet}" has successfully progressed.`,
      );
      this.#write(deployment);
    }
  }

  #createPod(deployment: Obj, state: RolloutState): void {
    const rs = this.#store.find('replicasets', state.replicaSet)!;
    const template = rs.spec.template as Template;
    const image =
      ((template.spec?.containers as Array<{ image?: string }> | undefined) ?? [])[0]?.image ?? '';
    const pullable = !this.#timing.unpullableImages.includes(image);
    const name = `${state.replicaSet}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...this.#store.newMeta(name, deployment.metadata.namespace, { ...template.metadata?.labels }),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata.name,
            uid: rs.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: {
        containers: [{ name: 'app', image, ports: [{ name: 'http', containerPort: 8080 }] }],
        terminationGracePeriodSeconds: 20,
      },
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Ready', status: 'False' }],
        ...(pullable
          ? {}
          : {
              containerStatuses: [
                { name: 'app', ready: false, state: { waiting: { reason: 'ImagePullBackOff' } } },
              ],
            }),
      },
    };
    this.#store.put('pods', pod);
    if (pullable) this.#later(this.#timing.readyDelayMs, () => this.#cluster.setReady(pod, true));
  }

  /** The rollout's part of the Deployment's status, written with the ReplicaSet controller's counts. */
  #overlay(deployment: Obj, pods: Obj[]): void {
    const state = this.#states.get(deployment.metadata.name);
    if (!state) return;
    const counted = pods.filter((p) => !isTerminating(p));
    const readyNew = counted.filter((p) => p.metadata.labels[HASH_LABEL] === state.hash && isReady(p)).length;
    deployment.status = {
      ...deployment.status,
      replicas: counted.length,
      updatedReplicas: counted.filter((p) => p.metadata.labels[HASH_LABEL] === state.hash).length,
      readyReplicas: counted.filter(isReady).length,
      availableReplicas: counted.filter(isReady).length,
      observedGeneration: deployment.metadata.generation,
      conditions: [state.progressing],
    };
    if (readyNew > state.readyNew && state.progressing.status === 'True')
      this.#progressed(deployment.metadata.name);
    state.readyNew = readyNew;
    this.#later(1, () => this.#step(deployment.metadata.name));
  }

  #write(deployment: Obj): void {
    this.#overlay(deployment, this.#cluster.podsOf(deployment.metadata.name));
    this.#store.put('deployments', deployment);
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }
}
