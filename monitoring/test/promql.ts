// What the monitoring tests need to know about PromQL and the README's metric contract.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const read = (file: string) => readFileSync(repoRoot + file, 'utf8');
/** The promtool unit tests of the alert rules (`promtool test rules`); Jest's own tests are in test/. */
export const promtoolTestsDir = 'monitoring/promtool-tests';

/** Runs the real promtool in the repository root; fails with the install command when it is missing. */
export function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: repoRoot, encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'promtool is not on PATH: run `bash k8s/scripts/install-prometheus.sh` (Debian package prometheus, without its daemon)',
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const keywords = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
  'atan2',
]);

/**
 * The metric names a PromQL expression reads. Strings, label matchers, ranges, grouping clauses,
 * Grafana variables and function names are not metric names; what is left are the selectors.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || keywords.has(name)) continue;
    names.add(name);
  }
  return [...names];
}

export interface ContractMetric {
  name: string;
  type: string;
  labels: string[];
  /** Label values the README lists, e.g. outcome -> confirmed, rejected, ... */
  values: Record<string, string[]>;
}

/** The metrics of README "Metrics": the services' table plus the runtime's and chaos names. */
export function readmeMetrics(readme = read('README.md')): Map<string, ContractMetric> {
  const section = readme.split('### Metrics')[1]?.split(/\n## /)[0];
  if (!section) throw new Error('README.md has no "### Metrics" section');
  const metrics = new Map<string, ContractMetric>();
  for (const row of section.matchAll(/^\| `([a-z_:]+)` +\| ([^|]+)\|([^|]+)\|/gm)) {
    const [, name, type, labelCell] = row;
    const labels: string[] = [];
    const values: Record<string, string[]> = {};
    for (const m of labelCell.matchAll(/`([a-z_]+)`(?: \(([^)]*)\))?/g)) {
      labels.push(m[1]);
      if (m[2]) values[m[1]] = [...m[2].matchAll(/`([a-z_]+)`/g)].map((v) => v[1]);
    }
    metrics.set(name, { name, type: type.trim().split(' ')[0], labels, values });
  }
  for (const m of section.matchAll(/`([a-z_:]+)\{([a-z_,]*)\}`/g)) {
    metrics.set(m[1], {
      name: m[1],
      type: m[1].endsWith('_total') ? 'counter' : 'gauge',
      labels: m[2].split(','),
      values: {},
    });
  }
  return metrics;
}

/** Every name a query may use: contract metrics, their histogram series, and recording rules. */
export function allowedNames(contract: Map<string, ContractMetric>, recorded: Iterable<string>): Set<string> {
  const allowed = new Set<string>(recorded);
  for (const metric of contract.values()) {
    allowed.add(metric.name);
    if (metric.type === 'histogram')
      for (const suffix of ['_bucket', '_count', '_sum']) allowed.add(metric.name + suffix);
  }
  return allowed;
}

export interface RuleFile {
  groups: {
    name: string;
    rules: { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string> }[];
  }[];
}
export const rulesPath = 'monitoring/rules/self-healing-shop.rules.yaml';
export const loadRules = (): RuleFile => parse(read(rulesPath)) as RuleFile;

/** Every query of a Grafana dashboard: panel targets (rows included) and query variables. */
export function dashboardQueries(dashboard: DashboardJson): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const visit = (panels: PanelJson[] = []) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? [])
        out.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const inner = /^label_values\((.*),\s*\w+\)$/.exec(query ?? '');
    out.push({ where: `variable $${variable.name}`, expr: inner ? inner[1] : (query ?? '') });
  }
  return out;
}

export interface PanelJson {
  id?: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; datasource?: { type?: string; uid?: string } }[];
  panels?: PanelJson[];
}
export interface DashboardJson {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: PanelJson[];
  templating?: { list: { name: string; type: string; query?: string | { query: string } }[] };
}
export const dashboardFiles = [
  'monitoring/dashboards/platform-overview.json',
  'monitoring/dashboards/resilience.json',
];
export const loadDashboard = (file: string) => JSON.parse(read(file)) as DashboardJson;
