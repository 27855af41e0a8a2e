import { traceViewUrl } from '@self-healing-shop/contracts';
import { formatDuration, table as textTable } from '@self-healing-shop/loadgen';
import type { ChaosReport } from './report.ts';

/** The chaos engine's tables: two spaces between columns, a dashed rule under the header. */
export const table = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string =>
  textTable(header, rows, { gap: 2, rule: true });

const ms = (n: number | undefined): string => (n === undefined ? '-' : formatDuration(n));

const FAILED_SHOWN = 5;

/** The traces of the first failed orders, each a link a person can open (all of them are in report.html). */
export function failedOrderLines(report: ChaosReport): string[] {
  const total = report.load.total;
  const failed = total?.failedTraces ?? [];
  if (!total || failed.length === 0) return [];
  const runtime = report.target.kind === 'kubernetes' ? 'kubernetes' : 'local';
  const count = failed.length + total.failedTracesOmitted;
  return [
    `traces of failed orders (${count}; first ${Math.min(FAILED_SHOWN, failed.length)}, all in report.html):`,
    ...failed
      .slice(0, FAILED_SHOWN)
      .map(
        (f) =>
          `  ${f.at}  ${f.kind.padEnd(12)}  ${traceViewUrl(f.traceId, runtime, report.target.traceViewBase)}`,
      ),
  ];
}

export function renderSummary(report: ChaosReport): string {
  const out: string[] = [];
  out.push(`experiment ${report.experiment.name}  seed ${report.seed}  target ${report.target.description}`);
  if (report.rounds.length > 0) {
    const restored = report.experiment.outage;
    out.push(
      '',
      table(
        [
          'round',
          'workload',
          'killed',
          'outcome',
          'gone',
          'new pod',
          'new ready',
          'full strength',
          ...(restored ? ['orders ok again'] : []),
        ],
        report.rounds.map((r) => [
          String(r.round),
          r.workload ?? '-',
          r.timeline?.kills.map((k) => k.replica).join(',') || '-',
          r.reason && r.outcome !== 'recovered' ? `${r.outcome}: ${r.reason}` : r.outcome,
          ms(r.figures?.goneMs),
          ms(r.figures?.replacementCreatedMs),
          ms(r.figures?.replacementReadyMs),
          ms(r.figures?.fullStrengthMs),
          ...(restored ? [ms(r.figures?.serviceRestoredMs)] : []),
        ]),
      ),
    );
  }
  const s = report.mttr.summary;
  if (s.count > 0) {
    out.push(
      '',
      `MTTR over ${s.count}: min ${ms(s.min)}  p50 ${ms(s.p50)}  p95 ${ms(s.p95)}  max ${ms(s.max)}`,
    );
  }
  const total = report.load.total;
  if (total) {
    const errors = Object.entries(total.errorsByKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    out.push(
      `load: ${total.sent} orders, ${total.succeeded} succeeded, ${total.failed} failed${errors ? ` (${errors})` : ''}; ` +
        `latency p50 ${ms(total.latencyMs.p50)} p95 ${ms(total.latencyMs.p95)} p99 ${ms(total.latencyMs.p99)}`,
    );
    out.push(...failedOrderLines(report));
  }
  out.push(
    '',
    table(
      ['objective', 'result', 'expected', 'actual'],
      report.verdict.objectives.map((o) => [
        o.name,
        o.passed ? 'PASS' : o.notChecked ? 'NOT CHECKED' : 'FAIL',
        o.expected,
        o.actual,
      ]),
    ),
  );
  for (const o of report.verdict.objectives.filter(
    (o) => o.details?.length && (!o.passed || o.name.includes('alerts')),
  )) {
    out.push('', `${o.name}:`, ...(o.details ?? []).map((line) => `  ${line}`));
  }
  for (const o of report.verdict.objectives.filter((o) => o.notChecked)) {
    out.push('', `${o.name}: ${o.reason ?? 'not checked'}`);
  }
  const verdict =
    report.status === 'aborted'
      ? `ABORTED: ${report.abortReason ?? ''}`
      : report.verdict.passed
        ? 'PASSED'
        : `FAILED: ${report.verdict.reasons.join('; ')}`;
  out.push('', `verdict: ${verdict}`);
  return out.join('\n');
}
