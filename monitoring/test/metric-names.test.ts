// Dashboards and alert rules use only the metric names of README "Metrics" (a contract with the
// services and the local runtime), histogram series of those, and the rules' own recorded series.
import { describe, expect, it } from '@jest/globals';
import {
  allowedNames,
  dashboardFiles,
  dashboardQueries,
  loadDashboard,
  loadRules,
  metricNames,
  readmeMetrics,
} from './promql.ts';

const contract = readmeMetrics();
const rules = loadRules().groups.flatMap((g) => g.rules);
const recorded = rules.flatMap((r) => (r.record ? [r.record] : []));
const allowed = allowedNames(contract, recorded);

const queries = [
  ...rules.map((r) => ({ where: `rule ${r.record ?? r.alert}`, expr: r.expr })),
  ...dashboardFiles.flatMap((file) =>
    dashboardQueries(loadDashboard(file)).map((q) => ({ ...q, where: `${file} ${q.where}` })),
  ),
];

describe('the metric name contract', () => {
  it('reads the README list: the services table, the runtime and the chaos metrics', () => {
    for (const name of [
      'http_server_request_duration_seconds',
      'orders_total',
      'outbox_pending',
      'resilience_circuit_state',
    ]) {
      expect(contract.has(name)).toBe(true);
    }
    expect(contract.get('http_server_request_duration_seconds')?.type).toBe('histogram');
    expect(contract.get('orders_total')?.values.outcome).toEqual([
      'confirmed',
      'rejected',
      'failed',
      'cancelled',
    ]);
    expect(contract.get('kube_deployment_spec_replicas')?.labels).toEqual(['namespace', 'deployment']);
    expect(contract.get('chaos_mttr_seconds')?.labels).toEqual(['experiment', 'quantile']);
  });

  it('finds the metric names of an expression, and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (service, le) (rate(http_server_request_duration_seconds_bucket{service=~"$service", route="/a b"}[$__rate_interval])))',
      ),
    ).toEqual(['http_server_request_duration_seconds_bucket']);
    expect(
      metricNames(
        'max by (namespace, deployment) (kube_deployment_status_replicas_ready) < on (x) group_left(y) up offset 5m',
      ),
    ).toEqual(['kube_deployment_status_replicas_ready', 'up']);
    expect(metricNames('slo:orders_error_ratio:rate1h > (14.4 * 0.005) and time() - 1e3 > 0')).toEqual([
      'slo:orders_error_ratio:rate1h',
    ]);
  });

  it('covers every panel and rule (the extraction finds queries)', () => {
    expect(queries.length).toBeGreaterThan(40);
    for (const { where, expr } of queries)
      expect({ where, names: metricNames(expr).length > 0 }).toEqual({ where, names: true });
  });

  it('dashboards and rules read only README metrics and recorded series', () => {
    const unknown = queries.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !allowed.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('label matchers on contract metrics use README labels and values', () => {
    const targetLabels = new Set(['service', 'pod', 'namespace', 'job', 'instance']);
    const problems: string[] = [];
    for (const { where, expr } of queries) {
      for (const selector of expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
        const base = selector[1].replace(/_(bucket|count|sum)$/, '');
        const metric = contract.get(selector[1]) ?? contract.get(base);
        if (!metric) continue;
        for (const m of selector[2].matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
          const [, label, op, value] = m;
          if (label === 'le') continue;
          if (!metric.labels.includes(label) && !targetLabels.has(label))
            problems.push(`${where}: ${metric.name} has no label ${label}`);
          const known = metric.values[label];
          if (known && !value.includes('$')) {
            const wanted = op === '=' || op === '!=' ? [value] : value.split('|');
            for (const v of wanted)
              if (!known.includes(v)) problems.push(`${where}: ${metric.name}{${label}} has no value ${v}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
