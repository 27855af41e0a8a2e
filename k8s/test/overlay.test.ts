// The KIND overlay as `k8s/scripts/kind.sh deploy` applies it, against kind-config.yaml (host ports),
// the chart values, the dashboards, the metrics-server addon and the generated overlay (image tags,
// admin token Secret, the API server proxy's NetworkPolicy).
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NODE_ADDRESSES, runKindDeploy } from './kind-deploy.ts';
import { parseDocuments, repoRoot, validateObject } from './manifests.ts';
import type { K8sObject } from './manifests.ts';
import { strictTypeProblems } from './strict-types.ts';

const kindConfig = parse(readFileSync(join(repoRoot, 'kind-config.yaml'), 'utf8'));
const mappings: { containerPort: number; hostPort: number; listenAddress: string }[] =
  kindConfig.nodes.flatMap((n: { extraPortMappings?: unknown[] }) => n.extraPortMappings ?? []);
const deploy = runKindDeploy({ tag: 'abc1234', cluster: 'Jenkins-Shop/PR-12 build' });

describe('kind-config.yaml', () => {
  it('has a control plane and two workers, so replicas spread and a kill never takes a whole service', () => {
    expect(kindConfig.nodes.map((n: { role: string }) => n.role)).toEqual([
      'control-plane',
      'worker',
      'worker',
    ]);
  });

  it('publishes no fixed host port: kind picks free ones on 127.0.0.1 (concurrent builds never collide)', () => {
    expect(mappings.length).toBeGreaterThan(0);
    for (const m of mappings)
      expect({ port: m.containerPort, host: m.hostPort, on: m.listenAddress }).toEqual({
        port: m.containerPort,
        host: 0,
        on: '127.0.0.1',
      });
    expect(kindConfig.name).toBeUndefined();
  });

  it('maps exactly the NodePorts that are deployed, and kind.sh knows each by the URL it prints', () => {
    const values = parse(
      readFileSync(join(repoRoot, 'monitoring/kube-prometheus-stack-values.yaml'), 'utf8'),
    );
    const nodePorts = [
      ...deploy.objects
        .filter((o) => o.kind === 'Service' && o.spec.type === 'NodePort')
        .flatMap((o) => o.spec.ports.map((p: { nodePort: number }) => p.nodePort)),
      values.prometheus.service.nodePort,
      values.grafana.service.nodePort,
    ].sort();
    expect(mappings.map((m) => m.containerPort).sort()).toEqual(nodePorts);
    const kindSh = readFileSync(join(repoRoot, 'k8s/scripts/kind.sh'), 'utf8');
    const known = [...kindSh.matchAll(/^\s+[A-Z_]+_URL\) echo (\d+) ;;/gm)].map((m) => Number(m[1])).sort();
    expect(known).toEqual(nodePorts);
  });
});

describe('kind.sh deploy', () => {
  const find = (kind: string, name: string) =>
    deploy.objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('applies a valid rendering (schemas and unknown fields) of the overlay plus its generated parts', () => {
    expect({ status: deploy.status, stderr: deploy.stderr }).toEqual({ status: 0, stderr: '' });
    const problems = deploy.objects.flatMap((o) =>
      validateObject(o).map((p) => `${o.kind}/${o.metadata.name}: ${p}`),
    );
    expect(problems).toEqual([]);
    expect(
      strictTypeProblems(deploy.objects.map((object) => ({ source: 'kind.sh deploy', object }))),
    ).toEqual([]);
  });

  it('keeps its state under a valid per-cluster name, whatever a pipeline passes', () => {
    expect(deploy.stdout).toContain('generated overlay .data/kind/jenkins-shop-pr-12-build/deploy');
  });

  it('pins the image tag of every image it built, the chaos engine included', () => {
    const images = deploy.objects
      .filter((o) => o.kind === 'Deployment' && o.metadata.namespace === 'shop')
      .map((o) => o.spec.template.spec.containers[0].image)
      .sort();
    expect(images).toEqual(
      ['inventory', 'notification', 'order'].map((s) => `self-healing-shop/${s}:abc1234`),
    );
    expect(deploy.generated['kustomization.yaml']).toMatch(
      /- name: self-healing-shop\/chaos\n\s+newTag: 'abc1234'/,
    );
  });

  it('generates the admin token Secret from a random token that it keeps out of the repository', () => {
    const secret = find('Secret', 'shop-admin') as K8sObject;
    const token = Buffer.from(secret.data.ADMIN_TOKEN, 'base64').toString('utf8');
    expect(deploy.generated['admin-token.env']).toBe(`ADMIN_TOKEN=${token}\n`);
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    const again = runKindDeploy({ tag: 'abc1234' });
    const other = Buffer.from(
      (again.objects.find((o) => o.metadata.name === 'shop-admin') as K8sObject).data.ADMIN_TOKEN,
      'base64',
    );
    expect(other.toString('utf8')).not.toBe(token);
  });

  it('admits the API server proxy from the addresses the nodes report', () => {
    const policy = find('NetworkPolicy', 'services-ingress-from-apiserver-proxy') as K8sObject;
    const cidrs = policy.spec.ingress[0].from.map((p: { ipBlock: { cidr: string } }) => p.ipBlock.cidr);
    expect(cidrs).toEqual(NODE_ADDRESSES.map((ip) => `${ip}/32`));
    const v6 = runKindDeploy({ nodes: ['fc00:f853:ccd:e793::2'] });
    expect(v6.generated['apiserver-proxy-policy.yaml']).toContain('cidr: fc00:f853:ccd:e793::2/128');
  });

  it('refuses to deploy when no node reports an address (the admin API would be unreachable)', () => {
    const none = runKindDeploy({ nodes: [] });
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('no node of self-healing-shop reports an InternalIP');
  });

  it('holds the dashboards of monitoring/dashboards as ConfigMaps, unchanged', () => {
    // The dashboards are the ConfigMaps labelled for Grafana's sidecar (jaeger-config is Jaeger's own).
    const maps = deploy.objects.filter(
      (o) =>
        o.kind === 'ConfigMap' &&
        o.metadata.namespace === 'monitoring' &&
        o.metadata.labels?.['grafana_dashboard'] === '1',
    );
    const files = Object.fromEntries(maps.flatMap((m) => Object.entries(m.data as Record<string, string>)));
    expect(Object.keys(files).sort()).toEqual(['platform-overview.json', 'resilience.json']);
    for (const [file, json] of Object.entries(files))
      expect(json).toBe(readFileSync(join(repoRoot, 'monitoring/dashboards', file), 'utf8'));
  });
});

describe('k8s/addons/metrics-server (kind installs none: HPAs would never scale)', () => {
  const kustomization = parse(
    readFileSync(join(repoRoot, 'k8s/addons/metrics-server/kustomization.yaml'), 'utf8'),
  );

  it('takes a pinned upstream release manifest, never "latest"', () => {
    expect(kustomization.resources).toEqual([
      expect.stringMatching(
        /^https:\/\/github\.com\/kubernetes-sigs\/metrics-server\/releases\/download\/v\d+\.\d+\.\d+\/components\.yaml$/,
      ),
    ]);
  });

  it('adds --kubelet-insecure-tls to the metrics-server container (kind kubelets have self-signed certificates)', () => {
    const [patch] = kustomization.patches;
    expect(patch.target).toMatchObject({
      kind: 'Deployment',
      name: 'metrics-server',
      namespace: 'kube-system',
    });
    expect(parseDocuments(patch.patch, 'patch')[0]).toEqual([
      { op: 'add', path: '/spec/template/spec/containers/0/args/-', value: '--kubelet-insecure-tls' },
    ]);
  });
});
