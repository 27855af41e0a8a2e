import type { LoadReport, LoadSnapshot } from './load.ts';

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
