import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { freePort } from '../src/networking/ports.ts';
import { findPrometheus, PROMETHEUS_INSTALL, prometheusConfig } from '../src/monitoring/prometheus.ts';
import { startRuntime } from '../src/runtime.ts';
import type { Runtime } from '../src/runtime.ts';
import { fixtureServer, repoRoot, waitFor } from './helpers.ts';

interface Config {
  rule_files: string[];
  scrape_configs: Array<{
    job_name: string;
    file_sd_configs?: Array<{ files: string[] }>;
    static_configs?: Array<{ targets: string[] }>;
  }>;
}

describe('Prometheus configuration', () => {
  it("uses monitoring/prometheus-local.yml with this runtime's targets folder, addresses and absolute rule paths", async () => {
    const text = await prometheusConfig({
      dataDir: '/data/prometheus',
      monitoringDir: path.join(repoRoot, 'monitoring'),
      runtimeAddress: '127.0.0.1:4321',
      port: 9999,
    });
    const config = parse(text) as Config;
    expect(config.rule_files.length).toBeGreaterThan(0);
    for (const file of config.rule_files)
      expect(path.isAbsolute(file) && file.startsWith(path.join(repoRoot, 'monitoring'))).toBe(true);
    const shop = config.scrape_configs.find((c) => c.file_sd_configs);
    expect(shop?.file_sd_configs?.[0]?.files).toEqual(['/data/prometheus/targets/*.json']);
    const statics = config.scrape_configs.flatMap((c) => c.static_configs ?? []).flatMap((s) => s.targets);
    expect(statics).toContain('127.0.0.1:4321');
    expect(statics).not.toContain('127.0.0.1:7070');
  });

  it('generates a config with the rules under monitoring/rules when there is no prometheus-local.yml', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'monitoring-'));
    try {
      await mkdir(path.join(dir, 'rules'));
      await writeFile(path.join(dir, 'rules', 'alerts.yml'), 'groups: []\n');
      await writeFile(path.join(dir, 'rules', 'alerts.test.yml'), 'tests: []\n');
      const config = parse(
        await prometheusConfig({ dataDir: '/d', monitoringDir: dir, runtimeAddress: '127.0.0.1:1', port: 2 }),
      ) as Config;
      expect(config.rule_files).toEqual([path.join(dir, 'rules', 'alerts.yml')]);
      expect(config.scrape_configs.map((c) => c.job_name)).toEqual(['shop', 'local-runtime']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Prometheus under the runtime', () => {
  let runtime: Runtime | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await runtime?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('scrapes every replica found through file-based discovery', async () => {
    const binary = await findPrometheus();
    // A missing tool fails the test with the way to install it; it never passes silently.
    if (!binary) throw new Error(`prometheus is not on PATH: ${PROMETHEUS_INSTALL}`);
    dir = await mkdtemp(path.join(os.tmpdir(), 'runtime-prom-'));
    await writeFile(
      path.join(dir, 'web.yaml'),
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app.kubernetes.io/name: web } }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /ready, port: http }, periodSeconds: 1 }
`,
    );
    runtime = await startRuntime({
      rootDir: repoRoot,
      k8sDir: dir,
      dataDir: path.join(dir, 'data'),
      controlPort: 0,
      frontPorts: {},
      postgres: false,
      // Prometheus cannot listen on port 0 and tell which one it got: a port the kernel just handed out.
      prometheus: { port: await freePort(), binary },
      alertmanager: false,
      console: false,
      command: () => ({ command: process.execPath, args: [fixtureServer] }),
      logger: pino({ level: 'silent' }),
    });
    const url = runtime.prometheusUrl!;
    const pods = await waitFor(
      async () => {
        const body = (await (await fetch(`${url}/api/v1/targets`)).json()) as {
          data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> };
        };
        const replicas = body.data.activeTargets.filter(
          (t) => t.labels['service'] === 'web' && t.health === 'up',
        );
        return replicas.length === 2 ? replicas : undefined;
      },
      'two scraped replicas',
      30_000,
    );
    const names = runtime
      .replicas()
      .map((r) => r.name)
      .sort();
    expect(pods.map((t) => t.labels['pod']).sort()).toEqual(names);
    expect(pods[0]!.labels['namespace']).toBe('shop');
  }, 60_000);
});
