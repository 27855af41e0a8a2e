import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import type { VerifyReport } from '../src/verify/verify.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { waitFor } from './support/kube/wait.ts';
import { ROOT } from './support/local-runtime.ts';
import {
  startGrafanaDouble,
  startPrometheusDouble,
  type FakeTarget,
  type GrafanaDouble,
  type PrometheusDouble,
} from './support/monitoring-apis.ts';
import { startOrderEndpoint, type OrderEndpoint } from './support/order-endpoint.ts';
import { cleanup, runCli, type CliResult } from './support/run-cli.ts';

// What k8s/base/monitoring and monitoring/dashboards define (the spec the checks hold the cluster to).
const RULE_GROUPS = [
  'self-healing-shop.http.recording',
  'self-healing-shop.slo.recording',
  'self-healing-shop.alerts',
];
const DASHBOARDS = [
  { uid: 'shs-platform-overview', title: 'Self-healing shop / Platform overview' },
  { uid: 'shs-resilience', title: 'Self-healing shop / Resilience' },
];
const GRAFANA = { user: 'admin', password: 'shop-admin' };
const POOL = 'serviceMonitor/shop/self-healing-shop/0';
const CHECKS = [
  'rollouts',
  'metrics-server',
  'prometheus targets',
  'prometheus rules',
  'grafana dashboards',
  'order round trip',
  'pod-kill round',
];

const b64 = (text: string): string => Buffer.from(text).toString('base64');

async function manifest(file: string): Promise<unknown> {
  return parse(await readFile(join(ROOT, 'k8s/base/monitoring', file), 'utf8'));
}

function healthyTargets(): FakeTarget[] {
  return ['order', 'inventory', 'notification'].flatMap((service) =>
    [1, 2].map((n) => ({
      job: service,
      service,
      pod: `${service}-${n}`,
      scrapePool: POOL,
      health: 'up' as const,
    })),
  );
}

describe('chaos verify --target kubernetes (API server double, Prometheus and Grafana HTTP doubles)', () => {
  let kube: FakeKubeApi;
  let orders: OrderEndpoint;
  let prometheus: PrometheusDouble;
  let grafana: GrafanaDouble;
  const results: CliResult[] = [];

  const verify = async (args: string[], env: Record<string, string> = {}) => {
    const result = await runCli(
      [
        'verify',
        '--target',
        'kubernetes',
        '--url',
        orders.url,
        '--prometheus-url',
        prometheus.url,
        '--grafana-url',
        grafana.url,
        ...args,
      ],
      { kubeConfig: () => kube.kubeConfig('kind-test'), env },
    );
    results.push(result);
    return result;
  };
  /** The checks without the kill round, each given one look (--wait 1s). */
  const quick = (env?: Record<string, string>) => verify(['--no-kill', '--wait', '1s', '--json'], env);
  const reportOf = (result: CliResult): VerifyReport => JSON.parse(result.out) as VerifyReport;

  beforeAll(async () => {
    prometheus = await startPrometheusDouble({
      targets: healthyTargets(),
      groups: RULE_GROUPS.map((name) => ({ name, rules: 4 })),
    });
    kube = await new FakeKubeApi({
      // The chart's Prometheus Service, for the check that reads it through the API server's proxy.
      outsideServices: { 'monitoring/kube-prometheus-stack-prometheus:9090': prometheus.url },
      deployments: [
        { name: 'order', replicas: 2 },
        { name: 'inventory', replicas: 2 },
        { name: 'notification', replicas: 2 },
        { name: 'postgres', kind: 'StatefulSet', replicas: 1, protected: true, servicePortName: 'postgres' },
      ],
      msPerSecond: 40,
      readyDelayMs: 60,
      statusLagMs: 15,
      metricsServer: 'serving',
      resources: {
        '/apis/monitoring.coreos.com/v1/namespaces/shop/servicemonitors': {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'ServiceMonitorList',
          metadata: {},
          items: [await manifest('servicemonitor.yaml')],
        },
        '/apis/monitoring.coreos.com/v1/namespaces/shop/prometheusrules': {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'PrometheusRuleList',
          metadata: {},
          items: [await manifest('prometheusrule.yaml')],
        },
        // The Grafana subchart's admin Secret (values: adminUser/adminPassword).
        '/api/v1/namespaces/monitoring/secrets/kube-prometheus-stack-grafana': {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'kube-prometheus-stack-grafana', namespace: 'monitoring' },
          type: 'Opaque',
          data: { 'admin-user': b64(GRAFANA.user), 'admin-password': b64(GRAFANA.password), 'ldap-toml': '' },
        },
      },
    }).start();
    orders = await startOrderEndpoint(kube.shop);
    grafana = await startGrafanaDouble({ ...GRAFANA, dashboards: [...DASHBOARDS] });
  });
  afterEach(async () => {
    // Each test breaks one thing; the next starts from the healthy cluster.
    prometheus.targets = healthyTargets();
    prometheus.groups = RULE_GROUPS.map((name) => ({ name, rules: 4 }));
    grafana.dashboards = [...DASHBOARDS];
    kube.metricsServer = 'serving';
    await waitFor(
      'every Deployment back at 2 ready replicas',
      () => ['order', 'inventory', 'notification'].every((name) => kube.readyReplicas(name) === 2),
      5000,
    );
  });
  afterAll(async () => {
    await kube.stop();
    await orders.close();
    await prometheus.close();
    await grafana.close();
    for (const r of results) await cleanup(r);
  });

  it('passes every check on a healthy cluster, one line each, the pod-kill round included', async () => {
    const before = kube.shop.orderCount;
    const grafanaBefore = grafana.requests.length;
    const result = await verify(['--yes', '--load-rate', '10', '--seed', 'verify']);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const lines = result.out.split('\n');
    for (const name of CHECKS)
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^✓ ${name}: `)));
    expect(result.out).toContain(
      '✓ prometheus targets: ServiceMonitor self-healing-shop 6/6 up (order 2, inventory 2, notification 2)',
    );
    expect(result.out).toContain('✓ prometheus rules: 3/3 groups loaded (12 rules)');
    expect(result.out).toMatch(
      /✓ pod-kill round: killed (order|inventory|notification)-\S+ .*full strength after [\d.]+ s \(SLO 30\.00 s\)/,
    );
    expect(lines.at(-1)).toBe('verify: 7/7 checks passed');
    // The order was really placed, and Grafana was asked with the Secret's credentials.
    expect(kube.shop.orderCount).toBeGreaterThan(before);
    const basic = `Basic ${b64(`${GRAFANA.user}:${GRAFANA.password}`)}`;
    // (this run's requests only: another test sends wrong credentials on purpose)
    const ours = grafana.requests.slice(grafanaBefore);
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.every((r) => r.authorization === basic)).toBe(true);
    // A kill really happened: the pod-kill round went through the API server.
    expect(kube.requests.some((r) => r.method === 'DELETE' && r.path.includes('/pods/'))).toBe(true);
  });

  it('rejects bad options with exit 2 and the usage', async () => {
    const bare = await verify(['--no-kill', '--wait', '5']);
    expect(bare.code).toBe(2);
    expect(bare.err).toContain('--wait');
    const extra = await verify(['--no-kill', 'now']);
    expect(extra.code).toBe(2);
    expect(extra.err).toContain('unexpected arguments: now');
  });

  it('refuses the pod-kill round on a cluster without --yes, touching nothing', async () => {
    const result = await verify([]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/--yes/);
  });

  it('fails "prometheus targets" when a target is down, naming it and its error', async () => {
    prometheus.targets[2] = {
      ...prometheus.targets[2]!,
      health: 'down',
      lastError: 'context deadline exceeded',
    };
    const result = await quick();
    expect(result.code).toBe(1);
    const report = reportOf(result);
    expect(report.failed).toEqual(['prometheus targets']);
    const check = report.checks.find((c) => c.name === 'prometheus targets')!;
    expect(check.seen).toContain('inventory/inventory-1 down (context deadline exceeded)');
    expect(check.next).toContain('/targets');
  });

  it('fails "prometheus targets" when a service selected by the ServiceMonitor has no target', async () => {
    prometheus.targets = prometheus.targets.filter((t) => t.service !== 'notification');
    const report = reportOf(await quick());
    expect(report.failed).toEqual(['prometheus targets']);
    expect(report.checks.find((c) => c.name === 'prometheus targets')!.seen).toContain(
      'no target for notification',
    );
  });

  it('fails "prometheus rules" when a PrometheusRule group is not loaded', async () => {
    prometheus.groups = prometheus.groups.filter((g) => g.name !== 'self-healing-shop.alerts');
    const result = await quick();
    expect(result.code).toBe(1);
    const report = reportOf(result);
    expect(report.failed).toEqual(['prometheus rules']);
    expect(report.checks.find((c) => c.name === 'prometheus rules')!.seen).toBe(
      '2/3 groups loaded; missing: self-healing-shop.alerts',
    );
  });

  it('fails "grafana dashboards" when a dashboard is missing', async () => {
    grafana.dashboards = grafana.dashboards.filter((d) => d.uid !== 'shs-resilience');
    const report = reportOf(await quick());
    expect(report.failed).toEqual(['grafana dashboards']);
    expect(report.checks.find((c) => c.name === 'grafana dashboards')!.seen).toContain(
      'missing: "Self-healing shop / Resilience" (uid shs-resilience)',
    );
  });

  it('fails "grafana dashboards" with Grafana\'s 401 when the credentials are wrong', async () => {
    const report = reportOf(await quick({ GRAFANA_USER: 'admin', GRAFANA_PASSWORD: 'wrong' }));
    expect(report.failed).toEqual(['grafana dashboards']);
    expect(report.checks.find((c) => c.name === 'grafana dashboards')!.seen).toContain('answered 401');
  });

  it('fails "rollouts" when a replica is unready, naming the workload', async () => {
    const pod = kube.pods('order')[0]!.metadata.name;
    kube.setReady(pod, false);
    try {
      const deadline = Date.now() + 5000;
      while (kube.readyReplicas('order') !== 1 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const result = await quick();
      expect(result.code).toBe(1);
      const report = reportOf(result);
      expect(report.failed).toEqual(['rollouts']);
      const check = report.checks.find((c) => c.name === 'rollouts')!;
      expect(check.seen).toContain('not complete: order');
      expect(check.seen).toContain('order 1/2');
      expect(check.next).toContain('rollout status deployment/order');
    } finally {
      kube.setReady(pod, true);
    }
  });

  it('fails "metrics-server" when metrics.k8s.io is not served (kind installs none)', async () => {
    kube.metricsServer = 'absent';
    let report = reportOf(await quick());
    expect(report.failed).toEqual(['metrics-server']);
    const check = report.checks.find((c) => c.name === 'metrics-server')!;
    expect(check.seen).toContain('HTTP 404');
    expect(check.next).toContain('kind.sh metrics-server');
    kube.metricsServer = 'unavailable';
    report = reportOf(await quick());
    expect(report.failed).toEqual(['metrics-server']);
    expect(report.checks.find((c) => c.name === 'metrics-server')!.seen).toContain('HTTP 503');
  });

  it("reads Prometheus through the API server's Service proxy without --prometheus-url", async () => {
    const result = await runCli(
      [
        'verify',
        '--target',
        'kubernetes',
        '--url',
        orders.url,
        '--grafana-url',
        grafana.url,
        '--no-kill',
        '--json',
      ],
      { kubeConfig: () => kube.kubeConfig('kind-test'), env: {} },
    );
    results.push(result);
    expect(result.code).toBe(0);
    const proxied = kube.outsideRequests.filter(
      (r) => r.service === 'monitoring/kube-prometheus-stack-prometheus:9090',
    );
    expect(proxied.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/api/v1/targets?state=active', '/api/v1/rules']),
    );
    // Neither the API server's credential nor the services' admin token reaches Prometheus.
    for (const r of proxied) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['x-admin-token']).toBeUndefined();
    }
  });

  it('prints the failed checks on the last line and exits 1 (text output)', async () => {
    prometheus.groups = [];
    grafana.dashboards = [];
    const result = await verify(['--no-kill', '--wait', '1s']);
    expect(result.code).toBe(1);
    const lines = result.out.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^✗ prometheus rules: 0\/3 groups loaded/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {4}→ /));
    expect(lines).toContainEqual('– pod-kill round: not run (--no-kill)');
    expect(lines.at(-1)).toBe('verify: FAILED 2/7: prometheus rules, grafana dashboards');
  });
});
