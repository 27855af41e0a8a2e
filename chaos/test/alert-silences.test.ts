// A planned experiment silences the alerts it expects (issue 14): through the whole `chaos run` path
// (the Kubernetes API double, the chart's Alertmanager behind its Service proxy played by a REAL
// Alertmanager), the silence exists while the fault runs, the alert still fires (suppressed) and the
// verdict counts it, and the silence is expired when the run ends, also when it is interrupted.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpSilenceApi, silenceExpected } from '../src/alerts/silences.ts';
import { ALERTMANAGER_SERVICE } from '../src/targets/kubernetes-target.ts';
import { freePort, startAlertmanager, type TestAlertmanager } from './support/alertmanager.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';
import { startOrderEndpoint, type OrderEndpoint } from './support/order-endpoint.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

const SERVICE = `${ALERTMANAGER_SERVICE.namespace}/${ALERTMANAGER_SERVICE.name}:${ALERTMANAGER_SERVICE.port}`;

/** Alertmanager API v2 `GET /api/v2/silences`, the fields read here. */
interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual?: boolean }>;
  createdBy: string;
  comment: string;
}

describe('chaos run silences its expected alerts in Alertmanager', () => {
  let am: TestAlertmanager;
  let kube: FakeKubeApi;
  let orders: OrderEndpoint;
  let dir: string;
  const results: CliResult[] = [];

  const silences = async (): Promise<Silence[]> =>
    (await (await fetch(`${am.url}/api/v2/silences`)).json()) as Silence[];
  const ours = async (alertname: string): Promise<Silence[]> =>
    (await silences()).filter(
      (s) => s.createdBy === 'chaos-engine' && s.matchers.some((m) => m.value === alertname),
    );

  async function experiment(name: string, alerts: string): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `name: ${name}`,
        'description: one order pod killed, expected alert silenced',
        'action: { kind: pod-kill, workload: order }',
        'defaults: { rounds: 1, loadRate: 20, mttrSlo: 30s, recoveryTimeout: 20s }',
        'steadyState: { probeOrders: 2, timeout: 10s }',
        alerts,
        '',
      ].join('\n'),
    );
    return file;
  }

  const run = async (args: string[], signal?: AbortSignal): Promise<CliResult> => {
    const result = await runCli(['--target', 'kubernetes', '--url', orders.url, '--yes', ...args], {
      kubeConfig: () => kube.kubeConfig('kind-test'),
      ...(signal ? { signal } : {}),
    });
    results.push(result);
    return result;
  };

  const podKilled = async (): Promise<void> => {
    const deletes = kube.requests.filter((r) => r.method === 'DELETE').length;
    await waitFor(
      'the pod kill',
      () => kube.requests.filter((r) => r.method === 'DELETE').length > deletes,
      20_000,
    );
  };

  beforeAll(async () => {
    am = await startAlertmanager();
    kube = await new FakeKubeApi({
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2 },
        { name: 'notification', replicas: 2, protected: true },
      ],
      msPerSecond: 40,
      readyDelayMs: 60,
      statusLagMs: 15,
      outsideServices: { [SERVICE]: am.url },
    }).start();
    orders = await startOrderEndpoint(kube.shop);
    dir = await mkdtemp(join(tmpdir(), 'chaos-silences-'));
  });
  afterAll(async () => {
    await kube?.stop();
    await orders?.close();
    await am?.stop();
    for (const r of results) await cleanup(r);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds an active silence during the fault, judges the suppressed alert as fired, and expires the silence after', async () => {
    const file = await experiment(
      'silenced',
      'alerts: { expected: [DeploymentReplicasNotReady], within: 20s }',
    );
    let during: Silence[] = [];
    let alertState = '';
    const [result] = await Promise.all([
      run(['run', file, '--seed', 's1']),
      podKilled().then(async () => {
        during = await ours('DeploymentReplicasNotReady');
        await am.post([
          { labels: { alertname: 'DeploymentReplicasNotReady', namespace: 'shop', test: 's1' } },
        ]);
        const alerts = (await (
          await fetch(`${am.url}/api/v2/alerts?silenced=true&filter=test%3D%22s1%22`)
        ).json()) as Array<{ status: { state: string; silencedBy: string[] } }>;
        alertState = `${alerts[0]?.status.state} by ${alerts[0]?.status.silencedBy.join(',')}`;
      }),
    ]);
    expect(result.code === 0 ? 'exit 0' : result.out).toBe('exit 0');
    // During the fault: one active silence on the expected alert, made by the engine, naming the run.
    expect(during).toHaveLength(1);
    const [silence] = during;
    expect(silence!.status.state).toBe('active');
    expect(silence!.matchers).toEqual([
      expect.objectContaining({ name: 'alertname', value: 'DeploymentReplicasNotReady', isRegex: false }),
    ]);
    expect(silence!.comment).toMatch(/^chaos run silenced \(seed s1, started /);
    expect(alertState).toBe(`suppressed by ${silence!.id}`);
    // The alert still counts: silenced only stops the notification.
    expect(result.out).toMatch(/expected alerts fired\s+PASS/);
    // After the run: expired, and the report names it.
    expect((await ours('DeploymentReplicasNotReady')).map((s) => [s.id, s.status.state])).toEqual([
      [silence!.id, 'expired'],
    ]);
    const report = await result.report();
    expect(report.alerts?.silenced?.silences.map((s) => [s.id, s.alertname, typeof s.expiredAt])).toEqual([
      [silence!.id, 'DeploymentReplicasNotReady', 'string'],
    ]);
    expect(result.out).toContain(`silence ${silence!.id} on DeploymentReplicasNotReady, expired at `);
  });

  it('expires the silence when the run is interrupted during the fault', async () => {
    const file = await experiment('interrupted', 'alerts: { expected: [ServiceDegraded], within: 30s }');
    const abort = new AbortController();
    let during: Silence[] = [];
    const [result] = await Promise.all([
      run(['run', file, '--seed', 's2'], abort.signal),
      podKilled().then(async () => {
        during = await ours('ServiceDegraded');
        abort.abort();
      }),
    ]);
    expect(result.out).toContain('interrupted');
    expect(during.map((s) => s.status.state)).toEqual(['active']);
    expect((await ours('ServiceDegraded')).map((s) => [s.id, s.status.state])).toEqual([
      [during[0]!.id, 'expired'],
    ]);
  });

  it('records why nothing was silenced when Alertmanager cannot be reached, and the run goes on', async () => {
    const closed = await freePort();
    const lines: string[] = [];
    const handle = await silenceExpected(
      { expected: ['ServiceDegraded'], silent: [], within: 1_000 },
      {
        api: () => Promise.resolve(httpSilenceApi(`http://127.0.0.1:${closed}`)),
        run: 'test',
        maxMs: 60_000,
        now: Date.now,
        log: (_type, message) => lines.push(message),
      },
    );
    expect(handle.result.silences).toEqual([]);
    expect(handle.result.notCreated).toContain(`Alertmanager at http://127.0.0.1:${closed} is not reachable`);
    await handle.expire();
    expect(lines.join('\n')).toContain('expected alerts not silenced');
  });
});
