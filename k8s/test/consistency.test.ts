// Cross-checks between the objects of k8s/base and the contracts of the services (README), the
// scripts that build and deploy them, and each other.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadSourceObjects, platform, repoRoot, services } from './manifests.ts';
import type { K8sObject } from './manifests.ts';
import { allowed, selects } from './network-policy.ts';
import type { Endpoint } from './network-policy.ts';

const base = loadSourceObjects()
  .filter(({ source }) => source.startsWith('k8s/base/'))
  .map(({ object }) => object);
const ofKind = (kind: string) => base.filter((o) => o.kind === kind);
const named = (kind: string, name: string): K8sObject => {
  const found = base.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in k8s/base`);
  return found;
};
const deployments = ofKind('Deployment');
const workloads = [...deployments, ...ofKind('StatefulSet')];
const appContainer = (d: K8sObject) =>
  d.spec.template.spec.containers.find((c: { name: string }) => c.name === 'app');
const env = (d: K8sObject) => new Map(appContainer(d).env.map((e: { name: string }) => [e.name, e]));
const kindScript = readFileSync(join(repoRoot, 'k8s/scripts/kind.sh'), 'utf8');
const scriptVar = (name: string) => {
  const match = new RegExp(`^${name}=\\$\\{${name}:-([^}]+)\\}|^${name}=([^\\s#]+)`, 'm').exec(kindScript);
  if (!match) throw new Error(`${name} not set in k8s/scripts/kind.sh`);
  return match[1] ?? match[2];
};
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The environment variables of README "Service configuration". */
function readmeEnvironment(): Set<string> {
  const section = readme.split('### Service configuration')[1]?.split('\n### ')[0] ?? '';
  return new Set([...section.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]));
}

describe('Deployments', () => {
  it('exist for the three services', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...services].sort());
  });

  it.each(services)('%s carries the platform labels on itself and its pods, in namespace shop', (service) => {
    const d = named('Deployment', service);
    expect(d.metadata.namespace).toBe('shop');
    for (const labels of [d.metadata.labels, d.spec.template.metadata.labels]) {
      expect(labels).toMatchObject({
        'app.kubernetes.io/name': service,
        'app.kubernetes.io/part-of': platform,
      });
      expect(labels['app.kubernetes.io/component']).toEqual(expect.any(String));
    }
    expect(selects(d.spec.selector, d.spec.template.metadata.labels)).toBe(true);
  });

  it.each(services)('%s runs 2 replicas and rolls out without ever dropping below them', (service) => {
    const d = named('Deployment', service);
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(d.spec.strategy.rollingUpdate.maxSurge).toBeGreaterThanOrEqual(1);
  });

  it.each(services)('%s runs the image that k8s/scripts/kind.sh builds, on port http = 8080', (service) => {
    const c = appContainer(named('Deployment', service));
    const repo = scriptVar('IMAGE_REPO');
    expect(kindScript).toMatch(/^SERVICES=\(order inventory notification\)$/m);
    expect(c.image).toMatch(new RegExp(`^${repo}/${service}:[\\w.-]+$`));
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  });

  it.each(services)(
    '%s probes /health (startup, liveness) and /ready (readiness, fast) on port http',
    (service) => {
      const c = appContainer(named('Deployment', service));
      for (const [probe, path] of [
        ['startupProbe', '/health'],
        ['livenessProbe', '/health'],
        ['readinessProbe', '/ready'],
      ] as const) {
        expect(c[probe].httpGet).toEqual({ path, port: 'http' });
        for (const field of ['periodSeconds', 'timeoutSeconds', 'failureThreshold']) {
          expect(c[probe][field]).toEqual(expect.any(Number));
        }
        expect(c[probe].timeoutSeconds).toBeLessThanOrEqual(c[probe].periodSeconds);
      }
      expect(c.readinessProbe.periodSeconds).toBeGreaterThanOrEqual(2);
      expect(c.readinessProbe.periodSeconds).toBeLessThanOrEqual(5);
      // Liveness must not kill a replica that readiness merely takes out of rotation.
      expect(c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold).toBeGreaterThan(
        c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold,
      );
    },
  );

  it.each(services)(
    '%s gets the environment of the README contract, from literals, ConfigMap and Secret',
    (service) => {
      const d = named('Deployment', service);
      const vars = env(d);
      const contract = readmeEnvironment();
      expect(contract.size).toBeGreaterThan(5);
      for (const name of vars.keys()) expect(contract).toContain(name);
      expect(vars.get('PORT')).toEqual({ name: 'PORT', value: '8080' });
      expect(vars.get('POD_NAME')).toEqual({
        name: 'POD_NAME',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      });
      expect(vars.get('LOG_LEVEL')).toBeDefined();
      expect(vars.get('SHUTDOWN_TIMEOUT_MS')).toMatchObject({ value: expect.stringMatching(/^\d+$/) });
      expect(vars.get('DATABASE_URL')).toMatchObject({ valueFrom: { secretKeyRef: expect.any(Object) } });
      expect(vars.get('FAULT_INJECTION_TOKEN')).toMatchObject({
        valueFrom: { secretKeyRef: expect.any(Object) },
      });
      expect(vars.get('FAULT_INJECTION_ENABLED')).toMatchObject({
        valueFrom: { configMapKeyRef: expect.any(Object) },
      });
      if (service === 'order') {
        expect(vars.get('INVENTORY_URL')).toEqual({ name: 'INVENTORY_URL', value: 'http://inventory' });
        expect(vars.get('NOTIFICATION_URL')).toEqual({
          name: 'NOTIFICATION_URL',
          value: 'http://notification',
        });
      } else {
        expect(vars.has('INVENTORY_URL')).toBe(false);
      }
    },
  );

  it.each(services)('%s references only ConfigMap and Secret keys that k8s/base defines', (service) => {
    for (const e of env(named('Deployment', service)).values() as Iterable<Record<string, never>>) {
      const ref = (e as { valueFrom?: Record<string, { name: string; key: string }> }).valueFrom;
      if (ref?.configMapKeyRef) {
        expect(Object.keys(named('ConfigMap', ref.configMapKeyRef.name).data)).toContain(
          ref.configMapKeyRef.key,
        );
      }
      if (ref?.secretKeyRef) {
        expect(Object.keys(named('Secret', ref.secretKeyRef.name).stringData)).toContain(
          ref.secretKeyRef.key,
        );
      }
    }
  });

  it.each(services)('%s drains within its grace period: preStop sleep + SHUTDOWN_TIMEOUT_MS', (service) => {
    const d = named('Deployment', service);
    const c = appContainer(d);
    const preStop = c.lifecycle.preStop.sleep.seconds as number;
    const shutdown = Number((env(d).get('SHUTDOWN_TIMEOUT_MS') as { value: string }).value) / 1000;
    expect(preStop).toBeGreaterThanOrEqual(2);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + shutdown + 2);
  });

  it.each(services)('%s requests and limits CPU and memory', (service) => {
    const { resources } = appContainer(named('Deployment', service));
    expect(resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(resources.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it.each(services)('%s runs non-root, read-only, without capabilities, with a writable /tmp', (service) => {
    const d = named('Deployment', service);
    const pod = d.spec.template.spec;
    const c = appContainer(d);
    const dockerfile = readFileSync(join(repoRoot, 'k8s/docker/Dockerfile'), 'utf8');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(dockerfile).toMatch(new RegExp(`^USER ${pod.securityContext.runAsUser}:`, 'm'));
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name)).toHaveProperty('emptyDir');
  });

  it.each(services)('%s spreads its replicas across nodes', (service) => {
    const d = named('Deployment', service);
    const [constraint] = d.spec.template.spec.topologySpreadConstraints;
    expect(constraint.topologyKey).toBe('kubernetes.io/hostname');
    expect(selects(constraint.labelSelector, d.spec.template.metadata.labels)).toBe(true);
  });
});

describe('Services, PDBs, HPAs, monitors', () => {
  const podsOf = (namespace: string, selector: Record<string, string>) =>
    workloads.filter(
      (w) =>
        w.metadata.namespace === namespace &&
        selects({ matchLabels: selector }, w.spec.template.metadata.labels),
    );

  it('every Service selects the pods of a workload, on a port those pods name', () => {
    for (const s of ofKind('Service')) {
      const targets = podsOf(s.metadata.namespace!, s.spec.selector);
      expect({ service: s.metadata.name, targets: targets.length }).toEqual({
        service: s.metadata.name,
        targets: 1,
      });
      const names = targets[0].spec.template.spec.containers.flatMap((c: { ports?: { name: string }[] }) =>
        (c.ports ?? []).map((p) => p.name),
      );
      for (const port of s.spec.ports) expect(names).toContain(port.targetPort);
    }
  });

  it.each(services)('%s has a Service on port 80 -> http, named as the URL order uses', (service) => {
    const s = named('Service', service);
    expect(s.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('every PodDisruptionBudget keeps one pod of an existing workload', () => {
    const pdbs = ofKind('PodDisruptionBudget');
    expect(pdbs.map((p) => p.metadata.name).sort()).toEqual([...services].sort());
    for (const pdb of pdbs) {
      const targets = workloads.filter((w) => selects(pdb.spec.selector, w.spec.template.metadata.labels));
      expect(targets.map((t) => t.metadata.name)).toEqual([pdb.metadata.name]);
      expect(pdb.spec.minAvailable).toBe(1);
      expect(targets[0].spec.replicas).toBeGreaterThan(pdb.spec.minAvailable);
    }
  });

  it('every HorizontalPodAutoscaler scales an existing Deployment on CPU, from its replica count', () => {
    const hpas = ofKind('HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.metadata.name).sort()).toEqual([...services].sort());
    for (const hpa of hpas) {
      const target = named('Deployment', hpa.spec.scaleTargetRef.name);
      expect(hpa.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
      expect(hpa.spec.minReplicas).toBe(target.spec.replicas);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics).toEqual([
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ]);
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(0);
      expect(appContainer(target).resources.requests.cpu).toBeDefined();
    }
  });

  it('the ServiceMonitor scrapes /metrics on port http of exactly the three services', () => {
    const [monitor] = ofKind('ServiceMonitor');
    const selected = ofKind('Service').filter(
      (s) =>
        monitor.spec.namespaceSelector.matchNames.includes(s.metadata.namespace) &&
        selects(monitor.spec.selector, s.metadata.labels ?? {}),
    );
    expect(selected.map((s) => s.metadata.name).sort()).toEqual([...services].sort());
    expect(monitor.spec.endpoints).toEqual([
      { port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s' },
    ]);
    for (const s of selected) expect(s.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
  });

  it('the ServiceMonitor and PrometheusRule carry the release label of the Helm release kind.sh installs', () => {
    const release = scriptVar('RELEASE');
    expect(release).toBe('kube-prometheus-stack');
    for (const o of [...ofKind('ServiceMonitor'), ...ofKind('PrometheusRule')]) {
      expect(o.metadata.labels).toMatchObject({ release });
    }
    const values = parse(
      readFileSync(join(repoRoot, 'monitoring/kube-prometheus-stack-values.yaml'), 'utf8'),
    );
    expect(values.prometheus.prometheusSpec).toMatchObject({
      serviceMonitorSelectorNilUsesHelmValues: true,
      ruleSelectorNilUsesHelmValues: true,
    });
    expect(values.grafana.sidecar.dashboards).toMatchObject({
      enabled: true,
      label: 'grafana_dashboard',
      labelValue: '1',
    });
  });
});

describe('PostgreSQL', () => {
  const sts = named('StatefulSet', 'postgres');
  const c = sts.spec.template.spec.containers[0];

  it('runs postgres:18 with a volume claim, pg_isready probes and a headless Service', () => {
    expect(c.image).toBe('postgres:18');
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe(
      c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/var/lib/postgresql').name,
    );
    expect(c.readinessProbe.exec.command[0]).toBe('pg_isready');
    expect(c.livenessProbe.exec.command[0]).toBe('pg_isready');
    const service = named('Service', sts.spec.serviceName);
    expect(service.spec.clusterIP).toBe('None');
    expect(sts.metadata.labels).toMatchObject({ 'chaos.self-healing-shop/protected': 'true' });
  });

  it('accepts the credentials that DATABASE_URL uses, on the Service host and port', () => {
    const url = new URL(named('Secret', 'shop-secrets').stringData.DATABASE_URL);
    const creds = named('Secret', c.envFrom[0].secretRef.name).stringData;
    expect(url.protocol).toBe('postgres:');
    expect(decodeURIComponent(url.username)).toBe(creds.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(creds.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${creds.POSTGRES_DB}`);
    expect(url.hostname).toBe(sts.spec.serviceName);
    expect(Number(url.port)).toBe(named('Service', 'postgres').spec.ports[0].port);
  });
});

describe('NetworkPolicies', () => {
  const policies = ofKind('NetworkPolicy');
  const pod = (name: string): Endpoint => {
    const w = named(name === 'postgres' ? 'StatefulSet' : 'Deployment', name);
    const ports = Object.fromEntries(
      w.spec.template.spec.containers.flatMap((c: { ports?: { name: string; containerPort: number }[] }) =>
        (c.ports ?? []).map((p) => [p.name, p.containerPort]),
      ),
    );
    return { namespace: 'shop', labels: w.spec.template.metadata.labels, ports };
  };
  const dns: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
  const prometheus: Endpoint = {
    namespace: 'monitoring',
    labels: { 'app.kubernetes.io/name': 'prometheus' },
  };
  const stranger: Endpoint = { namespace: 'default', labels: { app: 'curl' } };
  const grafana: Endpoint = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'grafana' } };

  it('deny everything in the namespace by default', () => {
    expect(
      policies.some(
        (p) =>
          Object.keys(p.spec.podSelector).length === 0 &&
          p.spec.policyTypes.length === 2 &&
          !p.spec.ingress &&
          !p.spec.egress,
      ),
    ).toBe(true);
    expect(allowed(policies, pod('inventory'), pod('notification'), 8080)).toBe(false);
    expect(allowed(policies, pod('notification'), pod('inventory'), 8080)).toBe(false);
    expect(allowed(policies, pod('inventory'), pod('order'), 8080)).toBe(false);
    expect(allowed(policies, stranger, pod('inventory'), 8080)).toBe(false);
    expect(allowed(policies, stranger, pod('postgres'), 5432)).toBe(false);
    expect(allowed(policies, grafana, pod('order'), 9999)).toBe(false);
    expect(allowed(policies, pod('order'), pod('postgres'), 8080)).toBe(false);
  });

  it('let order call inventory and notification', () => {
    expect(allowed(policies, pod('order'), pod('inventory'), 8080)).toBe(true);
    expect(allowed(policies, pod('order'), pod('notification'), 8080)).toBe(true);
  });

  it.each(services)('let %s reach PostgreSQL on 5432 and resolve names', (service) => {
    expect(allowed(policies, pod(service), pod('postgres'), 5432)).toBe(true);
    expect(allowed(policies, pod(service), dns, 53, 'UDP')).toBe(true);
    expect(allowed(policies, pod(service), dns, 53, 'TCP')).toBe(true);
  });

  it.each(services)('let Prometheus from the monitoring namespace scrape %s', (service) => {
    expect(allowed(policies, prometheus, pod(service), 8080)).toBe(true);
  });

  it('let anyone reach order (the demo entry point), and nobody else', () => {
    expect(allowed(policies, stranger, pod('order'), 8080)).toBe(true);
    expect(allowed(policies, stranger, pod('notification'), 8080)).toBe(false);
  });
});
