// The alerts objectives through the whole `chaos run` path: the Kubernetes API double, the chart's
// Alertmanager behind its Service proxy played by a REAL Alertmanager, alerts posted as Prometheus would.
// A run silences the alerts it expects while the fault runs and expires the silences after (issue 14).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ALERTMANAGER_SERVICE } from '../src/targets/kubernetes-target.ts';
import { freePort, startAlertmanager, type TestAlertmanager } from './support/alertmanager.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';
import { startOrderEndpoint, type OrderEndpoint } from './support/order-endpoint.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

/** The fields of an Alertmanager API v2 silence read here. */
interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual?: boolean }>;
  createdBy: string;
  comment: string;
}

const SERVICE = `${ALERTMANAGER_SERVICE.namespace}/${ALERTMANAGER_SERVICE.name}:${ALERTMANAGER_SERVICE.port}`;

describe('chaos run judges the declared alerts (API double + real Alertmanager)', () => {
  let am: TestAlertmanager;
  let kube: FakeKubeApi;
  let orders: OrderEndpoint;
  let dir: string;
  const results: CliResult[] = [];

  /** A one-round pod-kill of order with the given `alerts:` block. */
  async function experiment(name: string, alerts: string): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `name: ${name}`,
        'description: one order pod killed, alerts judged',
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

  /** Resolves once the double saw the next pod deletion (the round's kill). */
  const podKilled = async (): Promise<void> => {
    const deletes = kube.requests.filter((r) => r.method === 'DELETE').length;
    await waitFor(
      'the pod kill',
      () => kube.requests.filter((r) => r.method === 'DELETE').length > deletes,
      20_000,
    );
  };

  /** Posts the alert once the double saw the pod deletion: "the kill made it fire". */
  const fireAfterKill = (alertname: string, test: string): Promise<void> =>
    podKilled().then(() =>
      am.post([{ labels: { alertname, namespace: 'shop', severity: 'warning', test } }]),
    );

  /** Alertmanager API v2 `GET /api/v2/silences`: the engine's silences of one experiment's runs. */
  const ours = async (experimentName: string): Promise<Silence[]> =>
    ((await (await fetch(`${am.url}/api/v2/silences`)).json()) as Silence[]).filter(
      (s) => s.createdBy === 'chaos-engine' && s.comment.startsWith(`chaos run ${experimentName} (`),
    );

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
    dir = await mkdtemp(join(tmpdir(), 'chaos-alerts-'));
  });
  // Each run starts from the steady state, whatever the test before it killed.
  beforeEach(async () => {
    await waitFor('every workload at strength, no pod terminating', () => kube.atFullStrength());
  });
  afterAll(async () => {
    await kube?.stop();
    await orders?.close();
    await am?.stop();
    for (const r of results) await cleanup(r);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes when the expected alert fires after the kill, read through the Service proxy without the admin token', async () => {
    const file = await experiment(
      'expects',
      'alerts: { expected: [DeploymentReplicasNotReady], within: 20s }',
    );
    const [result] = await Promise.all([
      run(['run', file, '--seed', 'a']),
      fireAfterKill('DeploymentReplicasNotReady', 'run-expected'),
    ]);
    expect(result.err).toBe('');
    expect(result.code === 0 ? 'exit 0' : result.out).toBe('exit 0');
    expect(result.out).toMatch(/expected alerts fired\s+PASS/);
    const report = await result.report();
    expect(report.alerts?.fired.map((a) => [a.name, a.labels['test']])).toEqual([
      ['DeploymentReplicasNotReady', 'run-expected'],
    ]);
    expect(report.alerts?.source).toContain(ALERTMANAGER_SERVICE.name);
    expect(await result.file('junit.xml')).toMatch(
      /name="expected alerts fired" time="[\d.]+">\s*<system-out>[^<]*<\/system-out>\s*<\/testcase>/,
    );
    const reads = kube.outsideRequests.filter((r) => r.service === SERVICE);
    expect(reads.length).toBeGreaterThan(1);
    // The silence on the expected alert first (alert-silences.test.ts), then the reads of the alerts.
    expect(reads.map((r) => r.path).filter((p) => !p.startsWith('/api/v2/silence'))[0]).toBe(
      '/api/v2/alerts?active=true&silenced=true&inhibited=true',
    );
    expect(reads.some((r) => 'x-admin-token' in r.headers || 'authorization' in r.headers)).toBe(false);
  });

  it('fails with exit 1 when an alert that must stay silent fires during the run', async () => {
    const file = await experiment(
      'keeps-silent',
      'alerts: { silent: [OrderSLOErrorBudgetBurnFast], within: 5s }',
    );
    const [result] = await Promise.all([
      run(['run', file, '--seed', 'b']),
      fireAfterKill('OrderSLOErrorBudgetBurnFast', 'run-silent'),
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      'verdict: FAILED: OrderSLOErrorBudgetBurnFast fired although the experiment must leave it silent',
    );
    expect(await result.file('junit.xml')).toMatch(/name="silent alerts stayed silent"[^>]*>\s*<failure/);
  });

  it('fails with exit 1 when the expected alert never fires within the window', async () => {
    const file = await experiment('never-fires', 'alerts: { expected: [ServiceDegraded], within: 2s }');
    const result = await run(['run', file, '--seed', 'c']);
    expect(result.code).toBe(1);
    expect(result.out).toContain('ServiceDegraded did not fire within 2.00s of the action');
  });

  it('reports "not checked" (exit 0) without a reachable Alertmanager, and fails with --require-alerts', async () => {
    const closed = await freePort();
    const file = await experiment('no-alertmanager', 'alerts: { expected: [ServiceDegraded], within: 2s }');
    const result = await run([
      'run',
      file,
      '--seed',
      'd',
      '--alertmanager-url',
      `http://127.0.0.1:${closed}`,
    ]);
    expect(result.code === 0 ? 'exit 0' : result.out).toBe('exit 0');
    expect(result.out).toMatch(/expected alerts fired\s+NOT CHECKED\s/);
    expect(result.out).toContain(
      `alerts not checked: Alertmanager at http://127.0.0.1:${closed} is not reachable`,
    );
    expect(await result.file('junit.xml')).toMatch(
      /name="expected alerts fired"[^>]*>\s*<skipped message="alerts not checked/,
    );
    expect((await result.report()).alerts?.checked).toBe(false);

    const required = await run([
      'run',
      file,
      '--seed',
      'd',
      '--alertmanager-url',
      `http://127.0.0.1:${closed}`,
      '--require-alerts',
    ]);
    expect(required.code).toBe(1);
    expect(required.out).toMatch(/verdict: FAILED: alerts not checked: .*\(--require-alerts\)/);
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
        during = await ours('silenced');
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
    expect((await ours('silenced')).map((s) => [s.id, s.status.state])).toEqual([[silence!.id, 'expired']]);
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
        during = await ours('interrupted');
        abort.abort();
      }),
    ]);
    expect(result.out).toContain('interrupted');
    expect(during.map((s) => s.status.state)).toEqual(['active']);
    expect((await ours('interrupted')).map((s) => [s.id, s.status.state])).toEqual([
      [during[0]!.id, 'expired'],
    ]);
  });
});
