/**
 * "Rollout complete" as `kubectl rollout status` decides it (k8s.io/kubectl/pkg/polymorphichelpers/
 * rollout_status.go, DeploymentStatusViewer and StatefulSetStatusViewer), so `make verify` and
 * `kind.sh wait` agree. Returns undefined when complete, else what is still awaited.
 */
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';

export function deploymentPending(d: V1Deployment): string | undefined {
  const generation = d.metadata?.generation ?? 0;
  const status = d.status ?? {};
  if (generation > (status.observedGeneration ?? 0)) return 'waiting for the spec update to be observed';
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return 'exceeded its progress deadline';
  const desired = d.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  if (updated < desired) return `${updated} of ${desired} new replicas updated`;
  const total = status.replicas ?? 0;
  if (total > updated) return `${total - updated} old replicas pending termination`;
  const available = status.availableReplicas ?? 0;
  if (available < updated) return `${available} of ${updated} updated replicas available`;
  return undefined;
}

export function statefulSetPending(s: V1StatefulSet): string | undefined {
  const generation = s.metadata?.generation ?? 0;
  const status = s.status ?? { replicas: 0 };
  const observed = status.observedGeneration ?? 0;
  if (observed === 0 || generation > observed) return 'waiting for the spec update to be observed';
  const desired = s.spec?.replicas ?? 1;
  const ready = status.readyReplicas ?? 0;
  if (ready < desired) return `${ready} of ${desired} pods ready`;
  if (s.spec?.updateStrategy?.type === 'OnDelete') return undefined;
  if (status.updateRevision !== status.currentRevision) {
    return `rolling update to revision ${status.updateRevision} not complete (${status.updatedReplicas ?? 0} pods updated)`;
  }
  return undefined;
}
