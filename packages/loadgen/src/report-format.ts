import type { LoadReport, LoadSnapshot } from './load.ts';

/**
 * A left-aligned text table, columns padded to their widest cell: kubectl's look (3 spaces between
 * columns) by default, or a tighter one with a dashed rule under the header.
 */
export function table(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  options: { gap?: number; rule?: boolean } = {},
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (cell ?? '').padEnd(widths[i]!))
      .join(' '.repeat(options.gap ?? 3))
      .trimEnd();
  const rule = options.rule ? [line(widths.map((w) => '-'.repeat(w)))] : [];
  return [line(header), ...rule, ...rows.map(line)].join('\n');
}

export function progressLine(s: LoadSnapshot): string {
  return `sent ${s.sent}  ok ${s.succeeded}  failed ${s.failed}  in flight ${s.inFlight}  ${s.rps} rps  p99 ${s.p99} ms  ${(s.elapsedMs / 1000).toFixed(0)}s`;
}

/** The first few failed requests' traces: where to start looking. */
function failedTraceLines(report: LoadReport): string[] {
  const total = report.failedTraces.length + report.failedTracesOmitted;
  if (total === 0) return [];
  const shown = report.failedTraces.slice(0, 5).map((f) => `  ${f.traceId}  ${f.kind}  ${f.at}`);
  return [`traces of failed requests (${total}, first ${shown.length}; all in --json):`, ...shown];
}

export function summaryText(report: LoadReport): string {
  const errors = Object.entries(report.errorsByKind)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  const l = report.latencyMs;
  return [
    `sent ${report.sent} orders in ${(report.durationMs / 1000).toFixed(1)}s (target ${report.rate}/s, achieved ${report.achievedRate}/s)`,
    `ok ${report.succeeded}, failed ${report.failed}: success ratio ${(report.successRatio * 100).toFixed(2)}%`,
    `latency ms: p50 ${l.p50}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max}`,
    `errors: ${errors || 'none'}`,
    ...failedTraceLines(report),
  ].join('\n');
}
