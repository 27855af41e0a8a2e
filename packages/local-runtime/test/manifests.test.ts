import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { loadPlatform } from '../src/manifests/manifests.ts';
import { ManifestError } from '../src/manifests/manifest-error.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const fixtures = path.join(here, 'fixtures', 'k8s');

interface Container {
  name: string;
  ports: Array<{ name: string; containerPort: number }>;
  env: Array<Record<string, unknown>>;
  resources?: unknown;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
}
interface TestDeployment {
  apiVersion: string;
  kind: string;
  metadata: unknown;
  spec: { replicas: number; template: { spec: { containers: Container[] } } };
}

const deployment = (patch: (d: TestDeployment, c: Container) => void = () => undefined): string => {
  const d: TestDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'order', labels: { 'app.kubernetes.io/name': 'order' } },
    spec: {
      replicas: 2,
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [{ name: 'A', value: 'a' }],
              resources: { requests: { cpu: '250m' } },
              livenessProbe: { httpGet: { path: '/health', port: 'http' } },
            },
          ],
        },
      },
    },
  };
  patch(d, d.spec.template.spec.containers[0]!);
  return parseDocument(JSON.stringify(d)).toString();
};

async function load(...documents: string[]): Promise<ReturnType<typeof loadPlatform>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'manifests-'));
  try {
    await writeFile(path.join(dir, 'all.yaml'), documents.join('\n---\n'));
    return await loadPlatform(dir, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function errorOf(...documents: string[]): Promise<string> {
  const error = await load(...documents).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ManifestError);
  return (error as Error).message;
}

describe('reading manifests', () => {
  it('reads Deployments with env from values, ConfigMaps, Secrets and fieldRef, probes, preStop and grace', async () => {
    const platform = await loadPlatform(fixtures, repo);
    expect(platform.deployments.map((d) => d.name)).toEqual(['order', 'inventory', 'notification']);
    const order = platform.deployments[0]!;
    expect(order).toMatchObject({
      service: 'order',
      replicas: 2,
      httpPort: 8080,
      maxSurge: 1,
      maxUnavailable: 0,
      cpuRequestCores: 0.1,
      preStopSleepMs: 1000,
      terminationGracePeriodMs: 5000,
      file: 'packages/local-runtime/test/fixtures/k8s/deployments.yaml',
    });
    const env = Object.fromEntries(order.env.map((e) => [e.name, e.source]));
    expect(env['GREETING']).toEqual({ kind: 'value', value: 'hello' });
    expect(env['API_KEY']).toEqual({ kind: 'value', value: 's3cret' });
    expect(env['POD_NAME']).toEqual({ kind: 'field', fieldPath: 'metadata.name' });
    expect(order.livenessProbe).toEqual({
      path: '/health',
      headers: {},
      initialDelayMs: 0,
      periodMs: 1000,
      timeoutMs: 1000,
      successThreshold: 1,
      failureThreshold: 2,
    });
    expect(platform.autoscalers).toEqual([
      expect.objectContaining({
        name: 'order',
        deployment: 'order',
        minReplicas: 2,
        maxReplicas: 4,
        targetCpuUtilization: 70,
      }),
    ]);
    expect(platform.autoscalers[0]!.scaleDown.stabilizationWindowMs).toBe(60_000);
  });

  it("reads the repository's k8s/base", async () => {
    const platform = await loadPlatform(path.join(repo, 'k8s/base'), repo);
    expect(platform.deployments.map((d) => d.service).sort()).toEqual(['inventory', 'notification', 'order']);
    for (const d of platform.deployments) {
      expect(d.readinessProbe?.path).toBe('/ready');
      expect(d.livenessProbe?.path).toBe('/health');
    }
  });

  it('decodes base64 Secret data and skips kinds that mean nothing locally', async () => {
    const secret = `apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ndata: { TOKEN: ${Buffer.from('t0k').toString('base64')} }`;
    const platform = await load(
      'apiVersion: v1\nkind: Service\nmetadata: { name: order }\nspec: { ports: [{ port: 80 }] }',
      secret,
      deployment((_d, c) =>
        c.env.push({ name: 'T', valueFrom: { secretKeyRef: { name: 's', key: 'TOKEN' } } }),
      ),
    );
    expect(platform.deployments[0]!.env.find((e) => e.name === 'T')?.source).toEqual({
      kind: 'value',
      value: 't0k',
    });
  });

  it('names the field of an exec probe, which the local runtime cannot run', async () => {
    const message = await errorOf(deployment((_d, c) => (c.livenessProbe = { exec: { command: ['true'] } })));
    expect(message.split('\n')[0]).toBe(
      'all.yaml: Deployment order: spec.template.spec.containers[0].livenessProbe.exec is not supported by the local runtime',
    );
  });

  it('refuses a probe on another port than the container http port', async () => {
    const message = await errorOf(
      deployment((_d, c) => (c.readinessProbe = { httpGet: { path: '/ready', port: 9000 } })),
    );
    expect(message).toContain(
      'spec.template.spec.containers[0].readinessProbe.httpGet.port (9000) must be the container',
    );
  });

  it('refuses a configMapKeyRef to a ConfigMap that is not in the manifests', async () => {
    const message = await errorOf(
      deployment((_d, c) =>
        c.env.push({ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'X' } } }),
      ),
    );
    expect(message).toBe(
      'all.yaml: Deployment order: spec.template.spec.containers[0].env[1].valueFrom.configMapKeyRef.name names ConfigMap nope, which is not in the manifests',
    );
  });

  it('refuses a secretKeyRef to a key the Secret does not have', async () => {
    const message = await errorOf(
      'apiVersion: v1\nkind: Secret\nmetadata: { name: s }\nstringData: { A: b }',
      deployment((_d, c) => c.env.push({ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'B' } } })),
    );
    expect(message).toContain('env[1].valueFrom.secretKeyRef.key names key B, which Secret s does not have');
  });

  it('refuses an unquoted number as an env value, a second container and an unknown fieldRef', async () => {
    expect(await errorOf(deployment((_d, c) => (c.env[0]!['value'] = 8080)))).toContain(
      'spec.template.spec.containers[0].env[0].value must be a string (quote it)',
    );
    expect(
      await errorOf(deployment((d, c) => d.spec.template.spec.containers.push({ ...c, name: 'sidecar' }))),
    ).toContain(
      'spec.template.spec.containers with more than one container is not supported by the local runtime',
    );
    expect(
      await errorOf(
        deployment((_d, c) =>
          c.env.push({ name: 'N', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }),
        ),
      ),
    ).toContain('env[1].valueFrom.fieldRef.fieldPath is not supported by the local runtime');
  });

  it('refuses an HPA on memory and one whose Deployment has no CPU request', async () => {
    const hpa = (metric: string) =>
      `apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: { name: order }\nspec:\n  scaleTargetRef: { kind: Deployment, name: order }\n  maxReplicas: 3\n  metrics: [{ type: Resource, resource: { name: ${metric}, target: { type: Utilization, averageUtilization: 60 } } }]`;
    expect(await errorOf(deployment(), hpa('memory'))).toContain(
      'HorizontalPodAutoscaler order: spec.metrics[0].resource.name is not supported by the local runtime (only cpu)',
    );
    expect(
      await errorOf(
        deployment((_d, c) => delete c.resources),
        hpa('cpu'),
      ),
    ).toContain(
      'Deployment order: spec.template.spec.containers[0].resources.requests.cpu is required: HorizontalPodAutoscaler order targets CPU utilisation',
    );
  });

  it('reports YAML syntax errors with the file', async () => {
    expect(await errorOf('kind: Deployment\n  bad: [indent')).toMatch(
      /^all\.yaml: document 1: YAML is invalid/,
    );
  });
});
