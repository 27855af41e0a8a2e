import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { helmRelease, prometheusRuleFile, renderPrometheusRule } from '../scripts/prometheusrule.ts';
import { loadRules, read } from './promql.ts';

describe('the PrometheusRule of k8s/base', () => {
  it('is generated from the promtool-tested rules file (node monitoring/scripts/generate-prometheusrule.ts)', async () => {
    expect(read(prometheusRuleFile)).toBe(await renderPrometheusRule());
  });

  it('holds exactly the groups of the rules file, labelled for the kube-prometheus-stack release', () => {
    const rule = parse(read(prometheusRuleFile));
    expect(rule.spec.groups).toEqual(loadRules().groups);
    expect(rule.metadata.labels.release).toBe(helmRelease);
  });
});
