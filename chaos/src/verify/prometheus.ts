/**
 * Prometheus' HTTP API as the checks read it (https://prometheus.io/docs/prometheus/latest/querying/api/):
 * every answer is `{ status: "success" | "error", data, errorType?, error? }`;
 * - `GET /api/v1/targets?state=active` → `data.activeTargets[]`: `{ labels, scrapePool, scrapeUrl,
 *   lastError, health: "up" | "down" | "unknown" }` ("unknown" until the first scrape);
 * - `GET /api/v1/rules` → `data.groups[]`: `{ name, file, rules[], interval }`.
 */
import { requestJson } from './http.ts';
import { fail, pass, type CheckOutcome } from './check.ts';

export interface PrometheusTarget {
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  lastError: string;
  health: 'up' | 'down' | 'unknown';
}

export interface PrometheusRuleGroup {
  name: string;
  file: string;
  rules: unknown[];
}

/** Where Prometheus' API is reached: a URL, or the API server's Service proxy on Kubernetes. */
export interface PrometheusApi {
  readonly description: string;
  /** The `data` of a successful answer to `path` (e.g. `/api/v1/rules`). */
  get<T>(path: string): Promise<T>;
}

interface Envelope<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

/** Unwraps the API's envelope; an `error` answer rejects with Prometheus' own message. */
export function unwrap<T>(what: string, envelope: Envelope<T>): T {
  if (envelope.status !== 'success' || envelope.data === undefined) {
    throw new Error(
      `${what} answered status ${envelope.status}: ${envelope.errorType ?? ''} ${envelope.error ?? ''}`.trim(),
    );
  }
  return envelope.data;
}

export function prometheusAt(url: string): PrometheusApi {
  const base = url.replace(/\/+$/, '');
  return {
    description: `Prometheus at ${base}`,
    get: async <T>(path: string) =>
      unwrap<T>(`Prometheus ${path}`, await requestJson<Envelope<T>>(`Prometheus ${path}`, `${base}${path}`)),
  };
}

export async function activeTargets(api: PrometheusApi): Promise<PrometheusTarget[]> {
  return (await api.get<{ activeTargets: PrometheusTarget[] }>('/api/v1/targets?state=active')).activeTargets;
}

export async function ruleGroups(api: PrometheusApi): Promise<PrometheusRuleGroup[]> {
  return (await api.get<{ groups: PrometheusRuleGroup[] }>('/api/v1/rules')).groups;
}

/** A set of targets that must exist and be up: one ServiceMonitor, or one job of the local config. */
export interface TargetSet {
  name: string;
  matches: (target: PrometheusTarget) => boolean;
  /** `service` label values that must each have at least one target (the Services the set selects). */
  services?: readonly string[];
}

function describeTarget(t: PrometheusTarget): string {
  const who = t.labels.pod ?? t.labels.instance ?? t.scrapeUrl;
  return `${t.labels.job ?? t.scrapePool}/${who} ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`;
}

/**
 * Every set has targets, each of them `up`, and every named service has at least one. Seen: the count
 * per set and per service, or the targets that are not up.
 */
export function judgeTargets(
  targets: readonly PrometheusTarget[],
  sets: readonly TargetSet[],
  next: string,
): CheckOutcome {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const set of sets) {
    const mine = targets.filter(set.matches);
    const notUp = mine.filter((t) => t.health !== 'up');
    const missing = (set.services ?? []).filter((s) => !mine.some((t) => t.labels.service === s));
    if (mine.length === 0) problems.push(`${set.name}: no target`);
    if (missing.length > 0) problems.push(`${set.name}: no target for ${missing.join(', ')}`);
    for (const t of notUp) problems.push(describeTarget(t));
    const perService = (set.services ?? []).map(
      (s) => `${s} ${mine.filter((t) => t.labels.service === s && t.health === 'up').length}`,
    );
    seen.push(
      `${set.name} ${mine.length - notUp.length}/${mine.length} up${perService.length > 0 ? ` (${perService.join(', ')})` : ''}`,
    );
  }
  return problems.length === 0 ? pass(seen.join('; ')) : fail(`not up: ${problems.join('; ')}`, next);
}

/** Every expected group name is among the loaded groups. */
export function judgeRules(
  groups: readonly PrometheusRuleGroup[],
  expected: readonly string[],
  next: string,
): CheckOutcome {
  if (expected.length === 0)
    return fail('no rule group is expected: the rule definitions were not found', next);
  const loaded = new Set(groups.map((g) => g.name));
  const missing = expected.filter((name) => !loaded.has(name));
  const rules = groups.filter((g) => expected.includes(g.name)).reduce((n, g) => n + g.rules.length, 0);
  return missing.length === 0
    ? pass(`${expected.length}/${expected.length} groups loaded (${rules} rules): ${expected.join(', ')}`)
    : fail(
        `${expected.length - missing.length}/${expected.length} groups loaded; missing: ${missing.join(', ')}`,
        next,
      );
}
