// The KIND overlay as kustomize renders it, against kind-config.yaml, the chart values, the dashboards
// and the deploy step of k8s/scripts/kind.sh (which pins the image tag in a generated overlay).
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { findKustomize, parseDocuments, render, repoRoot, services } from './manifests.ts';
import type { K8sObject, Kustomize } from './manifests.ts';

function kustomize(): Kustomize {
  const found = findKustomize();
  if ('error' in found) throw new Error(found.error);
  return found;
}

const kindConfig = parse(readFileSync(join(repoRoot, 'kind-config.yaml'), 'utf8'));
const values = parse(readFileSync(join(repoRoot, 'monitoring/kube-prometheus-stack-values.yaml'), 'utf8'));
const hostPortTo = (hostPort: number): number => {
  const mapping = kindConfig.nodes[0].extraPortMappings.find(
    (m: { hostPort: number }) => m.hostPort === hostPort,
  );
  if (!mapping) throw new Error(`kind-config.yaml maps no host port ${hostPort}`);
  return mapping.containerPort;
};

describe('kind-config.yaml', () => {
  it('has a control plane and two workers, with the host ports on 127.0.0.1', () => {
    expect(kindConfig.nodes.map((n: { role: string }) => n.role)).toEqual([
      'control-plane',
      'worker',
      'worker',
    ]);
    for (const m of kindConfig.nodes[0].extraPortMappings) expect(m.listenAddress).toBe('127.0.0.1');
  });

  it('maps Grafana (3000) and Prometheus (9090) to the chart NodePorts', () => {
    expect(values.grafana.service).toEqual({ type: 'NodePort', nodePort: hostPortTo(3000) });
    expect(values.prometheus.service).toEqual({ type: 'NodePort', nodePort: hostPortTo(9090) });
  });
});

describe('k8s/overlays/kind rendered', () => {
  const objects = () => render(kustomize(), 'k8s/overlays/kind').map(({ object }) => object);
  const find = (list: K8sObject[], kind: string, name: string) =>
    list.find((o) => o.kind === kind && o.metadata.name === name);

  it('exposes order on the NodePort that kind-config.yaml maps to 127.0.0.1:8080', () => {
    const order = find(objects(), 'Service', 'order')!;
    expect(order.spec.type).toBe('NodePort');
    expect(order.spec.ports).toEqual([
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: hostPortTo(8080) },
    ]);
  });

  it('holds the dashboards of monitoring/dashboards as ConfigMaps the Grafana sidecar loads', () => {
    const maps = objects().filter(
      (o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1',
    );
    const files = ['platform-overview.json', 'resilience.json'];
    expect(maps.flatMap((m) => Object.keys(m.data)).sort()).toEqual(files);
    for (const m of maps) {
      expect(m.metadata.namespace).toBe('monitoring');
      for (const [file, json] of Object.entries(m.data as Record<string, string>)) {
        expect(json).toBe(readFileSync(join(repoRoot, 'monitoring/dashboards', file), 'utf8'));
      }
    }
  });

  it('keeps the shop objects in namespace shop', () => {
    for (const o of objects()) {
      if (o.kind === 'Namespace' || o.metadata.labels?.grafana_dashboard === '1') continue;
      expect({ object: `${o.kind}/${o.metadata.name}`, ns: o.metadata.namespace }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        ns: 'shop',
      });
    }
  });

  it('is deployed by kind.sh with the image tag pinned in a generated overlay', () => {
    // Runs the real deploy step against a copy of the repository, with a kubectl stand-in that renders
    // what `kubectl apply -k` would apply.
    const dir = mkdtempSync(join(tmpdir(), 'kind-deploy-'));
    try {
      for (const part of ['k8s', 'monitoring', 'kind-config.yaml'])
        cpSync(join(repoRoot, part), join(dir, part), {
          recursive: true,
          filter: (src) => !src.includes('node_modules'),
        });
      const bin = join(dir, 'bin');
      const rendered = join(dir, 'rendered.yaml');
      const found = kustomize().bin;
      const realKubectl = found.includes('/')
        ? found
        : spawnSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
      mkdirSync(bin);
      writeFileSync(
        join(bin, 'kubectl'),
        `#!/usr/bin/env bash\n# kubectl --context C apply -k DIR -> render DIR\n[ "$3" = apply ] && [ "$4" = -k ] || exit 3\nexec ${realKubectl} kustomize "$5" > ${rendered}\n`,
      );
      chmodSync(join(bin, 'kubectl'), 0o755);
      const run = spawnSync('bash', [join(dir, 'k8s/scripts/kind.sh'), 'deploy'], {
        encoding: 'utf8',
        env: {
          ...process.env,
          PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
          IMAGE_TAG: 'abc1234',
        },
      });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.stdout).toContain('applying k8s/overlays/kind with image tag abc1234');
      const images = parseDocuments(readFileSync(rendered, 'utf8'), rendered)
        .map((o) => o as K8sObject)
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.spec.template.spec.containers[0].image)
        .sort();
      expect(images).toEqual(services.map((s) => `self-healing-shop/${s}:abc1234`).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
