/** Series names from a target's `legendFormat`, as Grafana's Prometheus data source builds them. */

export type Labels = Readonly<Record<string, string>>;

/** `{{label}}` (spaces allowed) becomes the label's value, or nothing when the series lacks it. */
export function renderLegend(legendFormat: string, labels: Labels): string {
  return legendFormat.replace(/\{\{\s*(.+?)\s*\}\}/g, (_whole, name: string) => labels[name] ?? '');
}

/** Without a legendFormat: `metric{a="1", b="2"}`, or just the labels when the name was aggregated away. */
export function defaultSeriesName(labels: Labels): string {
  const name = labels.__name__ ?? '';
  const rest = Object.entries(labels)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}="${v}"`);
  if (rest.length === 0) return name === '' ? '{}' : name;
  return `${name}{${rest.join(', ')}}`;
}

export function seriesName(legendFormat: string | undefined, labels: Labels): string {
  if (legendFormat === undefined || legendFormat === '' || legendFormat === '__auto')
    return defaultSeriesName(labels);
  return renderLegend(legendFormat, labels);
}
