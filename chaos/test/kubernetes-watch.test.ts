import { afterEach, describe, expect, it } from '@jest/globals';
import { KubernetesTarget, type KubernetesEventSubscription } from '../src/targets/kubernetes-target.ts';
import type { TargetError, TargetEvent } from '../src/target.ts';
import { FakeKubeApi, type FakeKubeOptions } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';

const WORKLOADS: FakeKubeOptions['deployments'] = [
  { name: 'order', replicas: 2 },
  { name: 'inventory', replicas: 2 },
  { name: 'notification', replicas: 2 },
  { name: 'postgres', kind: 'StatefulSet', replicas: 1, servicePortName: 'postgres' },
];

describe('the Kubernetes target event stream (real @kubernetes/client-node against the API double)', () => {
  let kube: FakeKubeApi | undefined;
  let subscription: KubernetesEventSubscription | undefined;

  afterEach(async () => {
    await subscription?.close();
    await kube?.stop();
    subscription = undefined;
    kube = undefined;
  });

  async function setUp(
    options: Partial<FakeKubeOptions> = {},
    target: Partial<ConstructorParameters<typeof KubernetesTarget>[0]> = {},
  ) {
    kube = await new FakeKubeApi({ deployments: WORKLOADS, msPerSecond: 20, ...options }).start();
    const events: TargetEvent[] = [];
    const errors: TargetError[] = [];
    const k8s = new KubernetesTarget({
      kubeConfig: kube.kubeConfig(),
      namespace: 'shop',
      selector: 'app.kubernetes.io/part-of=self-healing-shop',
      adminToken: kube.adminToken,
      reconnect: { initialDelayMs: 5, maxDelayMs: 50, shortWatchMs: 10 },
      ...target,
    });
    subscription = await k8s.subscribe(
      (e) => events.push(e),
      (e) => errors.push(e),
    );
    return { kube, k8s, events, errors, subscription };
  }

  const find = (events: TargetEvent[], type: TargetEvent['type'], uid: string) =>
    events.findIndex((e) => e.type === type && e.uid === uid);

  it('resumes from the last resourceVersion after the watch connections are reset', async () => {
    const { kube, events, errors, subscription } = await setUp();
    const watchesBefore = kube.watchRequests('pods');
    kube.dropWatches();
    // While no watch runs: a pod is force-deleted and the ReplicaSet replaces it.
    const [victim] = kube.pods('order');
    kube.deletePod(victim.metadata.name, 0);
    await waitFor('replica-gone of the pod deleted while disconnected', () =>
      events.find((e) => e.type === 'replica-gone' && e.uid === victim.metadata.uid),
    );
    const replacement = await waitFor('the replacement pod', () =>
      events.find((e) => e.type === 'replica-added' && e.workload === 'order'),
    );
    expect(replacement.uid).not.toBe(victim.metadata.uid);
    expect(kube.watchRequests('pods')).toBeGreaterThan(watchesBefore);
    expect(subscription.stats().pods.relists).toBe(0);
    expect(errors).toEqual([]);
    expect(subscription.error).toBeUndefined();
  });

  it('re-lists after 410 Gone and reports what changed while it could not watch', async () => {
    const { kube, events, errors, subscription } = await setUp();
    kube.dropWatches();
    const [victim] = kube.pods('inventory');
    kube.deletePod(victim.metadata.name, 0);
    // etcd compacts: the resourceVersion the stream will resume from is now too old.
    kube.store.compact();
    await waitFor('replica-gone reported by the re-list', () =>
      events.find((e) => e.type === 'replica-gone' && e.uid === victim.metadata.uid),
    );
    const stats = subscription.stats().pods;
    expect(stats.expired).toBeGreaterThanOrEqual(1);
    expect(stats.relists).toBeGreaterThanOrEqual(1);
    expect(events.find((e) => e.type === 'replica-gone' && e.uid === victim.metadata.uid)?.source).toBe(
      'DELETED',
    );
    // The replacement is reported (by the re-list or the watch after it) and becomes ready.
    const added = await waitFor('the replacement', () =>
      events.find((e) => e.type === 'replica-added' && e.workload === 'inventory'),
    );
    await waitFor('the replacement ready', () => find(events, 'replica-ready', added.uid!) >= 0);
    // The watch goes on from the list's resourceVersion: a later change still arrives.
    const [other] = kube.pods('order');
    kube.deletePod(other.metadata.name, 0);
    await waitFor('a change after the re-list', () => find(events, 'replica-gone', other.metadata.uid) >= 0);
    expect(errors).toEqual([]);
  });

  it('retries a re-list that API Priority and Fairness throttled (429) and then reports the changes', async () => {
    const { kube, events, errors, subscription } = await setUp();
    kube.dropWatches();
    const [victim] = kube.pods('order');
    kube.deletePod(victim.metadata.name, 0);
    kube.store.compact();
    kube.throttleLists = 1;
    await waitFor(
      'replica-gone after the throttled re-list',
      () => find(events, 'replica-gone', victim.metadata.uid) >= 0,
    );
    // The 429 was served to one of the three re-lists, which counted a failure and listed again.
    expect(kube.throttleLists).toBe(0);
    const relists = () => {
      const stats = subscription.stats();
      return stats.pods.relists + stats.deployments.relists + stats.statefulsets.relists;
    };
    await waitFor('all three collections re-listed', () => relists() === 3);
    const stats = subscription.stats();
    expect(
      stats.pods.failures + stats.deployments.failures + stats.statefulsets.failures,
    ).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
  });

  it('keeps watching across server watch timeouts and client idle timeouts without counting failures', async () => {
    const { kube, events, subscription } = await setUp({ watchTimeoutMs: 40 }, { watchIdleTimeoutMs: 60 });
    await waitFor('several watch restarts', () => kube.watchRequests('pods') >= 4);
    const [victim] = kube.pods('notification');
    kube.deletePod(victim.metadata.name, 0);
    await waitFor(
      'the deletion after the restarts',
      () => find(events, 'replica-gone', victim.metadata.uid) >= 0,
    );
    const stats = subscription.stats();
    expect(stats.pods.failures).toBe(0);
    expect(stats.deployments.failures).toBe(0);
    expect(stats.pods.relists).toBe(0);
  });

  it('reports a stream that cannot be re-established through onError instead of ending silently', async () => {
    const { kube, errors, subscription } = await setUp(
      {},
      { reconnect: { initialDelayMs: 1, maxDelayMs: 5, maxConsecutiveFailures: 3 } },
    );
    kube.failWatches = Infinity;
    kube.dropWatches();
    const [error] = await waitFor('the stream to give up', () => (errors.length > 0 ? errors : undefined));
    expect(error.name).toBe('TargetError');
    expect(error.message).toMatch(
      /the watch of \/api\/v1\/namespaces\/shop\/pods|the watch of \/apis\/apps\/v1/,
    );
    expect(error.message).toContain('failed 3 times in a row');
    expect(error.message).toContain('Service Unavailable');
    expect(subscription.error).toBe(error);
    // Exactly one report, however many of the three collections failed.
    expect(errors).toHaveLength(1);
  });

  it('does not resolve subscribe when the watches cannot be established', async () => {
    kube = await new FakeKubeApi({ deployments: WORKLOADS }).start();
    kube.failWatches = Infinity;
    const k8s = new KubernetesTarget({
      kubeConfig: kube.kubeConfig(),
      namespace: 'shop',
      selector: 'app.kubernetes.io/part-of=self-healing-shop',
      adminToken: kube.adminToken,
      reconnect: { initialDelayMs: 1, maxDelayMs: 5, maxConsecutiveFailures: 2 },
    });
    await expect(k8s.subscribe(() => {})).rejects.toThrow(
      /cannot watch shop: the watch of .* failed 2 times in a row/,
    );
  });

  it('lists in pages of `limit` and still returns every replica and workload', async () => {
    const { kube, k8s } = await setUp({}, { pageSize: 2 });
    const replicas = await k8s.listReplicas();
    expect(replicas.map((r) => r.name).sort()).toEqual(
      kube
        .pods()
        .map((p) => p.metadata.name)
        .sort(),
    );
    expect(replicas).toHaveLength(7);
    const pages = kube.requests.filter(
      (r) => r.path.startsWith('/api/v1/namespaces/shop/pods?') && r.path.includes('continue='),
    );
    expect(pages.length).toBeGreaterThanOrEqual(3);
    const workloads = await k8s.listWorkloads();
    expect(workloads.map((w) => `${w.kind}/${w.name}`).sort()).toEqual([
      'Deployment/inventory',
      'Deployment/notification',
      'Deployment/order',
      'StatefulSet/postgres',
    ]);
  });
});
