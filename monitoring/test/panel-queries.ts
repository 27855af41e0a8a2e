// Every panel query of a Grafana dashboard, sent to a real Prometheus the way the console sends it:
// template variables and built-ins interpolated by packages/console's shared code, one instant query
// per target at "now".
import {
  ALL,
  formatPromDuration,
  interpolate,
  intervalMs,
  parseDurationMs,
  parseLabelValuesQuery,
  rateIntervalMs,
  stepSeconds,
  variableQuery,
  type Dashboard,
  type Panel,
  type VariableValue,
} from '@self-healing-shop/console';

/** The width of the screen the panels are laid out on (24 grid columns); it only sets `$__interval`'s floor. */
const SCREEN_PX = 1920;

/** Every panel that queries (rows are containers; a collapsed row keeps its panels inside). */
export function dataPanels(dashboard: Pick<Dashboard, 'panels'>): Panel[] {
  const flatten = (panels: readonly Panel[]): Panel[] =>
    panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);
  return flatten(dashboard.panels).filter((p) => p.type !== 'row');
}

interface PromResponse<T> {
  readonly status: 'success' | 'error';
  readonly data?: T;
  readonly error?: string;
}

async function promGet<T>(prometheusUrl: string, path: string, params: Record<string, string>): Promise<T> {
  const url = new URL(`/api/v1/${path}`, prometheusUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as PromResponse<T>;
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${response.status} ${body.error ?? ''}`);
  }
  return body.data;
}

/** A query variable as the console fills it: its options from Prometheus, its current selection (All). */
export interface FilledVariable {
  readonly name: string;
  readonly query: string;
  readonly value: VariableValue;
}

export async function fillVariables(
  prometheusUrl: string,
  dashboard: Dashboard,
  range: { fromMs: number; toMs: number },
): Promise<FilledVariable[]> {
  const filled: FilledVariable[] = [];
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue; // `$datasource` only picks the data source, it is never in an expr
    const query = variableQuery(v);
    const { metric, label } = parseLabelValuesQuery(query);
    const options = await promGet<string[]>(prometheusUrl, `label/${encodeURIComponent(label)}/values`, {
      start: String(Math.floor(range.fromMs / 1000)),
      end: String(Math.ceil(range.toMs / 1000)),
      ...(metric ? { 'match[]': metric } : {}),
    });
    const current = v.current?.value;
    const values = Array.isArray(current) ? current : current ? [current] : [ALL];
    filled.push({
      name: v.name,
      query,
      value: {
        values,
        multi: !!v.multi,
        includeAll: !!v.includeAll,
        allValue: v.allValue ?? null,
        options: v.sort === 1 ? [...options].sort() : options,
      },
    });
  }
  return filled;
}

/**
 * Grafana's built-ins for one panel over a time range of `rangeMs`, as the console computes them:
 * `$__interval` is the step (range ÷ max data points, rounded, at least the panel's min interval or
 * the scrape interval), `$__rate_interval` = max(step + scrape, 4 × scrape), `$__range` in seconds.
 */
export function builtinsFor(panel: Panel, rangeMs: number, scrapeMs: number): Record<string, string> {
  const maxDataPoints = panel.maxDataPoints ?? Math.max(1, Math.round((panel.gridPos.w / 24) * SCREEN_PX));
  const minIntervalMs = panel.interval ? parseDurationMs(panel.interval) : scrapeMs;
  const interval = stepSeconds(rangeMs, intervalMs(rangeMs, maxDataPoints, minIntervalMs)) * 1000;
  return {
    __interval: formatPromDuration(interval),
    __interval_ms: String(interval),
    __rate_interval: formatPromDuration(rateIntervalMs(interval, scrapeMs)),
    __range: formatPromDuration(Math.round(rangeMs / 1000) * 1000),
    __range_s: String(Math.round(rangeMs / 1000)),
    __range_ms: String(Math.round(rangeMs)),
  };
}

/** What one target's query returned at "now". */
export interface TargetResult {
  readonly panel: string;
  readonly refId: string;
  readonly query: string;
  /** Series returned, whatever their value. */
  readonly series: number;
  /** Series whose value is a number (Grafana draws nothing for NaN: 0/0, a quantile of no requests). */
  readonly withValue: number;
  readonly error?: string;
}

interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** Every visible target of every panel, interpolated and run as an instant query at `atMs`. */
export async function evaluatePanels(
  prometheusUrl: string,
  dashboard: Dashboard,
  variables: readonly FilledVariable[],
  options: { atMs: number; rangeMs: number; scrapeMs: number },
): Promise<TargetResult[]> {
  const vars = Object.fromEntries(variables.map((v) => [v.name, v.value]));
  const jobs = dataPanels(dashboard).flatMap((panel) => {
    const builtins = builtinsFor(panel, options.rangeMs, options.scrapeMs);
    return (panel.targets ?? [])
      .filter((t) => !t.hide && t.expr)
      .map(async (t): Promise<TargetResult> => {
        const query = interpolate(t.expr!, vars, builtins);
        const base = { panel: panel.title ?? `#${panel.id}`, refId: t.refId ?? '?', query };
        try {
          const data = await promGet<{ resultType: string; result: unknown }>(prometheusUrl, 'query', {
            query,
            time: String(options.atMs / 1000),
          });
          if (data.resultType !== 'vector') {
            return { ...base, series: 0, withValue: 0, error: `a ${data.resultType}, not a vector` };
          }
          const result = data.result as VectorSample[];
          const withValue = result.filter((s) => !Number.isNaN(Number(s.value[1]))).length;
          return { ...base, series: result.length, withValue };
        } catch (error) {
          return { ...base, series: 0, withValue: 0, error: (error as Error).message };
        }
      });
  });
  return Promise.all(jobs);
}
