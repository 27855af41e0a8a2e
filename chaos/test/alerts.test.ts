import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpAlertSource } from '../src/alerts/alert-source.ts';
import { alertObjectives, watchAlerts, type AlertWatchDeps } from '../src/alerts/alert-watch.ts';
import { junitCases, type ChaosReport } from '../src/report/report.ts';
import { judge } from '../src/verdict.ts';
import { summarizeMttr } from '../src/stats.ts';
import { freePort, startAlertmanager, type TestAlertmanager } from './support/alertmanager.ts';

let am: TestAlertmanager;

beforeAll(async () => {
  am = await startAlertmanager();
});

afterAll(async () => {
  await am?.stop();
});

/** Watch deps on the test's Alertmanager; `onWatching` runs once the baseline was read (= the action starts). */
function deps(onWatching?: () => Promise<void>, url = am.url): AlertWatchDeps & { events: string[] } {
  const events: string[] = [];
  return {
    source: async () => httpAlertSource(url),
    signal: new AbortController().signal,
    now: Date.now,
    pollMs: 100,
    events,
    log: (type) => {
      events.push(type);
      if (type === 'alerts-watch' && onWatching) void onWatching();
    },
  };
}

const labels = (alertname: string, test: string): Record<string, string> => ({
  alertname,
  namespace: 'shop',
  service: 'order',
  severity: 'warning',
  test,
});

/** The rest of a verdict, all met, so only the alert objectives decide it. */
function verdictWith(objectives: ReturnType<typeof alertObjectives>) {
  return judge({
    measuresRecovery: false,
    mttr: summarizeMttr([]),
    mttrSloMs: 1000,
    disruptions: 0,
    recovered: 0,
    recoveryTimeoutMs: 1000,
    minSuccess: 0.9,
    load: { sent: 10, succeeded: 10 },
    loadScope: 'all orders',
    steadyStateAfter: { ok: true, detail: 'ok' },
    extra: objectives,
  });
}

describe('alerts objective (real Alertmanager, alerts posted as Prometheus posts them)', () => {
  it('passes when the expected alert fires during the watch', async () => {
    const result = await watchAlerts(
      { expected: ['CircuitBreakerOpen'], silent: [], within: 20_000 },
      deps(() => am.post([{ labels: labels('CircuitBreakerOpen', 'fires') }])),
    );
    expect(result.checked).toBe(true);
    expect(result.fired.map((a) => [a.name, a.labels['test']])).toEqual([['CircuitBreakerOpen', 'fires']]);
    const objectives = alertObjectives(result, false);
    expect(objectives).toHaveLength(1);
    expect(objectives[0]).toMatchObject({ name: 'expected alerts fired', passed: true });
    expect(objectives[0].details?.[0]).toContain('test=fires');
    expect(verdictWith(objectives).passed).toBe(true);
  });

  it('fails when the expected alert does not fire within the window, naming it', async () => {
    const result = await watchAlerts(
      { expected: ['DeploymentReplicasNotReady'], silent: [], within: 1_500 },
      deps(() => am.post([{ labels: labels('ServiceDegraded', 'other') }])),
    );
    expect(result.checked).toBe(true);
    expect(result.fired).toEqual([]);
    const verdict = verdictWith(alertObjectives(result, false));
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual(['DeploymentReplicasNotReady did not fire within 1.50s of the action']);
  });

  it('does not count an expected alert that was already firing before the action', async () => {
    await am.post([{ labels: labels('ServiceHighErrorRate', 'before') }]);
    const result = await watchAlerts(
      { expected: ['ServiceHighErrorRate'], silent: [], within: 1_000 },
      deps(),
    );
    expect(result.firingBefore).toEqual(['ServiceHighErrorRate']);
    const [objective] = alertObjectives(result, false);
    expect(objective.passed).toBe(false);
    expect(objective.actual).toContain('already firing before, not counted: ServiceHighErrorRate');
  });

  it('fails when an alert that must stay silent fires', async () => {
    const result = await watchAlerts(
      { expected: [], silent: ['OrderSLOErrorBudgetBurnFast'], within: 1_500 },
      deps(() =>
        am.post([{ labels: { ...labels('OrderSLOErrorBudgetBurnFast', 'silent'), severity: 'critical' } }]),
      ),
    );
    expect(result.brokeSilence.map((a) => a.name)).toEqual(['OrderSLOErrorBudgetBurnFast']);
    const verdict = verdictWith(alertObjectives(result, false));
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual([
      'OrderSLOErrorBudgetBurnFast fired although the experiment must leave it silent',
    ]);
  });

  it('passes the silence objective when only other alerts fire', async () => {
    const result = await watchAlerts(
      { expected: ['PodRestartingRepeatedly'], silent: ['OrderSLOErrorBudgetBurnSlow'], within: 1_500 },
      deps(() => am.post([{ labels: labels('PodRestartingRepeatedly', 'with-silent') }])),
    );
    const objectives = alertObjectives(result, false);
    expect(objectives.map((o) => [o.name, o.passed])).toEqual([
      ['expected alerts fired', true],
      ['silent alerts stayed silent', true],
    ]);
  });

  it('keeps watching a silent alert after every expected one fired', async () => {
    const d = deps(() => am.post([{ labels: labels('ServiceDegraded', 'then-silent') }]));
    const log = d.log;
    // The silent alert fires only once the expected one has been seen.
    d.log = (type, message, data) => {
      log(type, message, data);
      if (type === 'alert-fired') void am.post([{ labels: labels('CircuitBreakerOpen', 'after-expected') }]);
    };
    const result = await watchAlerts(
      { expected: ['ServiceDegraded'], silent: ['CircuitBreakerOpen'], within: 3_000 },
      d,
    );
    expect(result.fired.map((a) => a.labels['test'])).toEqual(['then-silent']);
    expect(result.brokeSilence.map((a) => a.labels['test'])).toEqual(['after-expected']);
  });

  it('watches silent alerts until the rounds are over, past the window, and counts a late expected alert as not fired', async () => {
    // A clock of the test's own: the window passes when the test says so, not with the wall clock.
    let clock = 0;
    let endActions = (): void => undefined;
    const d = deps();
    d.now = () => clock;
    d.actionsEnded = new Promise<void>((resolve) => (endActions = resolve));
    d.log = (type) => {
      if (type === 'alerts-watch') {
        clock = 5_000; // the rounds outlast the 1 s window
        void am.post([
          { labels: labels('ServiceDegraded', 'late') },
          { labels: labels('PodRestartingRepeatedly', 'during-rounds') },
        ]);
      }
      if (type === 'alert-broke-silence') endActions();
    };
    const result = await watchAlerts(
      { expected: ['ServiceDegraded'], silent: ['PodRestartingRepeatedly'], within: 1_000 },
      d,
    );
    expect(result.brokeSilence.map((a) => a.labels['test'])).toEqual(['during-rounds']);
    const verdict = verdictWith(alertObjectives(result, false));
    expect(verdict.reasons).toEqual([
      'ServiceDegraded (fired only after 5.00s) did not fire within 1.00s of the action',
      'PodRestartingRepeatedly fired although the experiment must leave it silent',
    ]);
  });

  it('reports "not checked" with the reason when no Alertmanager answers, without a pass', async () => {
    const closed = await freePort();
    const result = await watchAlerts(
      { expected: ['CircuitBreakerOpen'], silent: ['OrderSLOErrorBudgetBurnFast'], within: 1_000 },
      deps(undefined, `http://127.0.0.1:${closed}`),
    );
    expect(result.checked).toBe(false);
    expect(result.reason).toMatch(new RegExp(`Alertmanager at http://127.0.0.1:${closed} is not reachable`));
    const objectives = alertObjectives(result, false);
    expect(objectives.map((o) => [o.name, o.passed, o.actual, o.notChecked])).toEqual([
      ['expected alerts fired', false, 'not checked', true],
      ['silent alerts stayed silent', false, 'not checked', true],
    ]);
    // Not checked is no pass, and by default no failure of the verdict either ...
    expect(verdictWith(objectives).passed).toBe(true);
    // ... but with --require-alerts it breaks it.
    const required = verdictWith(alertObjectives(result, true));
    expect(required.passed).toBe(false);
    expect(required.reasons[0]).toMatch(/^alerts not checked: .* \(--require-alerts\)$/);
    // JUnit: skipped with the reason, not passed and not failed.
    const cases = junitCases({
      experiment: { name: 'x' },
      rounds: [],
      verdict: verdictWith(objectives),
      status: 'passed',
    } as unknown as ChaosReport);
    const alertCases = cases.filter((c) => c.name.includes('alerts'));
    expect(alertCases.map((c) => [c.name, c.failure, c.skipped?.startsWith('alerts not checked')])).toEqual([
      ['expected alerts fired', undefined, true],
      ['silent alerts stayed silent', undefined, true],
    ]);
  });

  it('rejects a server that is not Alertmanager instead of reading "no alerts"', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end(JSON.stringify({ status: 'success', data: [] })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    try {
      await expect(httpAlertSource(`http://127.0.0.1:${address.port}`).firing()).rejects.toThrow(
        /did not answer a list of alerts/,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
