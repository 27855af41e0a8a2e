import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { deploymentPending, statefulSetPending } from '../src/verify/rollout-status.ts';

// The cases of kubectl's rollout status (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go).
const deployment = (status: V1Deployment['status'], generation = 3): V1Deployment => ({
  metadata: { name: 'order', generation },
  spec: { replicas: 2, selector: {}, template: {} },
  status,
});
const complete = {
  observedGeneration: 3,
  replicas: 2,
  updatedReplicas: 2,
  readyReplicas: 2,
  availableReplicas: 2,
};

describe('deploymentPending (kubectl rollout status for a Deployment)', () => {
  it('is complete when the spec is observed and every replica is updated and available', () => {
    expect(deploymentPending(deployment(complete))).toBeUndefined();
  });
  it('waits while the controller has not observed the latest generation', () => {
    expect(deploymentPending(deployment({ ...complete, observedGeneration: 2 }))).toBe(
      'waiting for the spec update to be observed',
    );
  });
  it('fails a rollout whose Progressing condition says ProgressDeadlineExceeded', () => {
    const conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }];
    expect(deploymentPending(deployment({ ...complete, updatedReplicas: 1, conditions }))).toBe(
      'exceeded its progress deadline',
    );
  });
  it('waits for new replicas, then for old ones to terminate, then for availability', () => {
    expect(deploymentPending(deployment({ ...complete, updatedReplicas: 1 }))).toBe(
      '1 of 2 new replicas updated',
    );
    expect(deploymentPending(deployment({ ...complete, replicas: 3 }))).toBe(
      '1 old replicas pending termination',
    );
    expect(deploymentPending(deployment({ ...complete, availableReplicas: 1 }))).toBe(
      '1 of 2 updated replicas available',
    );
  });
});

const statefulSet = (status: V1StatefulSet['status'], updateStrategy?: { type: string }): V1StatefulSet => ({
  metadata: { name: 'postgres', generation: 1 },
  spec: { replicas: 1, selector: {}, serviceName: 'postgres', template: {}, updateStrategy },
  status,
});
const settled = {
  observedGeneration: 1,
  replicas: 1,
  readyReplicas: 1,
  currentRevision: 'pg-1',
  updateRevision: 'pg-1',
};

describe('statefulSetPending (kubectl rollout status for a StatefulSet)', () => {
  it('is complete when observed, ready and at the update revision', () => {
    expect(statefulSetPending(statefulSet(settled))).toBeUndefined();
  });
  it('waits for the spec to be observed, for ready pods, then for the rolling update', () => {
    expect(statefulSetPending(statefulSet({ ...settled, observedGeneration: 0 }))).toBe(
      'waiting for the spec update to be observed',
    );
    expect(statefulSetPending(statefulSet({ ...settled, readyReplicas: 0 }))).toBe('0 of 1 pods ready');
    expect(statefulSetPending(statefulSet({ ...settled, updateRevision: 'pg-2', updatedReplicas: 0 }))).toBe(
      'rolling update to revision pg-2 not complete (0 pods updated)',
    );
  });
  it('does not wait for a revision under the OnDelete strategy', () => {
    expect(
      statefulSetPending(statefulSet({ ...settled, updateRevision: 'pg-2' }, { type: 'OnDelete' })),
    ).toBeUndefined();
  });
});
