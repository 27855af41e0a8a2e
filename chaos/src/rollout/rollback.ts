/**
 * `kubectl rollout undo deployment/<name>` as kubectl does it
 * (staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollback.go, DeploymentRollbacker): list the
 * Deployment's ReplicaSets (those it controls), take the one of the second-highest
 * `deployment.kubernetes.io/revision` (deploymentRevision with toRevision 0), drop its
 * `pod-template-hash` label, and send a JSON patch that replaces `/spec/template` with its template
 * and `/metadata/annotations` with its annotations (getDeploymentPatch), keeping the Deployment's own
 * annotations kubectl skips (annotationsToSkip). The deployment controller then finds that old
 * ReplicaSet again by its template, gives it a new revision and scales it up.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { AppsV1Api, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { REVISION_ANNOTATION } from './rollout-status.ts';

/** rollback.go annotationsToSkip: never copied from the ReplicaSet, kept from the Deployment. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);
const TEMPLATE_HASH_LABEL = 'pod-template-hash';

export class RollbackError extends Error {}

export interface Rollback {
  readonly deployment: string;
  readonly fromRevision: number | null;
  readonly toRevision: number;
  readonly replicaSet: string;
}

function revisionOf(object: { metadata?: { annotations?: Record<string, string> } }): number | null {
  const value = Number(object.metadata?.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(value) ? value : null;
}

/** The ReplicaSet kubectl rolls back to: the second-highest revision among those the Deployment controls. */
export function previousReplicaSet(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): V1ReplicaSet {
  const uid = deployment.metadata?.uid;
  const owned = replicaSets
    .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === uid))
    .filter((rs) => revisionOf(rs) !== null)
    .sort((a, b) => revisionOf(b)! - revisionOf(a)!);
  if (owned.length < 2)
    throw new RollbackError(`no rollout history found for deployment "${deployment.metadata?.name}"`);
  return owned[1]!;
}

/** getDeploymentPatch: the JSON patch restoring `rs`'s template and annotations. */
export function rollbackPatch(deployment: V1Deployment, rs: V1ReplicaSet): object[] {
  const template = structuredClone(rs.spec?.template ?? {});
  if (template.metadata?.labels) delete template.metadata.labels[TEMPLATE_HASH_LABEL];
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {}))
    if (ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  for (const [key, value] of Object.entries(rs.metadata?.annotations ?? {}))
    if (!ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  return [
    { op: 'replace', path: '/spec/template', value: template },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ];
}

/** Rolls `name` back to its previous revision; rejects when there is none or the Deployment is paused. */
export async function undoRollout(apps: AppsV1Api, namespace: string, name: string): Promise<Rollback> {
  const deployment = await apps.readNamespacedDeployment({ name, namespace });
  if (deployment.spec?.paused)
    throw new RollbackError(
      `you cannot rollback a paused deployment; resume it first (deployment "${name}")`,
    );
  const selector = Object.entries(deployment.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await apps.listNamespacedReplicaSet({ namespace, labelSelector: selector });
  const rs = previousReplicaSet(deployment, list.items);
  await apps.patchNamespacedDeployment(
    { name, namespace, body: rollbackPatch(deployment, rs) },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  return {
    deployment: name,
    fromRevision: revisionOf(deployment),
    toRevision: revisionOf(rs)!,
    replicaSet: rs.metadata?.name ?? '',
  };
}
