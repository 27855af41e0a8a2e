// The local Alertmanager's configuration, checked by Alertmanager's own amtool, and the Prometheus
// configuration that sends to it, checked by promtool (both from Debian's packages, as CI installs them).
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { findAlertmanager, localAlertmanagerConfig } from '../src/monitoring/alertmanager.ts';
import { prometheusConfig } from '../src/monitoring/prometheus.ts';
import { repoRoot } from './helpers.ts';

const run = promisify(execFile);

async function tool(name: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(name, args);
    return `${stdout}${stderr}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const pkg = name === 'amtool' ? 'prometheus-alertmanager' : 'prometheus';
      throw new Error(`${name} is missing: \`apt-get install -y --no-install-recommends ${pkg}\``, {
        cause: error,
      });
    }
    throw error;
  }
}

async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'alertmanager-test-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('local Alertmanager configuration', () => {
  it('is valid for amtool and routes alerts to the default receiver, the Watchdog to null', async () => {
    await inTempDir(async (dir) => {
      const file = path.join(dir, 'alertmanager.yml');
      await writeFile(file, localAlertmanagerConfig());
      expect(await tool('amtool', ['check-config', file])).toContain('SUCCESS');
      const route = async (...labels: string[]) =>
        (await tool('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...labels]))
          .split('\n')[0]!
          .trim();
      expect(await route('alertname=CircuitBreakerOpen', 'severity=warning', 'service=order')).toBe(
        'default',
      );
      expect(await route('alertname=OrderSLOErrorBudgetBurnFast', 'severity=critical')).toBe('default');
      expect(await route('alertname=Watchdog')).toBe('null');
    });
  });

  it('groups by alert, namespace and service as on KIND, and has no receiver that needs a secret', () => {
    const config = parse(localAlertmanagerConfig()) as {
      route: { group_by: string[] };
      receivers: Array<{ name: string }>;
    };
    expect(config.route.group_by).toEqual(['alertname', 'namespace', 'service']);
    expect(config.receivers.map((r) => r.name)).toEqual(['null', 'default']);
  });
});

describe('findAlertmanager', () => {
  it("finds Debian's prometheus-alertmanager or upstream's alertmanager on PATH, else nothing", async () => {
    await inTempDir(async (dir) => {
      const debian = path.join(dir, 'debian');
      const upstream = path.join(dir, 'upstream');
      await mkdir(debian);
      await mkdir(upstream);
      await writeFile(path.join(debian, 'prometheus-alertmanager'), '#!/bin/sh\n');
      await writeFile(path.join(upstream, 'alertmanager'), '#!/bin/sh\n');
      await chmod(path.join(debian, 'prometheus-alertmanager'), 0o755);
      await chmod(path.join(upstream, 'alertmanager'), 0o755);
      expect(await findAlertmanager(debian)).toBe(path.join(debian, 'prometheus-alertmanager'));
      expect(await findAlertmanager(upstream)).toBe(path.join(upstream, 'alertmanager'));
      expect(await findAlertmanager(path.join(dir, 'empty'))).toBeUndefined();
    });
  });
});

describe('Prometheus configuration with Alertmanager', () => {
  it('sends alerts to the local Alertmanager and passes promtool check config', async () => {
    await inTempDir(async (dir) => {
      const text = await prometheusConfig({
        dataDir: dir,
        monitoringDir: path.join(repoRoot, 'monitoring'),
        runtimeAddress: '127.0.0.1:4321',
        port: 9999,
        alertmanagerAddress: '127.0.0.1:19093',
      });
      const config = parse(text) as {
        alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
      };
      expect(config.alerting.alertmanagers).toEqual([{ static_configs: [{ targets: ['127.0.0.1:19093'] }] }]);
      const file = path.join(dir, 'prometheus.yml');
      await writeFile(file, text);
      const output = await tool('promtool', ['check', 'config', file]);
      expect(output).toContain('SUCCESS');
      // The repository's rules are loaded (promtool checks every rule file it names).
      expect(output).toMatch(/self-healing-shop\.rules\.yaml/);
    });
  });

  it('has no alerting section without an Alertmanager', async () => {
    const text = await prometheusConfig({
      dataDir: '/d',
      monitoringDir: path.join(repoRoot, 'monitoring'),
      runtimeAddress: '127.0.0.1:4321',
      port: 9999,
    });
    expect((parse(text) as Record<string, unknown>)['alerting']).toBeUndefined();
  });
});
