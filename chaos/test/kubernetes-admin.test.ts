import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubernetesTarget } from '../src/targets/kubernetes-target.ts';
import type { Replica, TargetEvent } from '../src/target.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';

const ADMIN_TOKEN = 'admin-token-for-this-test';

describe('the Kubernetes target reaches the admin API through the API server proxy', () => {
  let kube: FakeKubeApi;
  let target: KubernetesTarget;

  beforeAll(async () => {
    kube = await new FakeKubeApi({
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2 },
        { name: 'postgres', kind: 'StatefulSet', replicas: 1, servicePortName: 'postgres' },
      ],
      adminToken: ADMIN_TOKEN,
      msPerSecond: 20,
    }).start();
    target = new KubernetesTarget({
      kubeConfig: kube.kubeConfig(),
      namespace: 'shop',
      selector: 'app.kubernetes.io/part-of=self-healing-shop',
      adminToken: ADMIN_TOKEN,
    });
  });
  afterAll(async () => {
    await target.close();
    await kube.stop();
  });

  const replicaOf = async (workload: string): Promise<Replica> =>
    (await target.listReplicas()).find((r) => r.workload === workload && r.ready)!;

  it('freezes one pod: the freeze fault reaches that pod with x-admin-token and without Authorization', async () => {
    const victim = await replicaOf('inventory');
    const events: TargetEvent[] = [];
    const subscription = await target.subscribe((e) => events.push(e));
    const before = kube.network.received.length;
    await target.freeze(victim, 600);
    const received = kube.network.received.slice(before);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request).toMatchObject({
      pod: victim.name,
      method: 'POST',
      path: '/admin/faults',
      body: { type: 'freeze', durationMs: 600 },
    });
    expect(request.headers['x-admin-token']).toBe(ADMIN_TOKEN);
    // The kubeconfig's bearer token authenticated the call at the API server, which then removed it.
    expect(request.headers.authorization).toBeUndefined();
    expect(kube.requests).toContainEqual({
      method: 'POST',
      path: `/api/v1/namespaces/shop/pods/${victim.name}:8080/proxy/admin/faults`,
    });
    // The frozen pod fails its readiness probe, then passes again after the freeze.
    await waitFor('the pod unready, then ready again', () => {
      const seen = events.filter((e) => e.uid === victim.uid).map((e) => e.type);
      return seen.includes('replica-ready') ? seen : undefined;
    }).then((seen) => expect(seen).toEqual(['replica-unready', 'replica-ready']));
    await subscription.close();
  });

  it('rejects a freeze of no positive whole milliseconds without sending anything', async () => {
    const victim = await replicaOf('order');
    const before = kube.requests.length;
    await expect(target.freeze(victim, 0)).rejects.toThrow(
      'freeze needs a whole positive number of milliseconds, got 0',
    );
    await expect(target.freeze(victim, 1.5)).rejects.toThrow(/got 1\.5/);
    expect(kube.requests.length).toBe(before);
  });

  it('reads an audit path through the Service proxy of a ready endpoint', async () => {
    const summary = { pending: 0, outboxPending: 0, pendingTimeoutMs: 30000 };
    kube.network.audit.set('order', new Map([['/admin/audit/summary', summary]]));
    const before = kube.network.received.length;
    await expect(target.adminGet('order', '/admin/audit/summary')).resolves.toEqual(summary);
    const [request] = kube.network.received.slice(before);
    expect(kube.pods('order').map((p) => p.metadata.name)).toContain(request.pod);
    expect(request.headers['x-admin-token']).toBe(ADMIN_TOKEN);
    expect(request.headers.authorization).toBeUndefined();
    expect(kube.requests.at(-1)?.path).toBe(
      '/api/v1/namespaces/shop/services/order:http/proxy/admin/audit/summary',
    );
  });

  it('passes the query string of an audit path on', async () => {
    const page = { items: [{ id: 'p-001', stock: 3, receivedUnits: 5 }], nextCursor: 'p-001' };
    kube.network.audit.set('inventory', new Map([['/admin/audit/products?limit=1', page]]));
    await expect(target.adminGet('inventory', '/admin/audit/products?limit=1')).resolves.toEqual(page);
  });

  it('names the service, the path and the status when the admin API says no', async () => {
    await expect(target.adminGet('order', '/admin/audit/nothing-here')).rejects.toThrow(
      'the admin API of service order (GET /admin/audit/nothing-here) answered 404',
    );
    const wrongToken = new KubernetesTarget({
      kubeConfig: kube.kubeConfig(),
      namespace: 'shop',
      selector: 'app.kubernetes.io/part-of=self-healing-shop',
      adminToken: 'not-the-token',
    });
    await expect(wrongToken.adminGet('order', '/admin/audit/summary')).rejects.toThrow(
      /answered 401: Unauthorized/,
    );
  });

  it('reports a Service without ready endpoints as the API server does (503)', async () => {
    const pods = kube.pods('inventory').map((p) => p.metadata.name);
    for (const name of pods) kube.setReady(name, false);
    try {
      await expect(target.adminGet('inventory', '/admin/audit/products')).rejects.toThrow(
        'the admin API of service inventory (GET /admin/audit/products) answered 503: no endpoints available for service "inventory"',
      );
    } finally {
      for (const name of pods) kube.setReady(name, true);
    }
  });

  it('injects and clears faults on one pod with the token header', async () => {
    const victim = await replicaOf('order');
    const id = await target.injectFault(victim, { type: 'latency', latencyMs: 200, route: '/orders' });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(kube.network.faults.get(victim.name)).toEqual([
      { id, type: 'latency', latencyMs: 200, route: '/orders' },
    ]);
    await target.clearFaults(victim);
    expect(kube.network.faults.get(victim.name)).toEqual([]);
    const last = kube.network.received.at(-1)!;
    expect(last).toMatchObject({ pod: victim.name, method: 'DELETE', path: '/admin/faults' });
    expect(last.headers['x-admin-token']).toBe(ADMIN_TOKEN);
  });

  it("reads one pod's readiness through the pod proxy, without the admin token; a 503 names the pod", async () => {
    const [a, b] = (await target.listReplicas()).filter((r) => r.workload === 'order');
    const degraded = {
      status: 'degraded',
      checks: [{ name: 'circuit:inventory', status: 'unhealthy', message: 'circuit open, probes in 900 ms' }],
    };
    kube.network.readiness.set(a!.name, { status: 200, body: degraded });
    kube.network.readiness.set(b!.name, { status: 503, body: { status: 'unhealthy', checks: [] } });
    try {
      expect(await target.readiness(a!)).toEqual(degraded);
      const last = kube.network.received.at(-1)!;
      expect(last).toMatchObject({ pod: a!.name, method: 'GET', path: '/ready' });
      expect(last.headers['x-admin-token']).toBeUndefined();
      expect(kube.requests).toContainEqual({
        method: 'GET',
        path: `/api/v1/namespaces/shop/pods/${a!.name}:8080/proxy/ready`,
      });
      await expect(target.readiness(b!)).rejects.toThrow(`pod ${b!.name} (GET /ready) answered 503`);
      // A frozen pod accepts and never answers; the API server would hold the request for good.
      kube.network.readiness.set(b!.name, 'no answer');
      await expect(target.readiness(b!)).rejects.toThrow(`pod ${b!.name} (GET /ready): no answer`);
    } finally {
      kube.network.readiness.clear();
    }
  });

  it('reaches a Terminating pod through the pod proxy while its container still serves', async () => {
    const victim = await replicaOf('order');
    kube.cluster.kubeletPaused = true;
    try {
      kube.deletePod(victim.name);
      await target.freeze(victim, 50);
      expect(kube.network.received.at(-1)).toMatchObject({ pod: victim.name, body: { type: 'freeze' } });
    } finally {
      kube.cluster.kubeletPaused = false;
    }
  });
});
