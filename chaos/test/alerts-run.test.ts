// The alerts objectives through the whole `chaos run` path: the Kubernetes API double, the chart's
// Alertmanager behind its Service proxy played by a REAL Alertmanager, alerts posted as Prometheus would.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ALERTMANAGER_SERVICE } from '../src/targets/kubernetes-target.ts';
import { freePort, startAlertmanager, type TestAlertmanager } from './support/alertmanager.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';
import { startOrderEndpoint, type OrderEndpoint } from './support/order-endpoint.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

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

  const run = async (args: string[]): Promise<CliResult> => {
    const result = await runCli(['--target', 'kubernetes', '--url', orders.url, '--yes', ...args], {
      kubeConfig: () => kube.kubeConfig('kind-test'),
    });
    results.push(result);
    return result;
  };

  /** Posts the alert once the double saw the pod deletion: "the kill made it fire". */
  const fireAfterKill = (alertname: string, test: string): Promise<void> => {
    const deletes = kube.requests.filter((r) => r.method === 'DELETE').length;
    return waitFor(
      'the pod kill',
      () => kube.requests.filter((r) => r.method === 'DELETE').length > deletes,
      20_000,
    ).then(() => am.post([{ labels: { alertname, namespace: 'shop', severity: 'warning', test } }]));
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
    dir = await mkdtemp(join(tmpdir(), 'chaos-alerts-'));
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
});
