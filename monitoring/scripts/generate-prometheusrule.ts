// Regenerates k8s/base/monitoring/prometheusrule.yaml from monitoring/rules/self-healing-shop.rules.yaml.
import { writeFile } from 'node:fs/promises';
import { prometheusRuleFile, renderPrometheusRule, repoRoot, rulesFile } from './prometheusrule.ts';

await writeFile(repoRoot + prometheusRuleFile, await renderPrometheusRule());
console.log(`wrote ${prometheusRuleFile} from ${rulesFile}`);
