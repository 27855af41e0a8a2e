// The pipelines' rollout guard (`chaos rollout-guard`) against the Kubernetes API double with
// Deployment revisions and rollout status (support/kube/rollouts.ts) and a Prometheus alerts API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { main } from '../src/command.ts';
import type { GuardReport } from '../src/rollout/guard.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { freePort } from './support/alertmanager.ts';
import { waitFor } from './support/kube/wait.ts';

const BROKEN = 'self-healing-shop/order:broken';

/** Prometheus's `GET /api/v1/alerts`, answering whatever `alerts` holds. */
async function startPrometheus(): Promise<{
  url: string;
  alerts: object[];
  reads: number;
  close: () => Promise<void>;
}> {
  const state = { alerts: [] as object[], reads: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/api/v1/alerts') return void res.writeHead(404).end();
    state.reads += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { alerts: state.alerts } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get alerts() {
      return state.alerts;
    },
    set alerts(value) {
      state.alerts = value;
    },
    get reads() {
      return state.reads;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('chaos rollout-guard', () => {
  let kube: FakeKubeApi;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  let dir: string;
  const dirs: string[] = [];

  /** A deploy: a merge patch of the Deployment, as `kubectl apply` of a new manifest changes it. */
  const deploy = async (name: string, patch: object): Promise<void> => {
    const response = await fetch(`${kube.url}/apis/apps/v1/namespaces/shop/deployments/${name}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${kube.apiToken}`, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify(patch),
    });
    expect(response.status).toBe(200);
  };
  const image = (tag: string, progressDeadlineSeconds = 10) => ({
    spec: {
      progressDeadlineSeconds,
      template: { spec: { containers: [{ name: 'app', image: `self-healing-shop/order:${tag}` }] } },
    },
  });
  const deployment = (name: string) => kube.store.find('deployments', name)!;
  const imageOf = (name: string) =>
    (deployment(name).spec.template as { spec: { containers: Array<{ image: string }> } }).spec.containers[0]!
      .image;

  const guard = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['rollout-guard', '--poll', '20ms', '--grace', '5s', '--report-dir', dir, ...args],
      {
        env: {},
        print: (line) => out.push(line),
        printError: (line) => err.push(line),
        signal: new AbortController().signal,
        kubeConfig: () => kube.kubeConfig('kind-test'),
      },
    );
    const report = JSON.parse(await readFile(join(dir, 'rollout-guard.json'), 'utf8')) as GuardReport;
    return { code, out: out.join('\n'), err: err.join('\n'), report };
  };

  beforeEach(async () => {
    kube = await new FakeKubeApi({
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2 },
      ],
      msPerSecond: 20,
      readyDelayMs: 30,
      unpullableImages: [BROKEN],
    }).start();
    prometheus = await startPrometheus();
    dir = await mkdtemp(join(tmpdir(), 'rollout-guard-'));
    dirs.push(dir);
  });
  afterEach(async () => {
    await kube?.stop();
    await prometheus?.close();
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('rolls back a deploy whose pods never turn ready once the controller reports ProgressDeadlineExceeded, and exits 1', async () => {
    await deploy('order', image('broken'));
    expect(deployment('order').metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    const result = await guard('--window', '1s', '--prometheus-url', prometheus.url);
    expect(result.code).toBe(1);
    expect(result.out).toContain('deployment "order" exceeded its progress deadline: ReplicaSet "order-');
    expect(result.out).toMatch(
      /rolled back deployment "order" from revision 2 to the template of revision 1 \(order-5d8f7c9b4\)/,
    );
    expect(result.report.verdict).toBe('rolled-back');
    expect(result.report.reason).toContain('has timed out progressing');
    expect(result.report.deployments.map((d) => [d.name, d.state])).toEqual([
      ['inventory', 'done'],
      ['order', 'failed'],
    ]);
    // kubectl rollout undo's effect: the old template back, as a new revision of the old ReplicaSet.
    expect(imageOf('order')).toBe('self-healing-shop/order:dev');
    expect(deployment('order').metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(
      kube.store.find('replicasets', 'order-5d8f7c9b4')!.metadata.annotations?.[
        'deployment.kubernetes.io/revision'
      ],
    ).toBe('3');
    const patches = kube.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(2); // the deploy, then the rollback
    // The broken pod leaves; the two old ones served throughout.
    await waitFor(
      'the broken pod to leave',
      () => kube.cluster.podsOf('order').every((p) => p.metadata.labels['pod-template-hash'] === '5d8f7c9b4'),
      10_000,
    );
    expect(prometheus.reads).toBe(0); // a failed rollout is judged without the window
  });

  it('passes (exit 0) when every rollout completes and the burn-rate alert stays silent for the window', async () => {
    await deploy('order', image('v2'));
    prometheus.alerts = [
      {
        labels: { alertname: 'OrderSLOErrorBudgetBurnFast' },
        state: 'pending',
        activeAt: new Date().toISOString(),
      },
    ];
    const result = await guard('--window', '300ms', '--prometheus-url', prometheus.url);
    expect(result.code === 0 ? 'exit 0' : result.out + result.err).toBe('exit 0');
    expect(result.report.verdict).toBe('passed');
    expect(result.report.burnRate.reads).toBeGreaterThan(1);
    expect(imageOf('order')).toBe('self-healing-shop/order:v2');
    expect(result.out).toContain('deployment "order" successfully rolled out');
    expect(kube.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('rolls back every watched Deployment when the fast burn-rate alert fires in the window, and exits 1', async () => {
    await deploy('order', image('v2'));
    await deploy('inventory', {
      spec: {
        template: { spec: { containers: [{ name: 'app', image: 'self-healing-shop/inventory:v2' }] } },
      },
    });
    prometheus.alerts = [
      { labels: { alertname: 'OrderSLOErrorBudgetBurnFast', severity: 'critical' }, state: 'firing' },
    ];
    const result = await guard('--window', '5s', '--prometheus-url', prometheus.url);
    expect(result.code).toBe(1);
    expect(result.report.reason).toBe('OrderSLOErrorBudgetBurnFast fired within 5s of the rollout');
    expect(result.report.burnRate.firing).toEqual([prometheus.alerts[0]]);
    expect(
      result.report.rollbacks.map((r) => ('toRevision' in r ? [r.deployment, r.toRevision] : r)),
    ).toEqual([
      ['inventory', 1],
      ['order', 1],
    ]);
    expect(imageOf('order')).toBe('self-healing-shop/order:dev');
    expect(imageOf('inventory')).toBe('self-healing-shop/inventory:dev');
  });

  it('fails closed (exit 2) without rolling back when Prometheus cannot be read', async () => {
    await deploy('order', image('v2'));
    const closed = await freePort();
    const result = await guard('--window', '200ms', '--prometheus-url', `http://127.0.0.1:${closed}`);
    expect(result.code).toBe(2);
    expect(result.report.verdict).toBe('error');
    expect(result.report.reason).toContain(`Prometheus at http://127.0.0.1:${closed} is not reachable`);
    expect(result.report.rollbacks).toEqual([]);
    expect(imageOf('order')).toBe('self-healing-shop/order:v2');
  });
});
