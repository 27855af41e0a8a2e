/**
 * A Deployment's rollout status read as `kubectl rollout status` reads it
 * (staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go, DeploymentStatusViewer.Status):
 * nothing is judged before the controller observed the new generation; the `Progressing` condition
 * with reason `ProgressDeadlineExceeded` (pkg/controller/deployment/util/deployment_util.go,
 * TimedOutReason, set by pkg/controller/deployment/progress.go syncRolloutStatus once no progress was
 * made for spec.progressDeadlineSeconds) is a failure; otherwise it is done once every replica is
 * updated, no old one is left and every updated one is available.
 */
import type { V1Deployment } from '@kubernetes/client-node';

/** deployment_util.go TimedOutReason. */
export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';
/** deployment_util.go RevisionAnnotation, on Deployments and their ReplicaSets. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

export type RolloutState = 'done' | 'waiting' | 'failed';

export interface RolloutStatus {
  readonly state: RolloutState;
  readonly message: string;
}

export function rolloutStatus(deployment: V1Deployment): RolloutStatus {
  const name = deployment.metadata?.name ?? '(unnamed)';
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};
  if (generation > (status.observedGeneration ?? 0))
    return { state: 'waiting', message: 'Waiting for deployment spec update to be observed...' };
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === PROGRESS_DEADLINE_EXCEEDED)
    return {
      state: 'failed',
      message: `deployment "${name}" exceeded its progress deadline: ${progressing.message ?? ''}`.trim(),
    };
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired)
    return {
      state: 'waiting',
      message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`,
    };
  if (replicas > updated)
    return {
      state: 'waiting',
      message: `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...`,
    };
  if (available < updated)
    return {
      state: 'waiting',
      message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    };
  return { state: 'done', message: `deployment "${name}" successfully rolled out` };
}
