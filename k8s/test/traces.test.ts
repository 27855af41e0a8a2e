// Where traces go on KIND (issue 14, part 2): Jaeger in namespace monitoring, the services' OTLP
// environment pointing at it, the NetworkPolicies admitting the export, Grafana's datasource, and the
// dashboards' latency panels linking to it.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NAMESPACE, SERVICES, TRACES_DATASOURCE_UID, TRACING_ENV } from '@self-healing-shop/contracts';
import { runKindDeploy } from './kind-deploy.ts';
import { repoRoot } from './manifests.ts';
import type { K8sObject } from './manifests.ts';
import { allowed } from './network-policy.ts';

const deploy = runKindDeploy();
if (deploy.status !== 0) throw new Error(`kind.sh deploy failed: ${deploy.stderr}`);
const objects = deploy.objects;
const find = (kind: string, name: string, namespace: string): K8sObject => {
  const found = objects.find(
    (o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace,
  );
  if (!found) throw new Error(`kind.sh deploy applies no ${kind} ${namespace}/${name}`);
  return found;
};
const jaeger = find('Deployment', 'jaeger', 'monitoring');
const jaegerService = find('Service', 'jaeger', 'monitoring');
const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
const envOf = (service: string): Record<string, string | undefined> =>
  Object.fromEntries(
    find('Deployment', service, NAMESPACE).spec.template.spec.containers[0].env.map(
      (e: { name: string; value?: string }) => [e.name, e.value],
    ),
  );

describe('the trace backend on KIND', () => {
  it('runs Jaeger v2 (pinned, not latest) with OTLP/HTTP on 4318, in memory, configured to listen beyond localhost', () => {
    const container = jaeger.spec.template.spec.containers[0];
    expect(container.image).toMatch(/^jaegertracing\/jaeger:2\.\d+\.\d+$/);
    const config = parse(find('ConfigMap', 'jaeger-config', 'monitoring').data['config.yaml']);
    expect(config.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(config.extensions.jaeger_storage.backends.memstore).toEqual({
      memory: { max_traces: expect.any(Number) },
    });
    expect(config.extensions.jaeger_query.http.endpoint).toBe('0.0.0.0:16686');
    expect(config.service.pipelines.traces).toEqual({
      receivers: ['otlp'],
      processors: ['batch'],
      exporters: ['jaeger_storage_exporter'],
    });
    expect(container.args).toEqual(['--config=/etc/jaeger/config.yaml']);
    expect(jaeger.spec.template.metadata.labels['chaos.self-healing-shop/protected']).toBe('true');
  });

  it('gives every service the OTLP endpoint of the Jaeger Service and its own service name', () => {
    const port = jaegerService.spec.ports.find((p: { name: string }) => p.name === 'otlp-http');
    expect(port.port).toBe(4318);
    for (const service of SERVICES) {
      const env = envOf(service);
      expect(env[TRACING_ENV.endpoint]).toBe('http://jaeger.monitoring.svc:4318');
      expect(env[TRACING_ENV.serviceName]).toBe(service);
    }
  });

  it('lets every service reach Jaeger on 4318, and nothing else there', () => {
    const pod = (service: string) => ({
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/name': service },
      ports: { http: 8080 },
    });
    const target = {
      namespace: 'monitoring',
      labels: jaeger.spec.template.metadata.labels,
      ports: { 'otlp-http': 4318, 'otlp-grpc': 4317, query: 16686 },
    };
    for (const service of SERVICES) {
      expect({ service, otlp: allowed(policies, pod(service), target, 4318) }).toEqual({
        service,
        otlp: true,
      });
      expect({ service, query: allowed(policies, pod(service), target, 16686) }).toEqual({
        service,
        query: false,
      });
    }
  });
});

describe('Grafana and the dashboards', () => {
  const values = parse(readFileSync(join(repoRoot, 'monitoring/kube-prometheus-stack-values.yaml'), 'utf8'));

  it('has a Jaeger datasource on the query port, and exemplars of the Prometheus datasource lead to it', () => {
    expect(values.grafana.additionalDataSources).toEqual([
      expect.objectContaining({
        uid: TRACES_DATASOURCE_UID,
        type: 'jaeger',
        url: 'http://jaeger.monitoring.svc:16686',
      }),
    ]);
    expect(values.grafana.sidecar.datasources.exemplarTraceIdDestinations).toEqual({
      datasourceUid: TRACES_DATASOURCE_UID,
      traceIdLabelName: 'trace_id',
    });
    expect(values.prometheus.prometheusSpec.enableFeatures).toContain('exemplar-storage');
  });

  it.each([
    ['platform-overview', 'Latency p50 / p99'],
    ['platform-overview', 'Slowest routes (p99)'],
    ['resilience', 'Dependency latency p99'],
  ])('%s: "%s" links to the traces of its service in the Jaeger datasource', (file, title) => {
    const dashboard = JSON.parse(
      readFileSync(join(repoRoot, 'monitoring/dashboards', `${file}.json`), 'utf8'),
    );
    const panel = dashboard.panels.find((p: { title: string }) => p.title === title);
    const [link] = panel.fieldConfig.defaults.links as Array<{ url: string }>;
    const url = new URL(link.url, 'http://grafana');
    expect(url.pathname).toBe('/explore');
    const pane = Object.values(JSON.parse(url.searchParams.get('panes')!))[0] as {
      datasource: string;
      queries: Array<{ queryType: string; service: string }>;
      range: { from: string; to: string };
    };
    expect(pane.datasource).toBe(TRACES_DATASOURCE_UID);
    expect(pane.queries[0]).toMatchObject({ queryType: 'search', service: '${__field.labels.service}' });
    expect(pane.range).toEqual({ from: '${__from}', to: '${__to}' });
    expect(
      panel.targets
        .filter((t: { expr: string }) => t.expr.includes('_bucket'))
        .every((t: { exemplar?: boolean }) => t.exemplar),
    ).toBe(true);
  });
});
