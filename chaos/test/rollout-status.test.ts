// The rollout guard's reading of a Deployment (kubectl's DeploymentStatusViewer) and its choice of
// the ReplicaSet to roll back to (kubectl's deploymentRevision), on objects written by hand.
import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { previousReplicaSet, rollbackPatch, RollbackError } from '../src/rollout/rollback.ts';
import { rolloutStatus } from '../src/rollout/rollout-status.ts';

const deployment = (status: V1Deployment['status'], generation = 2, replicas = 2): V1Deployment => ({
  metadata: {
    name: 'order',
    uid: 'd-1',
    generation,
    annotations: {
      'deployment.kubernetes.io/revision': '3',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
    },
  },
  spec: { replicas, selector: { matchLabels: { app: 'order' } }, template: {} },
  status,
});

const replicaSet = (
  hash: string,
  revision: string,
  owner = 'd-1',
  extra: Record<string, string> = {},
): V1ReplicaSet => ({
  metadata: {
    name: `order-${hash}`,
    annotations: { 'deployment.kubernetes.io/revision': revision, ...extra },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'order', uid: owner, controller: true },
    ],
  },
  spec: {
    selector: { matchLabels: { app: 'order' } },
    template: {
      metadata: { labels: { app: 'order', 'pod-template-hash': hash } },
      spec: { containers: [{ name: 'app', image: `order:${hash}` }] },
    },
  },
});

describe('rollout status as kubectl rollout status reads it', () => {
  it('waits until the controller has observed the new generation', () => {
    expect(
      rolloutStatus(
        deployment({ observedGeneration: 1, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }),
      ),
    ).toEqual({
      state: 'waiting',
      message: 'Waiting for deployment spec update to be observed...',
    });
  });

  it('fails on the Progressing condition with reason ProgressDeadlineExceeded', () => {
    const status = rolloutStatus(
      deployment({
        observedGeneration: 2,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "order-abc" has timed out progressing.',
          },
        ],
      }),
    );
    expect(status).toEqual({
      state: 'failed',
      message:
        'deployment "order" exceeded its progress deadline: ReplicaSet "order-abc" has timed out progressing.',
    });
  });

  it('waits for updated, then old, then available replicas, and is done when all are there', () => {
    const at = (s: V1Deployment['status']) =>
      rolloutStatus(deployment({ observedGeneration: 2, ...s })).message;
    expect(at({ updatedReplicas: 1, replicas: 3, availableReplicas: 2 })).toBe(
      'Waiting for deployment "order" rollout to finish: 1 out of 2 new replicas have been updated...',
    );
    expect(at({ updatedReplicas: 2, replicas: 3, availableReplicas: 2 })).toBe(
      'Waiting for deployment "order" rollout to finish: 1 old replicas are pending termination...',
    );
    expect(at({ updatedReplicas: 2, replicas: 2, availableReplicas: 1 })).toBe(
      'Waiting for deployment "order" rollout to finish: 1 of 2 updated replicas are available...',
    );
    expect(
      rolloutStatus(
        deployment({ observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }),
      ),
    ).toEqual({
      state: 'done',
      message: 'deployment "order" successfully rolled out',
    });
  });
});

describe('rollout undo as kubectl does it', () => {
  it('picks the ReplicaSet of the second-highest revision among those the Deployment controls', () => {
    const sets = [
      replicaSet('aaa', '1'),
      replicaSet('ccc', '3'),
      replicaSet('bbb', '2'),
      replicaSet('zzz', '9', 'someone-else'),
    ];
    expect(previousReplicaSet(deployment({}), sets).metadata?.name).toBe('order-bbb');
  });

  it('refuses without an earlier revision', () => {
    expect(() => previousReplicaSet(deployment({}), [replicaSet('ccc', '3')])).toThrow(
      new RollbackError('no rollout history found for deployment "order"'),
    );
  });

  it('patches the template back without pod-template-hash, with the ReplicaSet annotations and the skipped ones kept', () => {
    const rs = replicaSet('bbb', '2', 'd-1', { 'kubernetes.io/change-cause': 'v2' });
    expect(rollbackPatch(deployment({}), rs)).toEqual([
      {
        op: 'replace',
        path: '/spec/template',
        value: {
          metadata: { labels: { app: 'order' } },
          spec: { containers: [{ name: 'app', image: 'order:bbb' }] },
        },
      },
      {
        op: 'replace',
        path: '/metadata/annotations',
        value: {
          'deployment.kubernetes.io/revision': '3',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          'kubernetes.io/change-cause': 'v2',
        },
      },
    ]);
    // The ReplicaSet itself is left as it was.
    expect(rs.spec?.template?.metadata?.labels?.['pod-template-hash']).toBe('bbb');
  });
});
