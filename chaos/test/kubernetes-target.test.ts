import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { InvariantsResult } from '../src/steps/invariants.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';
import { startOrderEndpoint, type OrderEndpoint } from './support/order-endpoint.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

describe('chaos run against Kubernetes (fake API server test double, real @kubernetes/client-node)', () => {
  let kube: FakeKubeApi;
  let orders: OrderEndpoint;
  const results: CliResult[] = [];
  const run = async (
    args: string[],
    env: Record<string, string> = {},
    context = 'kind-test',
  ): Promise<CliResult> => {
    const result = await runCli(['--target', 'kubernetes', '--url', orders.url, ...args], {
      kubeConfig: () => kube.kubeConfig(context),
      env,
    });
    results.push(result);
    return result;
  };

  beforeAll(async () => {
    kube = await new FakeKubeApi({
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2, minAvailable: 2 },
        { name: 'notification', replicas: 2, protected: true },
        { name: 'postgres', kind: 'StatefulSet', replicas: 1, protected: true, servicePortName: 'postgres' },
      ],
      // One second of grace period lasts 40 ms here: a killed pod (grace 1 s, the kubelet's 2 s
      // minimum) terminates for 80 ms while its replacement (ready after 60 ms) starts.
      msPerSecond: 40,
      readyDelayMs: 60,
      statusLagMs: 15,
      // Small audit pages, so that the invariants check reads every list over several pages.
      shop: { pageSize: 7 },
    }).start();
    orders = await startOrderEndpoint(kube.shop);
  });
  // Each test starts from the steady state, whatever an earlier test killed or marked unready: every
  // workload at strength and no pod still terminating.
  beforeEach(async () => {
    await waitFor('every workload at strength, no pod terminating', () => kube.atFullStrength());
  });
  afterAll(async () => {
    await kube.stop();
    await orders.close();
    for (const r of results) await cleanup(r);
  });

  it('kills one pod per round, follows each kill to full strength and passes', async () => {
    const before = new Set(kube.pods().map((p) => p.metadata.uid));
    const eventsBefore = kube.events.length;
    const result = await run(
      [
        'run',
        'pod-kill',
        '--rounds',
        '3',
        '--interval',
        '50ms',
        '--seed',
        'seven',
        '--load-rate',
        '20',
        '--yes',
      ],
      {},
    );
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const report = await result.report();
    expect(report.verdict.passed).toBe(true);
    expect(report.rounds).toHaveLength(3);
    for (const round of report.rounds) {
      expect(round.outcome).toBe('recovered');
      expect(['order', 'inventory']).toContain(round.workload);
      const t = round.timeline!;
      expect(t.kills).toHaveLength(1);
      const kill = t.kills[0];
      expect(
        before.has(kill.uid) ||
          report.rounds.some((r) => r.timeline!.replacements.some((x) => x.uid === kill.uid)),
      ).toBe(true);
      const replacement = t.replacements[0];
      expect(replacement.uid).not.toBe(kill.uid);
      // Order of events as a ReplicaSet makes them: the kill is sent, the pod turns Terminating, the
      // replacement is created AT ONCE while the old pod still terminates, then the old pod is gone;
      // the replacement gets ready, and only then the Deployment counts as at full strength.
      expect(kill.method).toBe('delete (grace period 1 s)');
      expect(kill.terminatingAt!).toBeGreaterThanOrEqual(kill.sentAt);
      expect(replacement.createdAt).toBeGreaterThanOrEqual(kill.terminatingAt!);
      expect(kill.goneAt!).toBeGreaterThanOrEqual(replacement.createdAt);
      expect(replacement.readyAt!).toBeGreaterThanOrEqual(replacement.createdAt);
      expect(t.fullStrengthAt!).toBeGreaterThanOrEqual(replacement.readyAt!);
      expect(t.fullStrengthAt!).toBeGreaterThanOrEqual(kill.goneAt!);
      expect(t.mttrMs!).toBe(t.fullStrengthAt! - kill.sentAt);
    }
    expect(report.mttr.summary.count).toBe(3);
    expect(report.mttr.summary.min).toBeLessThanOrEqual(report.mttr.summary.p50);
    expect(report.mttr.summary.p95).toBeLessThanOrEqual(report.mttr.summary.max);
    expect(report.kills).toBe(3);
    expect(report.load.total!.sent).toBeGreaterThan(0);
    expect(report.load.total!.failed).toBe(0);
    // the data invariants were read through the Service proxy on the quiet platform, and hold
    const invariants = report.invariants as InvariantsResult;
    expect(invariants).toMatchObject({ checked: true, settled: true, violations: [] });
    expect(invariants.counts!.acknowledged).toBeGreaterThanOrEqual(report.load.total!.succeeded);
    expect(invariants.counts!.orders).toBe(kube.shop.orderCount);
    expect(invariants.counts!.products).toBe(10);
    expect(invariants.counts!.reservations).toBe(kube.shop.orderCount);
    expect(report.verdict.objectives.find((o) => o.name === 'data invariants hold')?.passed).toBe(true);
    // more than one page of orders and of reservations: the reader followed nextCursor through the proxy
    for (const list of [
      'order:http/proxy/admin/audit/orders',
      'inventory:http/proxy/admin/audit/reservations',
    ]) {
      const path = `/api/v1/namespaces/shop/services/${list}?`;
      expect(kube.requests.some((r) => r.path.startsWith(path) && r.path.includes('after='))).toBe(true);
    }
    // the protected deployment is never touched
    expect(report.rounds.some((r) => r.workload === 'notification')).toBe(false);
    // a Kubernetes Event on each killed pod
    const killed = report.rounds.map((r) => r.timeline!.kills[0].replica);
    const events = kube.events.slice(eventsBefore);
    expect(events.map((e) => (e.involvedObject as { name: string }).name).sort()).toEqual([...killed].sort());
    expect(events.every((e) => e.reason === 'ChaosPodKill')).toBe(true);
    // every pod the deployments have now is ready and at strength
    expect(kube.pods('order')).toHaveLength(2);
    // reports
    const junit = await result.file('junit.xml');
    expect(junit).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
    expect(junit.match(/<testcase /g)).toHaveLength(3 + report.verdict.objectives.length);
    expect(junit).not.toContain('<failure');
    const metrics = await result.file('metrics.prom');
    expect(metrics).toContain('chaos_kills_total{experiment="pod-kill"} 3');
    expect(metrics).toContain('chaos_verdict{experiment="pod-kill"} 1');
    // The p95 the report measured, in seconds (its size depends on how busy the machine is).
    const p95 = /chaos_mttr_seconds\{experiment="pod-kill",quantile="0.95"\} (\S+)/.exec(metrics)?.[1];
    expect(p95).toBeDefined();
    expect(Number(p95)).toBe(report.mttr.summary.p95 / 1000);
    expect(result.out).toContain('verdict: PASSED');
    expect(report.events.some((e) => e.origin === 'target' && e.type === 'replica-gone')).toBe(true);
  });

  it('the same seed picks the same victims', async () => {
    const a = await run(['run', 'pod-kill', '--rounds', '2', '--seed', 'abc', '--dry-run']);
    const b = await run(['run', 'pod-kill', '--rounds', '2', '--seed', 'abc', '--dry-run']);
    expect(a.code).toBe(0);
    expect(a.out).toContain('kill ');
    expect(a.out).toBe(b.out);
  });

  it('fails with exit 1 and says why when MTTR p95 exceeds a tiny SLO', async () => {
    const result = await run([
      'run',
      'pod-kill',
      '--rounds',
      '1',
      '--mttr-slo',
      '10ms',
      '--seed',
      'x',
      '--yes',
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(
      /MTTR p95 \d+ms exceeds the SLO of 10ms|MTTR p95 [\d.]+s exceeds the SLO of 10ms/,
    );
    const junit = await result.file('junit.xml');
    expect(junit).toContain('<failure message="MTTR p95');
    expect(await result.file('metrics.prom')).toContain('chaos_verdict{experiment="pod-kill"} 0');
  });

  it('refuses a context that is not kind-* unless --allow-context names it', async () => {
    const deletesBefore = kube.requests.filter((r) => r.method === 'DELETE').length;
    const refused = await run(['run', 'pod-kill', '--yes'], {}, 'prod-cluster');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--allow-context prod-cluster');
    const allowed = await run(
      ['run', 'pod-kill', '--dry-run', '--allow-context', 'prod-cluster'],
      {},
      'prod-cluster',
    );
    expect(allowed.code).toBe(0);
    expect(kube.requests.filter((r) => r.method === 'DELETE').length).toBe(deletesBefore);
  });

  it('kills nothing without --yes or CHAOS_CONFIRM=1', async () => {
    const deletesBefore = kube.requests.filter((r) => r.method === 'DELETE').length;
    const refused = await run(['run', 'pod-kill']);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--yes');
    expect(kube.requests.filter((r) => r.method === 'DELETE').length).toBe(deletesBefore);
    const confirmed = await run(['run', 'pod-kill', '--rounds', '1', '--workload', 'order'], {
      CHAOS_CONFIRM: '1',
    });
    expect(confirmed.code).toBe(0);
  });

  it('records an eviction refused by a PodDisruptionBudget (429) and kills nothing', async () => {
    const pods = kube.pods('inventory').map((p) => p.metadata.uid);
    const result = await run([
      'run',
      'pod-kill',
      '--rounds',
      '1',
      '--workload',
      'inventory',
      '--evict',
      '--yes',
    ]);
    const report = await result.report();
    expect(report.rounds[0].outcome).toBe('refused');
    expect(report.rounds[0].reason).toContain('PodDisruptionBudget');
    expect(kube.pods('inventory').map((p) => p.metadata.uid)).toEqual(pods);
    // nothing was measured, so the recovery objective cannot pass
    expect(result.code).toBe(1);
    expect(report.verdict.reasons.join(' ')).toContain('no replica was killed');
  });

  it('evicts through the Eviction API when the budget allows it', async () => {
    const result = await run(['run', 'pod-kill', '--rounds', '1', '--workload', 'order', '--evict', '--yes']);
    expect(result.code).toBe(0);
    const report = await result.report();
    expect(report.rounds[0].timeline!.kills[0].method).toBe('eviction (grace period 1 s)');
    expect(kube.requests.some((r) => r.method === 'POST' && r.path.endsWith('/eviction'))).toBe(true);
  });

  it('never touches a protected workload', async () => {
    const result = await run(['run', 'pod-kill', '--rounds', '1', '--workload', 'notification', '--yes']);
    const report = await result.report();
    expect(report.rounds[0].outcome).toBe('refused');
    expect(report.rounds[0].reason).toContain('protected');
    expect(kube.requests.some((r) => r.method === 'DELETE' && r.path.includes('notification'))).toBe(false);
  });

  it('aborts without harm (exit 2) when the steady state does not hold before the action', async () => {
    const [pod] = kube.pods('order');
    kube.setReady(pod.metadata.name, false);
    try {
      // the Deployment status follows the pod after the controller lag
      await waitFor('order at 1 ready', () => kube.readyReplicas('order') === 1);
      const deletesBefore = kube.requests.filter((r) => r.method === 'DELETE').length;
      const result = await run(['run', 'pod-kill', '--yes']);
      expect(result.code).toBe(2);
      expect(result.out).toContain('steady state not met before the action');
      expect(result.out).toContain('order has 1/2 ready');
      expect(kube.requests.filter((r) => r.method === 'DELETE').length).toBe(deletesBefore);
    } finally {
      kube.setReady(pod.metadata.name, true);
    }
  });
});
