// The probe and scrape paths of the manifests, asked of the real services. Each service's main.ts runs
// with exactly the environment its Deployment gets from `kind.sh deploy` (ConfigMap, Secret and field
// references resolved), except PORT=0 so that the OS picks the port, and with its database unreachable:
// a first deploy while postgres:18 is still being pulled (issue 10.8). The startup and liveness probes'
// path must answer 200 then, or the kubelet restarts the pod in a loop; readiness must answer 503.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { NAMESPACE, SERVICES } from '@self-healing-shop/contracts';
import { runKindDeploy } from './kind-deploy.ts';
import { repoRoot } from './manifests.ts';
import type { K8sObject } from './manifests.ts';
import { selects } from './network-policy.ts';

const deploy = runKindDeploy();
if (deploy.status !== 0) throw new Error(`kind.sh deploy failed: ${deploy.stderr}`);
const find = (kind: string, name: string) =>
  deploy.objects.find(
    (o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === NAMESPACE,
  );

function data(kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> {
  const object = find(kind, name);
  if (!object) throw new Error(`no ${kind} ${name}`);
  const encoded = Object.entries((object.data ?? {}) as Record<string, string>).map(([k, v]) => [
    k,
    kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v,
  ]);
  return { ...Object.fromEntries(encoded), ...(object.stringData ?? {}) };
}

/** The container's environment as the kubelet would build it for pod `<deployment>-test`. */
function podEnvironment(deployment: K8sObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of deployment.spec.template.spec.containers[0].env as {
    name: string;
    value?: string;
    valueFrom?: Record<string, { name?: string; key?: string; fieldPath?: string; optional?: boolean }>;
  }[]) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name')
      env[e.name] = `${deployment.metadata.name}-test`;
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      env[e.name] = data('ConfigMap', ref.name!)[ref.key!];
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      env[e.name] = data('Secret', ref.name!)[ref.key!];
    } else throw new Error(`env ${e.name}: a reference this test cannot resolve`);
  }
  return env;
}

const running: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(
    running.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
          child.once('exit', resolve);
          child.kill('SIGKILL');
        }),
    ),
  );
});

/** Starts `node services/<service>/src/main.ts`; resolves with the port it logged once listening. */
function start(
  service: string,
  env: Record<string, string>,
): Promise<{ port: number; output: () => string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'services', service, 'src/main.ts')], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${service} did not log "listening" within 30 s:\n${output.slice(-2000)}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // Complete lines only: a chunk may end in the middle of one.
      for (const line of output.split('\n').slice(0, -1)) {
        if (!line.includes('"listening"')) continue;
        const port = (JSON.parse(line) as { port?: number }).port;
        if (port) {
          clearTimeout(timer);
          resolve({ port, output: () => output });
          return;
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${service} exited with ${code} before listening:\n${output.slice(-2000)}`));
    });
  });
}

describe('the probes of the Deployments, against the running services with their database down', () => {
  it.each(SERVICES)(
    '%s: startup and liveness paths answer 200, readiness 503, the ServiceMonitor path serves metrics',
    async (service) => {
      const deployment = find('Deployment', service)!;
      const container = deployment.spec.template.spec.containers[0];
      const { port } = await start(service, podEnvironment(deployment));
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);

      expect((await get(container.startupProbe.httpGet.path)).status).toBe(200);
      expect((await get(container.livenessProbe.httpGet.path)).status).toBe(200);
      expect((await get(container.readinessProbe.httpGet.path)).status).toBe(503);

      const service_ = find('Service', service)!;
      const monitors = deploy.objects.filter(
        (o) => o.kind === 'ServiceMonitor' && selects(o.spec.selector, service_.metadata.labels ?? {}),
      );
      expect(monitors.length).toBeGreaterThan(0);
      for (const endpoint of monitors.flatMap((m) => m.spec.endpoints as { path: string }[])) {
        const metrics = await get(endpoint.path);
        expect(metrics.status).toBe(200);
        expect(await metrics.text()).toMatch(/^# HELP /m);
      }
    },
    60_000,
  );
});
