/**
 * The API double must be as strict as kube-apiserver where the chaos engine depends on it; these
 * tests pin that behaviour down with plain HTTP, without the target.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';
import { startOrderEndpoint } from './support/order-endpoint.ts';

describe('the Kubernetes API double', () => {
  let kube: FakeKubeApi | undefined;
  afterEach(async () => {
    await kube?.stop();
    kube = undefined;
  });

  const start = async () => {
    kube = await new FakeKubeApi({
      deployments: [
        { name: 'order', replicas: 3 },
        { name: 'postgres', kind: 'StatefulSet', replicas: 1, servicePortName: 'postgres' },
      ],
      msPerSecond: 10,
    }).start();
    return kube;
  };
  const get = (k: FakeKubeApi, path: string, token = k.apiToken) =>
    fetch(`${k.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  it('refuses a request without the kubeconfig bearer token (401)', async () => {
    const k = await start();
    const response = await get(k, '/api/v1/namespaces/shop/pods', 'wrong');
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
  });

  it('answers a watch from a compacted resourceVersion with one ERROR 410 event, then ends it', async () => {
    const k = await start();
    const list = (await (await get(k, '/api/v1/namespaces/shop/pods')).json()) as {
      metadata: { resourceVersion: string };
    };
    k.deletePod(k.pods('order')[0].metadata.name, 0);
    k.store.compact();
    const response = await get(
      k,
      `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
    );
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { code: number; reason: string } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
  });

  it('serves list pages of one snapshot: a pod deleted between two pages is still in the second', async () => {
    const k = await start();
    const first = (await (await get(k, '/api/v1/namespaces/shop/pods?limit=2')).json()) as {
      items: Array<{ metadata: { name: string } }>;
      metadata: { continue: string; resourceVersion: string };
    };
    expect(first.items).toHaveLength(2);
    const rest = k
      .pods()
      .map((p) => p.metadata.name)
      .filter((n) => !first.items.some((i) => i.metadata.name === n));
    k.deletePod(rest[0], 0);
    const second = (await (
      await get(k, `/api/v1/namespaces/shop/pods?limit=2&continue=${first.metadata.continue}`)
    ).json()) as {
      items: Array<{ metadata: { name: string } }>;
      metadata: { continue?: string; resourceVersion: string };
    };
    expect(second.items.map((i) => i.metadata.name).sort()).toEqual([...rest].sort());
    expect(second.metadata.continue).toBeUndefined();
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  });

  it('answers 410 for a continue token older than the compacted history', async () => {
    const k = await start();
    const first = (await (await get(k, '/api/v1/namespaces/shop/pods?limit=1')).json()) as {
      metadata: { continue: string };
    };
    k.deletePod(k.pods('order')[0].metadata.name, 0);
    k.store.compact();
    const response = await get(k, `/api/v1/namespaces/shop/pods?limit=1&continue=${first.metadata.continue}`);
    expect(response.status).toBe(410);
  });

  it('removes a pod deleted with grace period 0 at once, and keeps one deleted with a grace period Terminating', async () => {
    const k = await start();
    k.cluster.kubeletPaused = true;
    const [forced, graceful] = k.pods('order');
    k.deletePod(forced.metadata.name, 0);
    expect(k.pods().some((p) => p.metadata.uid === forced.metadata.uid)).toBe(false);
    k.deletePod(graceful.metadata.name, 30);
    const pod = k.pod(graceful.metadata.name);
    expect(pod.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(pod.status.phase).toBe('Running');
  });

  it('recreates postgres-0 only once the old one is gone, under the same name', async () => {
    const k = await start();
    const old = k.pod('postgres-0');
    k.cluster.kubeletPaused = true;
    k.deletePod('postgres-0', 1);
    // Terminating and not yet gone: no second postgres-0 may exist (at most one).
    expect(k.pods('postgres')).toEqual([old]);
    k.cluster.kubeletPaused = false;
    k.deletePod('postgres-0', 0);
    const [recreated] = await waitFor('the new postgres-0', () =>
      k.pods('postgres').length > 0 ? k.pods('postgres') : undefined,
    );
    expect(recreated.metadata.name).toBe('postgres-0');
    expect(recreated.metadata.uid).not.toBe(old.metadata.uid);
  });

  it('serves the audit API of each Service from the orders its front acknowledged, in pages', async () => {
    const k = await new FakeKubeApi({
      deployments: ['order', 'inventory', 'notification'].map((name) => ({ name, replicas: 1 })),
      shop: { stock: { 'p-001': 5, 'p-002': 5 }, pageSize: 2 },
    }).start();
    kube = k;
    const front = await startOrderEndpoint(k.shop);
    try {
      const order = (quantity: number) =>
        fetch(`${front.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customer: { email: 'a@b.c' }, items: [{ productId: 'p-001', quantity }] }),
        });
      const answers = [await order(2), await order(2), await order(2), await order(1)];
      // the third asks for 2 of the 1 unit left: rejected, stored, holding nothing
      expect(answers.map((a) => a.status)).toEqual([201, 201, 409, 201]);
      const audit = async <T>(service: string, path: string, admin = k.adminToken) => {
        const response = await fetch(
          `${k.url}/api/v1/namespaces/shop/services/${service}:http/proxy${path}`,
          {
            headers: { authorization: `Bearer ${k.apiToken}`, 'x-admin-token': admin },
          },
        );
        return { status: response.status, body: (await response.json()) as T };
      };
      type Page = { items: Array<Record<string, unknown>>; nextCursor?: string };
      const all = async (service: string, path: string) => {
        const items: Array<Record<string, unknown>> = [];
        let after = '';
        for (;;) {
          const { body } = await audit<Page>(service, `${path}?limit=1000${after}`);
          expect(body.items.length).toBeLessThanOrEqual(2);
          items.push(...body.items);
          if (!body.nextCursor) return items;
          after = `&after=${encodeURIComponent(body.nextCursor)}`;
        }
      };
      const statuses = (await all('order', '/admin/audit/orders')).map((o) => [o.id, o.status]);
      expect(statuses).toEqual([
        ['o-1', 'confirmed'],
        ['o-2', 'confirmed'],
        ['o-3', 'rejected'],
        ['o-4', 'confirmed'],
      ]);
      expect(await all('inventory', '/admin/audit/products')).toEqual([
        { id: 'p-001', stock: 0, receivedUnits: 5 },
        { id: 'p-002', stock: 5, receivedUnits: 5 },
      ]);
      expect((await all('inventory', '/admin/audit/reservations')).map((r) => [r.orderId, r.status])).toEqual(
        [
          ['o-1', 'reserved'],
          ['o-2', 'reserved'],
          ['o-4', 'reserved'],
        ],
      );
      // confirmations go through order's outbox: the summary counts them until notification has them
      await waitFor('an empty outbox', async () => {
        const { body } = await audit<{ outboxPending: number }>('order', '/admin/audit/summary');
        return body.outboxPending === 0;
      });
      const confirmations = await all('notification', '/admin/audit/notifications');
      expect(confirmations.map((n) => [n.orderId, n.kind]).sort()).toEqual([
        ['o-1', 'order-confirmation'],
        ['o-2', 'order-confirmation'],
        ['o-4', 'order-confirmation'],
      ]);
      // lists belong to their service; bad paging and a wrong token are refused
      expect((await audit('inventory', '/admin/audit/orders')).status).toBe(404);
      expect((await audit('order', '/admin/audit/orders?after=not-a-cursor')).status).toBe(400);
      expect((await audit('order', '/admin/audit/orders?limit=1001')).status).toBe(400);
      expect((await audit('order', '/admin/audit/orders', 'wrong')).status).toBe(401);
    } finally {
      await front.close();
    }
  });
});
