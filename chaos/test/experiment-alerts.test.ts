import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { ExperimentError, listExperiments, parseExperiment } from '../src/experiment.ts';

const base = { name: 'x', description: 'd', action: { kind: 'pod-kill' } };

describe('experiment alerts', () => {
  it('accepts expected and silent alert names with a window', () => {
    const e = parseExperiment({
      ...base,
      alerts: { expected: ['CircuitBreakerOpen'], silent: ['OrderSLOErrorBudgetBurnFast'], within: '2m' },
    });
    expect(e.alerts).toEqual({
      expected: ['CircuitBreakerOpen'],
      silent: ['OrderSLOErrorBudgetBurnFast'],
      within: 120_000,
    });
  });

  it('rejects a window without a unit, an alert both expected and silent, and an empty declaration', () => {
    expect(() => parseExperiment({ ...base, alerts: { expected: ['A'], within: '90' } })).toThrow(
      /alerts\.within/,
    );
    expect(() =>
      parseExperiment({ ...base, alerts: { expected: ['A'], silent: ['A'], within: '1m' } }),
    ).toThrow(/A cannot be both expected and silent/);
    expect(() => parseExperiment({ ...base, alerts: { within: '1m' } })).toThrow(
      /name at least one expected or silent alert/,
    );
    expect(() => parseExperiment({ ...base, alerts: { expected: ['not an alert!'], within: '1m' } })).toThrow(
      ExperimentError,
    );
  });

  it('names only alerts that the repository rules define', async () => {
    const rules = parse(
      await readFile(new URL('../../monitoring/rules/self-healing-shop.rules.yaml', import.meta.url), 'utf8'),
    ) as { groups: Array<{ rules: Array<{ alert?: string }> }> };
    const defined = new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.alert).filter(Boolean)));
    const experiments = await listExperiments();
    const named = experiments.flatMap((e) => [...(e.alerts?.expected ?? []), ...(e.alerts?.silent ?? [])]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !defined.has(n))).toEqual([]);
    // pod-kill-all proves that an outage pages (issue 14: a kill-all run shows its expected alerts).
    expect(experiments.find((e) => e.name === 'pod-kill-all')?.alerts?.expected).toEqual([
      'OrderSLOErrorBudgetBurnFast',
    ]);
  });
});
