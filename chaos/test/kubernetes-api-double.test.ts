/**
 * The API double must be as strict as kube-apiserver where the chaos engine depends on it; these
 * tests pin that behaviour down with plain HTTP, without the target.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';

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
});
