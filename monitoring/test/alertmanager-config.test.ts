// Alertmanager's configuration on KIND (monitoring/scripts/alertmanager-config.ts), checked by the real
// amtool: it loads, and alerts with the rules' labels reach the receivers the routing promises.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  alertmanagerConfig,
  alertmanagerValues,
  PAGERDUTY_KEY,
  RECEIVERS_SECRET,
  SLACK_KEY,
} from '../scripts/alertmanager-config.ts';
import type { GivenReceivers } from '../scripts/alertmanager-config.ts';
import { loadRules } from './promql.ts';

const dir = mkdtempSync(join(tmpdir(), 'alertmanager-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function amtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('amtool', args, { encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'amtool is not on PATH: run `bash k8s/scripts/install-prometheus.sh` (Debian package prometheus-alertmanager, without its daemon)',
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

function configFile(given: GivenReceivers): string {
  const file = join(dir, `${given.slack}-${given.pagerduty}.yml`);
  writeFileSync(file, stringify(alertmanagerConfig(given)));
  return file;
}

/** The receivers Alertmanager's routing tree picks for an alert with these labels. */
function receivers(given: GivenReceivers, labels: Record<string, string>): string[] {
  const run = amtool(
    'config',
    'routes',
    'test',
    `--config.file=${configFile(given)}`,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
  );
  expect(run.status).toBe(0);
  const line = run.output.split('\n').find((l) => l.trim() && !l.startsWith('Warning:'));
  return (line ?? '').trim().split(',');
}

const all = { slack: true, pagerduty: true };
const none = { slack: false, pagerduty: false };

describe('the Alertmanager configuration on KIND', () => {
  it.each([all, none, { slack: true, pagerduty: false }, { slack: false, pagerduty: true }])(
    'loads in Alertmanager (amtool check-config) with receivers %o',
    (given) => {
      const run = amtool('check-config', configFile(given));
      expect(run.output).toContain('SUCCESS');
      expect(run.status).toBe(0);
    },
  );

  it('pages PagerDuty and tells Slack about a critical alert, tells Slack only about a warning', () => {
    expect(receivers(all, { alertname: 'OrderSLOErrorBudgetBurnFast', severity: 'critical' })).toEqual([
      'pagerduty',
      'slack',
    ]);
    expect(
      receivers(all, { alertname: 'CircuitBreakerOpen', severity: 'warning', service: 'order' }),
    ).toEqual(['slack']);
  });

  it('sends every alert of the rules somewhere when the receivers are given', () => {
    for (const rule of loadRules().groups.flatMap((g) => g.rules)) {
      if (!rule.alert) continue;
      const got = receivers(all, { alertname: rule.alert, severity: rule.labels?.severity ?? '' });
      expect({ alert: rule.alert, receivers: got }).toEqual({
        alert: rule.alert,
        receivers: expect.arrayContaining(['slack']),
      });
    }
  });

  it('keeps alerts on the default receiver when no credential is given, and the Watchdog quiet', () => {
    expect(receivers(none, { alertname: 'ServiceHighErrorRate', severity: 'critical' })).toEqual(['default']);
    expect(receivers(all, { alertname: 'Watchdog', severity: 'none' })).toEqual(['null']);
  });

  it('groups per alert and service, so one broken service makes one notification', () => {
    expect(alertmanagerConfig(all).route.group_by).toEqual(expect.arrayContaining(['alertname', 'service']));
  });

  it('reads the credentials from the mounted Secret, never from the values', () => {
    const values = parse(alertmanagerValues(all));
    expect(values.alertmanager.alertmanagerSpec.secrets).toEqual([RECEIVERS_SECRET]);
    const text = JSON.stringify(values.alertmanager.config);
    expect(text).toContain(`/etc/alertmanager/secrets/${RECEIVERS_SECRET}/${SLACK_KEY}`);
    expect(text).toContain(`/etc/alertmanager/secrets/${RECEIVERS_SECRET}/${PAGERDUTY_KEY}`);
    expect(text).not.toMatch(/"(api_url|routing_key|service_key)":/);
  });
});
