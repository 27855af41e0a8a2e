/**
 * Template variables as Grafana's Prometheus data source interpolates them: `$name`, `${name}`,
 * `[[name]]`, the built-ins `$__interval`, `$__rate_interval`, `$__range` …, and multi-value
 * variables as a regex alternation.
 */

export interface VariableValue {
  /** The selected values; `['$__all']` selects All. */
  readonly values: readonly string[];
  readonly multi: boolean;
  readonly includeAll: boolean;
  /** Used verbatim for All when set (e.g. `.*`); else All means every option. */
  readonly allValue?: string | null;
  /** The options, for All without an allValue. */
  readonly options?: readonly string[];
}

export const ALL = '$__all';

/** Prometheus-regex escaping of one value, as Grafana's `prometheusSpecialRegexEscape`. */
export function regexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

/** Escaping of a single-valued variable (only backslashes and quotes), as `prometheusRegularEscape`. */
export function regularEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");
}

/** The text a variable becomes inside a PromQL expression. */
export function formatVariable(v: VariableValue): string {
  const all = v.values.length === 1 && v.values[0] === ALL;
  if (all && v.allValue != null && v.allValue !== '') return v.allValue;
  const values = all ? (v.options ?? []) : v.values;
  if (!v.multi && !v.includeAll) return regularEscape(values[0] ?? '');
  const escaped = values.map(regexEscape);
  return escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`;
}

/**
 * Replaces every variable reference. Built-ins are plain strings in `builtins` (keys without `$`,
 * e.g. `__rate_interval`). A reference to an unknown variable is left as written, as Grafana does.
 */
export function interpolate(
  expr: string,
  variables: Readonly<Record<string, VariableValue>>,
  builtins: Readonly<Record<string, string>> = {},
): string {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (whole, braced?: string, bracketed?: string, bare?: string) => {
      const name = (braced ?? bracketed ?? bare) as string;
      if (Object.hasOwn(builtins, name)) return builtins[name];
      const v = variables[name];
      return v ? formatVariable(v) : whole;
    },
  );
}

/** `label_values(metric, label)` or `label_values(label)`, the variable queries the dashboards use. */
export function parseLabelValuesQuery(query: string): { metric?: string; label: string } {
  const m = /^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$/.exec(query);
  if (!m) throw new Error(`unsupported variable query "${query}": expected label_values(metric, label)`);
  return m[1] ? { metric: m[1], label: m[2] } : { label: m[2] };
}
