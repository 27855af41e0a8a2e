import { afterEach, describe, expect, it } from '@jest/globals';
import { RecoveryTracker } from '../src/recovery.ts';
import { KubernetesTarget, type KubernetesEventSubscription } from '../src/targets/kubernetes-target.ts';
import type { TargetEvent } from '../src/target.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';

describe('the Kubernetes target under graceful termination (API double with ReplicaSet and StatefulSet)', () => {
  let kube: FakeKubeApi | undefined;
  let subscription: KubernetesEventSubscription | undefined;

  afterEach(async () => {
    await subscription?.close();
    await kube?.stop();
    subscription = undefined;
    kube = undefined;
  });

  async function setUp() {
    kube = await new FakeKubeApi({
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2, minAvailable: 2 },
        { name: 'postgres', kind: 'StatefulSet', replicas: 1, protected: true, servicePortName: 'postgres' },
      ],
      // One second of Kubernetes time lasts 25 ms: a default delete (grace 20 s, the container exits
      // after its 5 s preStop) terminates for 125 ms; a pod is ready 40 ms after its creation.
      msPerSecond: 25,
      readyDelayMs: 40,
      // The kubelet notices a deletion late: the pod still says Ready for a while after it.
      kubeletLagMs: 30,
    }).start();
    const events: TargetEvent[] = [];
    const target = new KubernetesTarget({
      kubeConfig: kube.kubeConfig(),
      namespace: 'shop',
      selector: 'app.kubernetes.io/part-of=self-healing-shop',
      adminToken: kube.adminToken,
    });
    const listeners = new Set<(e: TargetEvent) => void>();
    subscription = await target.subscribe((e) => {
      events.push(e);
      for (const listener of listeners) listener(e);
    });
    return { kube, target, events, listeners };
  }

  /** A RecoveryTracker fed by the stream, with status reads as run.ts does them. */
  async function track(target: KubernetesTarget, workload: string, listeners: Set<(e: TargetEvent) => void>) {
    const [replicas, workloads] = await Promise.all([target.listReplicas(), target.listWorkloads()]);
    const feed = (e: TargetEvent): void => tracker.onEvent(e);
    const tracker: RecoveryTracker = new RecoveryTracker({
      workload,
      replicas,
      status: workloads.find((w) => w.name === workload),
      refreshStatus: (name) => {
        refreshes.push(
          target.listWorkloads().then((all) => {
            const status = all.find((w) => w.name === name);
            if (status)
              feed({ at: Date.now(), type: 'workload-status', workload: name, status, source: 'read' });
          }),
        );
      },
    });
    const refreshes: Array<Promise<void>> = [];
    listeners.add(feed);
    const stop = async (): Promise<void> => {
      listeners.delete(feed);
      await Promise.all(refreshes);
    };
    return { tracker, replicas, stop };
  }

  it('counts a Terminating pod as not ready although its Ready condition still holds', async () => {
    const { kube, target, events } = await setUp();
    // The node stops answering: the kubelet neither flips Ready nor finishes the termination, so the
    // pod stays Terminating with its Ready condition True (as on a real unreachable node).
    kube.cluster.kubeletPaused = true;
    const [victim] = kube.pods('order');
    kube.deletePod(victim.metadata.name);
    const pod = kube.pod(victim.metadata.name);
    // What the API says right after the delete: deletionTimestamp set, phase Running, Ready True.
    expect(pod.metadata.deletionTimestamp).toBeDefined();
    expect(pod.metadata.deletionGracePeriodSeconds).toBe(20);
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    const listed = (await target.listReplicas()).find((r) => r.uid === victim.metadata.uid);
    expect(listed).toMatchObject({ phase: 'terminating', ready: false });
    // The stream says terminating, then unready, although the condition still says Ready.
    await waitFor('replica-unready', () =>
      events.find((e) => e.type === 'replica-unready' && e.uid === victim.metadata.uid),
    );
    expect(events.filter((e) => e.uid === victim.metadata.uid).map((e) => e.type)).toEqual([
      'replica-terminating',
      'replica-unready',
    ]);
    expect(kube.pod(victim.metadata.name).status.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    // The Deployment counts only the replacement and the other pod, never the terminating one.
    const status = await waitFor('the Deployment back at 2 ready', async () => {
      const order = (await target.listWorkloads()).find((w) => w.name === 'order')!;
      return order.ready === 2 ? order : undefined;
    });
    expect(status).toMatchObject({ desired: 2, ready: 2, available: 2 });
    const pods = kube.pods('order');
    expect(pods).toHaveLength(3);
    expect(pods.filter((p) => p.metadata.deletionTimestamp !== undefined).map((p) => p.metadata.uid)).toEqual(
      [victim.metadata.uid],
    );
  });

  it('sees the ReplicaSet create the replacement while the deleted pod still terminates', async () => {
    const { kube, events } = await setUp();
    const [victim] = kube.pods('order');
    const uid = victim.metadata.uid;
    kube.deletePod(victim.metadata.name);
    await waitFor('the old pod gone', () => events.find((e) => e.type === 'replica-gone' && e.uid === uid));
    const terminating = events.findIndex((e) => e.type === 'replica-terminating' && e.uid === uid);
    const added = events.findIndex((e) => e.type === 'replica-added' && e.workload === 'order');
    const gone = events.findIndex((e) => e.type === 'replica-gone' && e.uid === uid);
    expect(terminating).toBeGreaterThanOrEqual(0);
    expect(added).toBeGreaterThan(terminating);
    expect(gone).toBeGreaterThan(added);
    // While both existed the Deployment never counted the terminating pod: readyReplicas stayed <= 2.
    const statuses = events.filter((e) => e.type === 'workload-status' && e.workload === 'order');
    expect(statuses.every((e) => e.status!.ready <= 2)).toBe(true);
  });

  it('follows a pod-kill of a Deployment pod to full strength under this model', async () => {
    const { kube, target, listeners } = await setUp();
    const { tracker, replicas, stop } = await track(target, 'order', listeners);
    try {
      const victim = replicas.find((r) => r.workload === 'order')!;
      tracker.expectKill(victim, Date.now());
      const result = await target.kill(victim, { evict: false, experiment: 'test', reason: 'test' });
      expect(result).toEqual({ outcome: 'sent', method: 'delete (grace period 1 s)' });
      expect(await tracker.wait(10_000)).toBe(true);
      const { kills, replacements } = tracker.timeline;
      expect(replacements).toHaveLength(1);
      expect(replacements[0].uid).not.toBe(victim.uid);
      expect(kills[0].terminatingAt!).toBeLessThanOrEqual(replacements[0].createdAt);
      expect(replacements[0].createdAt).toBeLessThanOrEqual(kills[0].goneAt!);
      expect(kube.pods('order').map((p) => p.metadata.uid)).toContain(replacements[0].uid);
      expect(kube.readyReplicas('order')).toBe(2);
    } finally {
      await stop();
    }
  });

  it('database-kill: deletes postgres-0, which the StatefulSet recreates under the same name once the old one is gone', async () => {
    const { kube, target, events, listeners } = await setUp();
    const workloads = await target.listWorkloads();
    expect(workloads.find((w) => w.name === 'postgres')).toMatchObject({
      kind: 'StatefulSet',
      desired: 1,
      ready: 1,
    });
    const { tracker, replicas, stop } = await track(target, 'postgres', listeners);
    try {
      const victim = replicas.find((r) => r.name === 'postgres-0')!;
      expect(victim).toMatchObject({ workload: 'postgres', ready: true, protected: true });
      tracker.expectKill(victim, Date.now());
      const result = await target.kill(victim, { evict: false, experiment: 'database-kill', reason: 'test' });
      expect(result.outcome).toBe('sent');
      expect(await tracker.wait(10_000)).toBe(true);
      const { kills, replacements } = tracker.timeline;
      expect(replacements).toEqual([expect.objectContaining({ replica: 'postgres-0' })]);
      expect(replacements[0].uid).not.toBe(victim.uid);
      // Same name: the new pod can only exist once the old one is gone from the API.
      expect(replacements[0].createdAt).toBeGreaterThanOrEqual(kills[0].goneAt!);
      expect(kills[0].terminatingAt!).toBeLessThanOrEqual(kills[0].goneAt!);
      const oldGone = events.findIndex((e) => e.type === 'replica-gone' && e.uid === victim.uid);
      const newAdded = events.findIndex((e) => e.type === 'replica-added' && e.uid === replacements[0].uid);
      expect(newAdded).toBeGreaterThan(oldGone);
      const after = (await target.listWorkloads()).find((w) => w.name === 'postgres')!;
      expect(after).toMatchObject({ kind: 'StatefulSet', desired: 1, ready: 1, available: 1 });
      expect(kube.pod('postgres-0').metadata.uid).toBe(replacements[0].uid);
    } finally {
      await stop();
    }
  });

  it('reports an eviction the PodDisruptionBudget forbids (429) as refused and kills nothing', async () => {
    const { kube, target } = await setUp();
    const before = kube
      .pods('inventory')
      .map((p) => p.metadata.uid)
      .sort();
    const victim = (await target.listReplicas()).find((r) => r.workload === 'inventory')!;
    const result = await target.kill(victim, { evict: true, experiment: 'test', reason: 'test' });
    expect(result.outcome).toBe('refused');
    expect(result.outcome === 'refused' && result.reason).toMatch(
      /eviction refused by a PodDisruptionBudget \(HTTP 429: Cannot evict pod as it would violate the pod's disruption budget/,
    );
    expect(
      kube
        .pods('inventory')
        .map((p) => p.metadata.uid)
        .sort(),
    ).toEqual(before);
    expect(kube.pods('inventory').every((p) => p.metadata.deletionTimestamp === undefined)).toBe(true);
  });

  it('evicts when the budget allows it, with the same grace period as a delete', async () => {
    const { kube, target } = await setUp();
    const victim = (await target.listReplicas()).find((r) => r.workload === 'order')!;
    const result = await target.kill(victim, { evict: true, experiment: 'test', reason: 'test' });
    expect(result).toEqual({ outcome: 'sent', method: 'eviction (grace period 1 s)' });
    expect(kube.pod(victim.name).metadata.deletionGracePeriodSeconds).toBe(1);
  });

  it('refuses a kill whose pod was replaced meanwhile (UID precondition, 409)', async () => {
    const { kube, target, events } = await setUp();
    const victim = (await target.listReplicas()).find((r) => r.name === 'postgres-0')!;
    kube.deletePod('postgres-0', 0);
    await waitFor('the new postgres-0', () =>
      events.find((e) => e.type === 'replica-added' && e.replica === 'postgres-0' && e.uid !== victim.uid),
    );
    const result = await target.kill(victim, { evict: false, experiment: 'test', reason: 'test' });
    expect(result.outcome).toBe('refused');
    expect(result.outcome === 'refused' && result.reason).toContain(
      'postgres-0 changed before the kill (HTTP 409',
    );
  });
});
