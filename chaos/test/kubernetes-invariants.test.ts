import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { InvariantsResult } from '../src/steps/invariants.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { startOrderEndpoint, type OrderEndpoint } from './support/order-endpoint.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

describe('the data invariants of a chaos run against Kubernetes (fake API server test double)', () => {
  let kube: FakeKubeApi;
  let orders: OrderEndpoint;
  const results: CliResult[] = [];

  beforeAll(async () => {
    kube = await new FakeKubeApi({
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2 },
        { name: 'notification', replicas: 2, protected: true },
      ],
      msPerSecond: 40,
      readyDelayMs: 60,
      statusLagMs: 15,
      shop: { stock: { 'p-001': 500, 'p-002': 500 }, pageSize: 4 },
    }).start();
    orders = await startOrderEndpoint(kube.shop);
  });
  afterAll(async () => {
    await kube.stop();
    await orders.close();
    for (const r of results) await cleanup(r);
  });

  it('fails the verdict (exit 1) and lists a reservation held for a failed order in report.json', async () => {
    // An order placed and confirmed, then failed by a faulty sweeper that forgot to release its stock.
    const placed = await fetch(`${orders.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { email: 'a@b.c' }, items: [{ productId: 'p-002', quantity: 3 }] }),
    });
    expect(placed.status).toBe(201);
    const { id } = (await placed.json()) as { id: string };
    kube.shop.failWithoutRelease(id);

    const result = await runCli(
      [
        '--target',
        'kubernetes',
        '--url',
        orders.url,
        'run',
        'pod-kill',
        '--rounds',
        '1',
        '--workload',
        'order',
        '--load-rate',
        '20',
        '--yes',
      ],
      { kubeConfig: () => kube.kubeConfig('kind-test'), env: {} },
    );
    results.push(result);

    expect(result.code).toBe(1);
    const report = await result.report();
    // the kill recovered and the orders succeeded: the invariants alone fail the verdict
    expect(report.rounds[0].outcome).toBe('recovered');
    expect(report.load.total!.failed).toBe(0);
    // (pod-kill's alerts are "not checked" here: the double runs no Alertmanager; not a failure.)
    const failing = report.verdict.objectives.filter((o) => !o.passed && !o.notChecked);
    expect(failing.map((o) => o.name)).toEqual(['data invariants hold']);
    expect(report.verdict.reasons.join(' ')).toContain('1 invariant violations');

    // the one violation planted, and nothing else: the orders of the run are consistent
    const invariants = report.invariants as InvariantsResult;
    expect(invariants.checked).toBe(true);
    expect(invariants.settled).toBe(true);
    expect(invariants.violations).toEqual([
      { kind: 'reservation-for-settled-order', subject: id, detail: expect.stringContaining('failed') },
    ]);
    expect(invariants.violations[0].detail).toContain('3 units');
    expect(invariants.counts!.orders).toBe(kube.shop.orderCount);
    expect(invariants.counts!.acknowledged).toBeGreaterThan(0);
    expect(result.out).toContain(`reservation-for-settled-order ${id}`);
    const junit = await result.file('junit.xml');
    expect(junit).toContain('reservation-for-settled-order');
  });
});
