// Relations between the objects that `k8s/scripts/kind.sh deploy` applies (k8s/base, k8s/chaos, the
// monitoring objects and the generated overlay), the chaos Job, the image and the chart values: a
// selector matches pods, a port is named where it is targeted, a reference names something that
// exists, a caller is admitted by the NetworkPolicies. The few fixed values checked here each encode a
// named requirement, said in the test's name. What the services do on their probe paths is checked
// against the running services in probes.test.ts.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ALERTMANAGER_SERVICE } from '@self-healing-shop/chaos';
import { LABELS, NAMESPACE, PLATFORM, PROTECTED_LABEL, SERVICES } from '@self-healing-shop/contracts';
import { runKindDeploy, NODE_ADDRESSES } from './kind-deploy.ts';
import { loadSourceObjects, repoRoot } from './manifests.ts';
import type { K8sObject } from './manifests.ts';
import { allowed, selects } from './network-policy.ts';
import type { Endpoint } from './network-policy.ts';

const deploy = runKindDeploy();
if (deploy.status !== 0) throw new Error(`kind.sh deploy failed: ${deploy.stderr}`);
const applied = deploy.objects;
const sources = loadSourceObjects();
const chaosJob = sources.find(({ source }) => source === 'k8s/chaos/job.yaml')!.object;
const baseObjects = sources.filter(({ source }) => source.startsWith('k8s/base/')).map((o) => o.object);

const ofKind = (kind: string, list = applied) => list.filter((o) => o.kind === kind);
const find = (kind: string, name: string, namespace?: string) =>
  applied.find(
    (o) => o.kind === kind && o.metadata.name === name && (!namespace || o.metadata.namespace === namespace),
  );
const named = (kind: string, name: string, namespace?: string): K8sObject => {
  const found = find(kind, name, namespace);
  if (!found) throw new Error(`kind.sh deploy applies no ${kind} ${name}`);
  return found;
};
/** Every object that runs pods: the applied workloads and the chaos Job that kind.sh creates on demand. */
const workloads = [...ofKind('Deployment'), ...ofKind('StatefulSet'), chaosJob];
const podSpec = (w: K8sObject) => w.spec.template.spec;
const podLabels = (w: K8sObject): Record<string, string> => w.spec.template.metadata.labels;
const id = (o: K8sObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;

interface Container {
  name: string;
  image: string;
  ports?: { name: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: Record<string, { name: string; key: string; optional?: boolean }>;
  }[];
  [key: string]: unknown;
}
const containers = (w: K8sObject): Container[] => podSpec(w).containers;
const envValue = (w: K8sObject, name: string) =>
  containers(w)
    .flatMap((c) => c.env ?? [])
    .find((e) => e.name === name)?.value;
const secretData = (s: K8sObject): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString('utf8'),
    ]),
  ),
  ...(s.stringData ?? {}),
});

/** The Service and port a URL names (`http://order`, `http://pushgateway.monitoring.svc:9091`). */
function serviceOfUrl(url: string, fromNamespace: string): { service: K8sObject; port: number } {
  const { hostname, port, protocol } = new URL(url);
  const [name, namespace = fromNamespace] = hostname.split('.');
  const service = named('Service', name, namespace);
  return { service, port: Number(port || (protocol === 'https:' ? 443 : 80)) };
}

/** The pods of one workload as NetworkPolicy endpoints, with their named container ports. */
function endpointOf(w: K8sObject): Endpoint {
  const ports = Object.fromEntries(
    containers(w).flatMap((c) => (c.ports ?? []).map((p) => [p.name, p.containerPort])),
  );
  return { namespace: w.metadata.namespace!, labels: podLabels(w), ports };
}

/** The workloads whose pods a Service selects, and the container port its port targets. */
function backendOf(service: K8sObject, port: number): { workload: K8sObject; containerPort: number } {
  const matches = workloads.filter(
    (w) =>
      w.metadata.namespace === service.metadata.namespace &&
      selects({ matchLabels: service.spec.selector }, podLabels(w)),
  );
  expect({ service: id(service), backends: matches.map(id) }).toEqual({
    service: id(service),
    backends: [expect.any(String)],
  });
  const servicePort = service.spec.ports.find((p: { port: number }) => p.port === port);
  if (!servicePort) throw new Error(`${id(service)} has no port ${port}`);
  const target = servicePort.targetPort;
  const containerPort = typeof target === 'number' ? target : endpointOf(matches[0]).ports![target as string];
  return { workload: matches[0], containerPort };
}

describe('workloads and their pods', () => {
  it.each(workloads.map(id))('%s selects its own pod template', (name) => {
    const w = workloads.find((x) => id(x) === name)!;
    if (w.kind !== 'Job') expect(selects(w.spec.selector, podLabels(w))).toBe(true);
    expect(podLabels(w)).toMatchObject({ [LABELS.partOf]: PLATFORM, [LABELS.name]: expect.any(String) });
  });

  it('put exactly the three services and the database in reach of the chaos engine (its selector, minus the protected label)', () => {
    // The engine targets `part-of=<platform>` pods in its namespace that are not labelled protected:
    // the Pushgateway and the engine's own Job must never be its victims. The database is a supervised
    // part that database-kill deletes on purpose (pod-kill and pod-freeze pick only Deployments).
    const targets = workloads.filter(
      (w) =>
        w.metadata.namespace === NAMESPACE &&
        podLabels(w)[LABELS.partOf] === PLATFORM &&
        podLabels(w)[PROTECTED_LABEL] !== 'true',
    );
    expect(targets.map((w) => podLabels(w)[LABELS.name]).sort()).toEqual([...SERVICES, 'postgres'].sort());
  });

  it.each(workloads.map(id))('%s probes only ports its container names', (name) => {
    for (const c of containers(workloads.find((x) => id(x) === name)!)) {
      const portNames = (c.ports ?? []).map((p) => p.name);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const spec = c[probe] as {
          httpGet?: { port: string | number };
          periodSeconds?: number;
          timeoutSeconds?: number;
        };
        if (!spec) continue;
        if (spec.httpGet)
          expect({ probe, named: portNames.includes(String(spec.httpGet.port)) }).toEqual({
            probe,
            named: true,
          });
        // A probe that may take longer than its period overlaps the next one.
        expect(spec.timeoutSeconds ?? 1).toBeLessThanOrEqual(spec.periodSeconds ?? 10);
      }
    }
  });

  it.each(workloads.map(id))('%s references only ConfigMap and Secret keys that are applied', (name) => {
    const w = workloads.find((x) => id(x) === name)!;
    for (const e of containers(w).flatMap((c) => c.env ?? [])) {
      for (const [refKind, kind] of [
        ['configMapKeyRef', 'ConfigMap'],
        ['secretKeyRef', 'Secret'],
      ] as const) {
        const ref = e.valueFrom?.[refKind];
        if (!ref) continue;
        const object = find(kind, ref.name, w.metadata.namespace);
        const keys = object ? Object.keys(kind === 'Secret' ? secretData(object) : object.data) : [];
        expect({ env: e.name, ref: `${kind} ${ref.name}`, key: keys.includes(ref.key) }).toEqual({
          env: e.name,
          ref: `${kind} ${ref.name}`,
          key: true,
        });
      }
    }
  });

  it('let the local runtime, which reads only k8s/base, resolve every required reference of a Deployment', () => {
    for (const d of ofKind('Deployment', baseObjects)) {
      for (const e of containers(d).flatMap((c) => c.env ?? [])) {
        const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
        if (!ref || ref.optional) continue;
        const kind = e.valueFrom?.configMapKeyRef ? 'ConfigMap' : 'Secret';
        const object = baseObjects.find((o) => o.kind === kind && o.metadata.name === ref.name);
        expect({
          env: e.name,
          found: Object.keys({ ...object?.data, ...object?.stringData }).includes(ref.key),
        }).toEqual({ env: e.name, found: true });
      }
    }
  });

  it('give every service and the chaos Job the admin token from the one Secret kind.sh generates', () => {
    const token = secretData(named('Secret', 'shop-admin', NAMESPACE)).ADMIN_TOKEN;
    // Random per cluster, long enough for the services' check (at least 8 characters), never committed.
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    for (const w of [...SERVICES.map((s) => named('Deployment', s, NAMESPACE)), chaosJob]) {
      const env = containers(w)
        .flatMap((c) => c.env ?? [])
        .find((e) => e.name === 'ADMIN_TOKEN');
      expect({ workload: id(w), ref: env?.valueFrom?.secretKeyRef?.name }).toEqual({
        workload: id(w),
        ref: 'shop-admin',
      });
    }
    const committed = sources.map(({ object }) => JSON.stringify(object)).join('\n');
    expect(committed).not.toContain(token);
  });

  it.each(SERVICES)('%s drains within its grace period: preStop sleep + SHUTDOWN_TIMEOUT_MS', (service) => {
    const d = named('Deployment', service, NAMESPACE);
    const preStop = (containers(d)[0].lifecycle as { preStop: { sleep: { seconds: number } } }).preStop.sleep
      .seconds;
    const shutdownSeconds = Number(envValue(d, 'SHUTDOWN_TIMEOUT_MS')) / 1000;
    expect(preStop).toBeGreaterThan(0);
    expect(podSpec(d).terminationGracePeriodSeconds).toBeGreaterThan(preStop + shutdownSeconds);
  });

  it.each(SERVICES)(
    '%s lets readiness take a replica out long before liveness would restart it',
    (service) => {
      const c = containers(named('Deployment', service, NAMESPACE))[0] as Record<
        string,
        { periodSeconds: number; failureThreshold: number }
      >;
      const budget = (p: { periodSeconds: number; failureThreshold: number }) =>
        p.periodSeconds * p.failureThreshold;
      expect(budget(c.livenessProbe)).toBeGreaterThan(budget(c.readinessProbe));
    },
  );

  it('meet Pod Security "restricted", which namespace shop enforces', () => {
    const ns = named('Namespace', NAMESPACE);
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    for (const w of workloads.filter((x) => x.metadata.namespace === NAMESPACE)) {
      const pod = podSpec(w);
      expect({ w: id(w), runAsNonRoot: pod.securityContext?.runAsNonRoot }).toEqual({
        w: id(w),
        runAsNonRoot: true,
      });
      expect({ w: id(w), seccomp: pod.securityContext?.seccompProfile?.type }).toEqual({
        w: id(w),
        seccomp: 'RuntimeDefault',
      });
      for (const c of containers(w)) {
        expect({ w: id(w), c: c.name, sc: c.securityContext }).toEqual({
          w: id(w),
          c: c.name,
          sc: expect.objectContaining({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }),
        });
      }
    }
  });

  it.each(workloads.map(id))('%s mounts only volumes its pod defines', (name) => {
    const w = workloads.find((x) => id(x) === name)!;
    const volumes = [
      ...(podSpec(w).volumes ?? []).map((v: { name: string }) => v.name),
      ...(w.spec.volumeClaimTemplates ?? []).map((v: K8sObject) => v.metadata.name),
    ];
    for (const c of containers(w))
      for (const m of (c.volumeMounts ?? []) as { name: string }[]) expect(volumes).toContain(m.name);
  });

  it('run the services as the user the image declares (Dockerfile USER)', () => {
    const dockerfile = readFileSync(join(repoRoot, 'k8s/docker/Dockerfile'), 'utf8');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    for (const service of SERVICES) {
      const pod = podSpec(named('Deployment', service, NAMESPACE));
      expect([pod.securityContext.runAsUser, pod.securityContext.runAsGroup]).toEqual([
        Number(user?.[1]),
        Number(user?.[2]),
      ]);
    }
  });

  it('run images that kind.sh builds and pins: one per workload built from this repository', () => {
    const kindSh = readFileSync(join(repoRoot, 'k8s/scripts/kind.sh'), 'utf8');
    const built = /^IMAGES=\("\$\{SERVICES\[@\]\}" ([\w ]+)\)$/m.exec(kindSh);
    const services = /^SERVICES=\(([\w ]+)\)$/m.exec(kindSh);
    const images = [...(services?.[1].split(' ') ?? []), ...(built?.[1].split(' ') ?? [])];
    for (const w of [...ofKind('Deployment'), chaosJob]) {
      const image = containers(w)[0].image;
      if (!image.startsWith(`${PLATFORM}/`)) continue;
      expect(images).toContain(image.slice(PLATFORM.length + 1).split(':')[0]);
    }
    expect(images).toEqual(expect.arrayContaining([...SERVICES, 'chaos']));
  });
});

describe('Services and the URLs that name them', () => {
  it.each(ofKind('Service').map(id))('%s selects the pods of one workload, on ports they name', (name) => {
    const s = applied.find((o) => id(o) === name)!;
    for (const port of s.spec.ports)
      expect(backendOf(s, port.port).containerPort).toEqual(expect.any(Number));
  });

  it('resolve every URL a pod is given to a Service port that reaches a container port', () => {
    const urls: { from: K8sObject; url: string }[] = [];
    for (const w of workloads) {
      for (const e of containers(w).flatMap((c) => c.env ?? []))
        if (e.value && /^(https?|postgres):\/\//.test(e.value)) urls.push({ from: w, url: e.value });
      const script = containers(w)
        .flatMap((c) => [...((c.args as string[]) ?? [])])
        .join(' ');
      for (const m of script.matchAll(/--(?:url|notification-url) (\S+)/g)) urls.push({ from: w, url: m[1] });
    }
    const databaseUrl = secretData(named('Secret', 'shop-secrets', NAMESPACE)).DATABASE_URL;
    urls.push({ from: named('Deployment', 'order', NAMESPACE), url: databaseUrl });
    expect(urls.length).toBeGreaterThanOrEqual(6);
    for (const { from, url } of urls) {
      const { service, port } = serviceOfUrl(url.replace(/^postgres:/, 'http:'), from.metadata.namespace!);
      expect({ url, containerPort: backendOf(service, port).containerPort }).toEqual({
        url,
        containerPort: expect.any(Number),
      });
    }
  });

  it('give DATABASE_URL the credentials the PostgreSQL StatefulSet is created with', () => {
    const url = new URL(secretData(named('Secret', 'shop-secrets', NAMESPACE)).DATABASE_URL);
    const sts = named('StatefulSet', 'postgres', NAMESPACE);
    const [envFrom] = containers(sts)[0].envFrom as { secretRef: { name: string } }[];
    const creds = secretData(named('Secret', envFrom.secretRef.name, NAMESPACE));
    expect([
      decodeURIComponent(url.username),
      decodeURIComponent(url.password),
      url.pathname.slice(1),
    ]).toEqual([creds.POSTGRES_USER, creds.POSTGRES_PASSWORD, creds.POSTGRES_DB]);
    expect(url.hostname).toBe(sts.spec.serviceName);
  });
});

describe('disruption budgets and autoscalers', () => {
  it.each(ofKind('PodDisruptionBudget').map(id))('%s covers one workload that can lose a pod', (name) => {
    const pdb = applied.find((o) => id(o) === name)!;
    const covered = workloads.filter(
      (w) => w.metadata.namespace === pdb.metadata.namespace && selects(pdb.spec.selector, podLabels(w)),
    );
    expect(covered.map(id)).toHaveLength(1);
    // Otherwise every eviction (the chaos --evict mode, a node drain) is refused.
    expect(covered[0].spec.replicas).toBeGreaterThan(pdb.spec.minAvailable);
  });

  it.each(ofKind('HorizontalPodAutoscaler').map(id))(
    '%s scales an existing Deployment whose containers request what it measures',
    (name) => {
      const hpa = applied.find((o) => id(o) === name)!;
      const target = named(
        hpa.spec.scaleTargetRef.kind,
        hpa.spec.scaleTargetRef.name,
        hpa.metadata.namespace,
      );
      expect(hpa.spec.scaleTargetRef.apiVersion).toBe(target.apiVersion);
      // Utilization is measured against requests: a container without one makes the HPA fail.
      for (const metric of hpa.spec.metrics.filter((m: { type: string }) => m.type === 'Resource'))
        for (const c of containers(target))
          expect(
            (c.resources as { requests: Record<string, string> }).requests[metric.resource.name],
          ).toBeDefined();
      // The manifest's replica count is what the autoscaler starts from, so an apply never fights it.
      expect(hpa.spec.minReplicas).toBe(target.spec.replicas);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    },
  );
});

describe('monitoring objects', () => {
  const values = parse(readFileSync(join(repoRoot, 'monitoring/kube-prometheus-stack-values.yaml'), 'utf8'));
  const release = /^RELEASE=(\S+)$/m.exec(readFileSync(join(repoRoot, 'k8s/scripts/kind.sh'), 'utf8'))?.[1];

  it.each(ofKind('ServiceMonitor').map(id))('%s selects Services that have its endpoint port', (name) => {
    const monitor = applied.find((o) => id(o) === name)!;
    const namespaces: string[] = monitor.spec.namespaceSelector?.matchNames ?? [monitor.metadata.namespace];
    const selected = ofKind('Service').filter(
      (s) =>
        namespaces.includes(s.metadata.namespace!) && selects(monitor.spec.selector, s.metadata.labels ?? {}),
    );
    expect(selected.length).toBeGreaterThan(0);
    for (const s of selected)
      for (const endpoint of monitor.spec.endpoints)
        expect(s.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
  });

  it('scrape every service of the platform', () => {
    const scraped = ofKind('ServiceMonitor').flatMap((m) =>
      ofKind('Service').filter(
        (s) =>
          (m.spec.namespaceSelector?.matchNames ?? [m.metadata.namespace]).includes(s.metadata.namespace) &&
          selects(m.spec.selector, s.metadata.labels ?? {}),
      ),
    );
    for (const service of SERVICES) expect(scraped.map(id)).toContain(`Service/${NAMESPACE}/${service}`);
  });

  it('are picked up by the chart release kind.sh installs (its Prometheus selects the release label)', () => {
    expect(values.prometheus.prometheusSpec).toMatchObject({
      serviceMonitorSelectorNilUsesHelmValues: true,
      ruleSelectorNilUsesHelmValues: true,
      serviceMonitorNamespaceSelector: {},
      ruleNamespaceSelector: {},
    });
    for (const o of [...ofKind('ServiceMonitor'), ...ofKind('PrometheusRule')])
      expect({ object: id(o), release: o.metadata.labels?.release }).toEqual({ object: id(o), release });
  });

  it('pass honorLabels for the Pushgateway, so pushed series keep the group they were pushed to', () => {
    const pushgateway = ofKind('ServiceMonitor').filter((m) =>
      ofKind('Service').some(
        (s) => s.metadata.name === 'pushgateway' && selects(m.spec.selector, s.metadata.labels ?? {}),
      ),
    );
    expect(
      pushgateway.flatMap((m) => m.spec.endpoints.map((e: { honorLabels?: boolean }) => e.honorLabels)),
    ).toEqual([true]);
  });

  it('load the dashboards in Grafana: the sidecar label of the chart values is on every dashboard ConfigMap', () => {
    const { label, labelValue } = values.grafana.sidecar.dashboards;
    const dashboards = ofKind('ConfigMap').filter((c) =>
      Object.keys(c.data).some((k) => k.endsWith('.json')),
    );
    expect(dashboards.length).toBeGreaterThan(0);
    for (const c of dashboards) expect(c.metadata.labels?.[label]).toBe(String(labelValue));
  });
});

describe('NetworkPolicies admit every real caller and nobody else', () => {
  const policies = ofKind('NetworkPolicy');
  const pod = (name: string, namespace = NAMESPACE) =>
    endpointOf(workloads.find((w) => w.metadata.name === name && w.metadata.namespace === namespace)!);
  const chaos = endpointOf(chaosJob);
  const dns: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
  // The chart's Prometheus pods carry app.kubernetes.io/name=prometheus in namespace monitoring.
  const prometheus: Endpoint = {
    namespace: 'monitoring',
    labels: { 'app.kubernetes.io/name': 'prometheus' },
  };
  const stranger: Endpoint = { namespace: 'default', labels: { app: 'curl' } };
  // The API server runs in the host network of a node: no namespace, no labels, the node's address.
  const apiserver = (ip: string): Endpoint => ({ namespace: '', labels: {}, ip });

  /** Every caller → callee flow the manifests imply: the URLs pods are given, and the scrapes. */
  function callers(): { from: Endpoint; to: Endpoint; port: number; why: string }[] {
    const flows: { from: Endpoint; to: Endpoint; port: number; why: string }[] = [];
    for (const w of workloads) {
      const urls = [
        ...containers(w)
          .flatMap((c) => c.env ?? [])
          .flatMap((e) => (e.value && /^https?:\/\//.test(e.value) ? [e.value] : [])),
        ...[
          ...containers(w)
            .flatMap((c) => (c.args as string[]) ?? [])
            .join(' ')
            .matchAll(/--(?:url|notification-url) (\S+)/g),
        ].map((m) => m[1]),
      ];
      for (const url of urls) {
        const { service, port } = serviceOfUrl(url, w.metadata.namespace!);
        const { workload, containerPort } = backendOf(service, port);
        flows.push({
          from: endpointOf(w),
          to: endpointOf(workload),
          port: containerPort,
          why: `${id(w)} calls ${url}`,
        });
      }
    }
    const database = new URL(
      secretData(named('Secret', 'shop-secrets', NAMESPACE)).DATABASE_URL.replace(/^postgres:/, 'http:'),
    );
    for (const service of SERVICES) {
      const { workload, containerPort } = backendOf(
        named('Service', database.hostname, NAMESPACE),
        Number(database.port),
      );
      flows.push({
        from: pod(service),
        to: endpointOf(workload),
        port: containerPort,
        why: `${service} uses DATABASE_URL`,
      });
    }
    for (const m of ofKind('ServiceMonitor'))
      for (const s of ofKind('Service').filter((x) => selects(m.spec.selector, x.metadata.labels ?? {})))
        for (const e of m.spec.endpoints) {
          const port = s.spec.ports.find((p: { name: string }) => p.name === e.port).port;
          const { workload, containerPort } = backendOf(s, port);
          flows.push({
            from: prometheus,
            to: endpointOf(workload),
            port: containerPort,
            why: `Prometheus scrapes ${id(s)}`,
          });
        }
    return flows;
  }

  it('admit every flow the manifests imply (service URLs, DATABASE_URL, the chaos Job, scrapes)', () => {
    const flows = callers();
    expect(flows.length).toBeGreaterThanOrEqual(10);
    for (const flow of flows) {
      expect({ flow: flow.why, allowed: allowed(policies, flow.from, flow.to, flow.port) }).toEqual({
        flow: flow.why,
        allowed: true,
      });
    }
  });

  it('admit the API server proxy from every node to the admin API of every service (chaos faults, audit)', () => {
    for (const ip of NODE_ADDRESSES)
      for (const service of SERVICES)
        expect({ ip, service, allowed: allowed(policies, apiserver(ip), pod(service), 8080) }).toEqual({
          ip,
          service,
          allowed: true,
        });
    expect(allowed(policies, apiserver('10.99.0.1'), pod('inventory'), 8080)).toBe(false);
  });

  it('let the chaos Job reach the API server and push to the Pushgateway, and let every pod resolve names', () => {
    expect(allowed(policies, chaos, apiserver(NODE_ADDRESSES[0]), 6443)).toBe(true);
    const target = serviceOfUrl(envValue(chaosJob, 'PUSHGATEWAY_URL')!, NAMESPACE);
    const pushgateway = backendOf(target.service, target.port);
    expect(allowed(policies, chaos, endpointOf(pushgateway.workload), pushgateway.containerPort)).toBe(true);
    for (const w of workloads.filter((x) => x.metadata.namespace === NAMESPACE)) {
      expect({ w: id(w), udp: allowed(policies, endpointOf(w), dns, 53, 'UDP') }).toEqual({
        w: id(w),
        udp: true,
      });
    }
  });

  it('deny everything else in namespace shop: strangers, sideways calls, the database from outside its users', () => {
    expect(allowed(policies, pod('inventory'), pod('notification'), 8080)).toBe(false);
    expect(allowed(policies, pod('notification'), pod('inventory'), 8080)).toBe(false);
    expect(allowed(policies, pod('inventory'), pod('order'), 8080)).toBe(false);
    expect(allowed(policies, stranger, pod('inventory'), 8080)).toBe(false);
    expect(allowed(policies, stranger, pod('notification'), 8080)).toBe(false);
    expect(allowed(policies, stranger, pod('postgres'), 5432)).toBe(false);
    expect(allowed(policies, chaos, pod('postgres'), 5432)).toBe(false);
    expect(allowed(policies, pod('order'), pod('postgres'), 8080)).toBe(false);
    expect(allowed(policies, prometheus, pod('postgres'), 5432)).toBe(false);
    // order is the demo's entry point: anyone may place an order.
    expect(allowed(policies, stranger, pod('order'), 8080)).toBe(true);
  });
});

describe('the chaos engine in the cluster', () => {
  const role = named('Role', 'chaos', NAMESPACE);
  const can = (group: string, resource: string, verb: string) =>
    role.rules.some(
      (r: { apiGroups: string[]; resources: string[]; verbs: string[] }) =>
        r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
    );

  it('runs as a ServiceAccount bound to its Role in its own namespace', () => {
    const account = podSpec(chaosJob).serviceAccountName;
    expect(find('ServiceAccount', account, chaosJob.metadata.namespace)).toBeDefined();
    const binding = ofKind('RoleBinding').find(
      (b) =>
        b.metadata.namespace === chaosJob.metadata.namespace &&
        b.subjects.some(
          (s: { kind: string; name: string }) => s.kind === 'ServiceAccount' && s.name === account,
        ),
    );
    expect(binding?.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata.name,
    });
    expect(binding?.metadata.namespace).toBe(role.metadata.namespace);
    // Only the engine talks to the API server: no other pod mounts a token.
    for (const w of workloads.filter((x) => x !== chaosJob))
      expect(podSpec(w).automountServiceAccountToken).toBe(false);
  });

  it('may do what its experiments need (least privilege, issue 10: kill, evict, watch, proxy, record)', () => {
    for (const verb of ['get', 'list', 'watch', 'delete']) expect(can('', 'pods', verb)).toBe(true);
    expect(can('', 'pods/eviction', 'create')).toBe(true);
    for (const resource of ['deployments', 'statefulsets', 'replicasets'])
      for (const verb of ['get', 'list', 'watch']) expect(can('apps', resource, verb)).toBe(true);
    // A proxied request is authorized with the verb of its HTTP method (requestinfo.go: GET get, POST
    // create, DELETE delete): the audit API is GET through a Service; a pod gets GET /ready, POST and
    // DELETE /admin/faults (kubernetes-target.ts).
    expect(can('', 'services/proxy', 'get')).toBe(true);
    for (const verb of ['get', 'create', 'delete']) expect(can('', 'pods/proxy', verb)).toBe(true);
    expect(can('', 'events', 'create')).toBe(true);
  });

  it("may read, silence and unsilence alerts in the chart's Alertmanager, the Service the engine calls, and no other", () => {
    const { namespace, name, port } = ALERTMANAGER_SERVICE;
    const bound = ofKind('RoleBinding').filter(
      (b) =>
        b.metadata.namespace === namespace &&
        b.subjects.some(
          (s: { kind: string; name: string; namespace: string }) =>
            s.kind === 'ServiceAccount' &&
            s.name === podSpec(chaosJob).serviceAccountName &&
            s.namespace === chaosJob.metadata.namespace,
        ),
    );
    const rules = bound.flatMap(
      (b) =>
        named('Role', b.roleRef.name, namespace).rules as Array<{
          apiGroups: string[];
          resources: string[];
          resourceNames?: string[];
          verbs: string[];
        }>,
    );
    // the engine's requests: GET /api/v1/namespaces/<ns>/services/<name>:<port>/proxy/api/v2/alerts,
    // POST .../api/v2/silences, DELETE .../api/v2/silence/<id> (verbs get, create, delete)
    for (const verb of ['get', 'create', 'delete'])
      expect(
        rules.some(
          (r) =>
            r.apiGroups.includes('') &&
            r.resources.includes('services/proxy') &&
            r.verbs.includes(verb) &&
            r.resourceNames?.includes(`${name}:${port}`),
        ),
      ).toBe(true);
    // only that Service: every rule there names its resources
    expect(rules.every((r) => (r.resourceNames ?? []).length > 0)).toBe(true);
  });

  it('may not read Secrets, change workloads, or use wildcards', () => {
    const everything = JSON.stringify(role.rules);
    expect(everything).not.toContain('*');
    expect(can('', 'secrets', 'get')).toBe(false);
    expect(can('', 'secrets', 'list')).toBe(false);
    for (const verb of ['update', 'patch', 'delete', 'create'])
      expect(can('apps', 'deployments', verb)).toBe(false);
    expect(can('', 'pods', 'create')).toBe(false);
    expect(ofKind('ClusterRoleBinding')).toEqual([]);
  });

  it('is never retried silently: a failed run fails its Job', () => {
    expect(chaosJob.spec.backoffLimit).toBe(0);
    expect(podSpec(chaosJob).restartPolicy).toBe('Never');
  });
});
