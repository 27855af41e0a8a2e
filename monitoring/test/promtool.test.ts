// The alert rules and the local Prometheus config, checked and unit-tested by the real promtool.
import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadRules, promtool, promtoolTestsDir, read, repoRoot, rulesPath } from './promql.ts';

const testFiles = readdirSync(repoRoot + promtoolTestsDir)
  .filter((f) => f.endsWith('.test.yaml'))
  .map((f) => `${promtoolTestsDir}/${f}`);

interface UnitTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const run = promtool('check', 'rules', rulesPath);
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(run.status).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    expect(testFiles.length).toBeGreaterThanOrEqual(5);
    const run = promtool('test', 'rules', ...testFiles);
    expect({ status: run.status, output: run.output }).toEqual({
      status: 0,
      output: expect.not.stringMatching(/FAILED/),
    });
  });

  it('each alert has a unit test where it fires and one where it stays silent', () => {
    const alerts = loadRules()
      .groups.flatMap((g) => g.rules)
      .flatMap((r) => (r.alert ? [r.alert] : []));
    const cases = testFiles.flatMap((file) => {
      const suite = parse(read(file)) as UnitTests;
      expect(suite.rule_files.map((f) => resolve(dirname(repoRoot + file), f))).toEqual([
        repoRoot + rulesPath,
      ]);
      return suite.tests.flatMap((t) => t.alert_rule_test ?? []);
    });
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect({ alert, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({ alert, fires: true });
      expect({ alert, silent: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({ alert, silent: true });
    }
    expect(alerts.sort()).toEqual([
      'CircuitBreakerOpen',
      'DeploymentReplicasNotReady',
      'OrderSLOErrorBudgetBurnFast',
      'OrderSLOErrorBudgetBurnSlow',
      'PodRestartingRepeatedly',
      'ServiceDegraded',
      'ServiceHighErrorRate',
    ]);
  });

  it('every alert has a severity, a summary and a description', () => {
    for (const rule of loadRules().groups.flatMap((g) => g.rules)) {
      if (!rule.alert) continue;
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(critical|warning|info)$/),
      });
      const { annotations } = rule as { annotations?: Record<string, string> };
      expect(Object.keys(annotations ?? {}).sort()).toEqual(['description', 'summary']);
    }
  });
});

describe('monitoring/prometheus-local.yml', () => {
  const config = parse(read('monitoring/prometheus-local.yml'));
  const here = repoRoot + 'monitoring/';

  it('passes promtool check config (which also checks the rule files it names)', () => {
    const run = promtool('check', 'config', 'monitoring/prometheus-local.yml');
    expect(run.output).toMatch(/SUCCESS: .*valid prometheus config/);
    expect(run.status).toBe(0);
  });

  it('scrapes every 5 s and evaluates the shared rules file', () => {
    expect(config.global.scrape_interval).toBe('5s');
    expect(config.rule_files.map((f: string) => resolve(here, f))).toEqual([repoRoot + rulesPath]);
  });

  it('discovers the replicas from .data/prometheus/targets/*.json and scrapes the runtime on 7070', () => {
    const shop = config.scrape_configs.find((j: { job_name: string }) => j.job_name === 'shop');
    expect(resolve(here, shop.file_sd_configs[0].files[0])).toBe(
      resolve(repoRoot, '.data/prometheus/targets/*.json'),
    );
    const runtime = config.scrape_configs.find((j: { job_name: string }) => j.job_name === 'local-runtime');
    expect(runtime.static_configs[0].targets).toEqual(['127.0.0.1:7070']);
    expect(runtime.honor_labels).toBe(true);
  });
});
