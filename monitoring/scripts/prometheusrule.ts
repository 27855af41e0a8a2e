// Wraps the promtool-tested rules file in a PrometheusRule, so Kubernetes and the local runtime
// evaluate the same rules. Used by generate-prometheusrule.ts and checked by a test.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { parse, stringify } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const rulesFile = 'monitoring/rules/self-healing-shop.rules.yaml';
export const prometheusRuleFile = 'k8s/base/monitoring/prometheusrule.yaml';
/** kube-prometheus-stack's default ruleSelector matches `release: <helm release name>`. */
export const helmRelease = 'kube-prometheus-stack';

const header = `# GENERATED from ${rulesFile} by \`node monitoring/scripts/generate-prometheusrule.ts\`; do not edit.
# monitoring/test/prometheusrule.test.ts runs the promtool unit tests of the rules against this object.
`;

export async function renderPrometheusRule(): Promise<string> {
  const rules = parse(await readFile(repoRoot + rulesFile, 'utf8')) as { groups: unknown[] };
  const object = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'self-healing-shop',
      namespace: 'shop',
      labels: { 'app.kubernetes.io/part-of': 'self-healing-shop', release: helmRelease },
    },
    spec: { groups: rules.groups },
  };
  const path = repoRoot + prometheusRuleFile;
  const options = (await resolveConfig(path)) ?? {};
  return format(header + stringify(object, { lineWidth: 0 }), { ...options, filepath: path });
}
