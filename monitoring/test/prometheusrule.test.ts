// The PrometheusRule that Kubernetes loads (k8s/base/monitoring/prometheusrule.yaml, generated from the
// rules file by monitoring/scripts/generate-prometheusrule.ts) means what the promtool unit tests say:
// its groups, taken out of the object, pass `promtool check rules` and every unit test of
// monitoring/promtool-tests in place of the rules file. No text comparison with a golden file.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { prometheusRuleFile } from '../scripts/prometheusrule.ts';
import { loadRules, promtool, promtoolTestsDir, read, repoRoot } from './promql.ts';

const rule = parse(read(prometheusRuleFile)) as { spec: { groups: { rules: { alert?: string }[] }[] } };
const dir = mkdtempSync(join(tmpdir(), 'prometheusrule-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rulesFromObject = join(dir, 'from-prometheusrule.rules.yaml');
writeFileSync(rulesFromObject, stringify({ groups: rule.spec.groups }));

describe('the PrometheusRule of k8s/base', () => {
  it('holds rules that promtool accepts', () => {
    const run = promtool('check', 'rules', rulesFromObject);
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(run.status).toBe(0);
  });

  it('passes every promtool unit test of the alert rules in place of the rules file', () => {
    const copies = readdirSync(join(repoRoot, promtoolTestsDir))
      .filter((f) => f.endsWith('.test.yaml'))
      .map((file) => {
        const suite = parse(read(`${promtoolTestsDir}/${file}`)) as { rule_files: string[] };
        const copy = join(dir, file);
        writeFileSync(copy, stringify({ ...suite, rule_files: [rulesFromObject] }));
        return copy;
      });
    expect(copies.length).toBeGreaterThan(0);
    const run = promtool('test', 'rules', ...copies);
    expect({ status: run.status, output: run.output }).toEqual({
      status: 0,
      output: expect.not.stringMatching(/FAILED/),
    });
  });

  it('carries every alert of the rules file that the local runtime evaluates', () => {
    const alerts = (groups: { rules: { alert?: string }[] }[]) =>
      groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))).sort();
    expect(alerts(rule.spec.groups)).toEqual(alerts(loadRules().groups));
  });
});
