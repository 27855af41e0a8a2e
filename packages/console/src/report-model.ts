/**
 * What the chaos report page draws, computed from report.json: the disruption windows, kill and
 * recovery markers, MTTR per round, orders per second and latency percentiles over time.
 */
import { traceViewUrl } from '@self-healing-shop/contracts';
import type { ChaosReportLike, LoadReportLike, RoundLike } from './report-types.ts';

export interface Marker {
  /** Epoch ms. */
  readonly at: number;
  readonly kind: 'kill' | 'gone' | 'replacement' | 'ready' | 'full-strength';
  readonly label: string;
}

export interface DisruptionWindow {
  readonly round: number;
  readonly from: number;
  readonly to: number;
  /** Whether the workload got back to full strength (else the window ends with the round). */
  readonly recovered: boolean;
}

export interface LoadSeries {
  /** `samples` when the report has per-interval samples, `segments` when only segment totals. */
  readonly source: 'samples' | 'segments' | 'none';
  /** Epoch seconds (uPlot's x). */
  readonly times: number[];
  readonly ordersPerSecond: Array<number | null>;
  readonly failedPerSecond: Array<number | null>;
  readonly p50Ms: Array<number | null>;
  readonly p95Ms: Array<number | null>;
  readonly p99Ms: Array<number | null>;
}

export interface RoundRow {
  readonly round: number;
  readonly action: string;
  readonly workload: string;
  readonly victims: string;
  readonly outcome: string;
  readonly reason?: string;
  readonly mttrMs: number | null;
}

/** A failed order of the run, with where to see its trace. */
export interface FailedOrderRow {
  readonly traceId: string;
  readonly kind: string;
  readonly idempotencyKey: string;
  readonly at: string;
  /** The load segment it was sent in (`baseline`, `fault`, ...). */
  readonly segment: string;
  /** The console's trace view (local runtime) or Grafana Explore on the trace datasource (KIND). */
  readonly traceUrl: string;
}

export interface ReportView {
  readonly experiment: string;
  readonly description: string;
  readonly target: string;
  readonly status: string;
  readonly abortReason?: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly verdict: ChaosReportLike['verdict'];
  readonly violations: NonNullable<ChaosReportLike['violations']>;
  /** One line on the data-invariant check: done and what it found, skipped and why, or failed. */
  readonly invariants: string | null;
  readonly kills: number;
  readonly successRatio: number | null;
  readonly sent: number;
  readonly failed: number;
  readonly mttrValuesMs: number[];
  readonly rounds: RoundRow[];
  readonly windows: DisruptionWindow[];
  readonly markers: Marker[];
  readonly load: LoadSeries;
  /** `local` or `kubernetes`: where the trace links lead. */
  readonly runtime: 'local' | 'kubernetes';
  readonly failedOrders: FailedOrderRow[];
  /** Failed orders the load generator did not list (beyond its bound). */
  readonly failedOrdersOmitted: number;
}

function epochMs(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

export function roundMttrMs(r: RoundLike): number | null {
  return r.timeline?.mttrMs ?? r.figures?.fullStrengthMs ?? null;
}

export function disruptionWindows(rounds: readonly RoundLike[]): DisruptionWindow[] {
  const out: DisruptionWindow[] = [];
  for (const r of rounds) {
    const first = r.timeline?.kills[0]?.sentAt;
    if (first === undefined) continue;
    const end = r.timeline?.fullStrengthAt;
    out.push({ round: r.round, from: first, to: end ?? r.endedAt, recovered: end !== undefined });
  }
  return out;
}

export function markers(rounds: readonly RoundLike[]): Marker[] {
  const out: Marker[] = [];
  for (const r of rounds) {
    const t = r.timeline;
    if (!t) continue;
    for (const k of t.kills) {
      out.push({ at: k.sentAt, kind: 'kill', label: `round ${r.round}: kill ${k.replica}` });
      if (k.goneAt !== undefined) out.push({ at: k.goneAt, kind: 'gone', label: `${k.replica} gone` });
    }
    for (const p of t.replacements) {
      out.push({ at: p.createdAt, kind: 'replacement', label: `${p.replica} created` });
      if (p.readyAt !== undefined) out.push({ at: p.readyAt, kind: 'ready', label: `${p.replica} ready` });
    }
    if (t.fullStrengthAt !== undefined) {
      out.push({
        at: t.fullStrengthAt,
        kind: 'full-strength',
        label: `round ${r.round}: ${t.workload} at full strength`,
      });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

const EMPTY_LOAD: LoadSeries = {
  source: 'none',
  times: [],
  ordersPerSecond: [],
  failedPerSecond: [],
  p50Ms: [],
  p95Ms: [],
  p99Ms: [],
};

/** One step per segment: a point where it starts and one just before it ends, both at its averages. */
function segmentSteps(segments: ReadonlyArray<{ report: LoadReportLike }>): LoadSeries {
  const rows: Array<{ t: number; r: LoadReportLike }> = [];
  for (const { report } of segments) {
    const from = epochMs(report.startedAt);
    const to = epochMs(report.endedAt);
    if (!(to > from)) continue;
    rows.push({ t: from, r: report }, { t: to - 1, r: report });
  }
  rows.sort((a, b) => a.t - b.t);
  const perSecond = (n: number, r: LoadReportLike): number =>
    r.durationMs > 0 ? (n * 1000) / r.durationMs : 0;
  return {
    source: rows.length > 0 ? 'segments' : 'none',
    times: rows.map((x) => x.t / 1000),
    ordersPerSecond: rows.map((x) => perSecond(x.r.succeeded, x.r)),
    failedPerSecond: rows.map((x) => perSecond(x.r.failed, x.r)),
    p50Ms: rows.map((x) => x.r.latencyMs.p50),
    p95Ms: rows.map((x) => x.r.latencyMs.p95),
    p99Ms: rows.map((x) => x.r.latencyMs.p99),
  };
}

export function loadSeries(report: ChaosReportLike): LoadSeries {
  const samples = report.load?.series;
  if (samples && samples.length > 0) {
    const sorted = [...samples].sort((a, b) => a.at - b.at);
    const rate = (n: number, ms: number): number => (ms > 0 ? (n * 1000) / ms : 0);
    return {
      source: 'samples',
      times: sorted.map((s) => s.at / 1000),
      ordersPerSecond: sorted.map((s) => rate(s.succeeded, s.intervalMs)),
      failedPerSecond: sorted.map((s) => rate(s.failed, s.intervalMs)),
      p50Ms: sorted.map((s) => s.p50Ms ?? null),
      p95Ms: sorted.map((s) => s.p95Ms ?? null),
      p99Ms: sorted.map((s) => s.p99Ms ?? null),
    };
  }
  const segments = report.load?.segments ?? [];
  return segments.length > 0 ? segmentSteps(segments) : EMPTY_LOAD;
}

export function invariantsLine(report: ChaosReportLike): string | null {
  const inv = report.invariants;
  if (!inv) return report.violations ? `${report.violations.length} invariant violation(s)` : null;
  if (inv.error) return `invariants not checked: ${inv.error}`;
  if (!inv.checked) return `invariants not checked${inv.reason ? `: ${inv.reason}` : ''}`;
  const found = inv.violations?.length ?? 0;
  const settled = inv.settled === false ? ` (platform not settled: ${inv.settleDetail ?? 'unknown'})` : '';
  return `invariants checked: ${found === 0 ? 'no violation' : `${found} violation(s)`}${settled}`;
}

/** Failed orders per segment in time order, else those of the total (a report without segments). */
export function failedOrders(
  report: ChaosReportLike,
  runtime: 'local' | 'kubernetes',
): { rows: FailedOrderRow[]; omitted: number } {
  const base = report.target?.traceViewBase;
  const segments = report.load?.segments ?? [];
  const sources =
    segments.length > 0
      ? segments.map((s) => ({ name: s.name, report: s.report }))
      : report.load?.total
        ? [{ name: 'total', report: report.load.total }]
        : [];
  const rows = sources.flatMap(({ name, report: r }) =>
    (r.failedTraces ?? []).map((f) => ({
      traceId: f.traceId,
      kind: f.kind,
      idempotencyKey: f.idempotencyKey ?? '',
      at: f.at ?? '',
      segment: name,
      traceUrl: traceViewUrl(f.traceId, runtime, base),
    })),
  );
  const omitted = sources.reduce((n, s) => n + (s.report.failedTracesOmitted ?? 0), 0);
  return { rows: rows.sort((a, b) => a.at.localeCompare(b.at)), omitted };
}

export function reportView(report: ChaosReportLike): ReportView {
  const input: unknown = report;
  const shape = input as { rounds?: unknown; verdict?: unknown } | null;
  if (
    typeof shape !== 'object' ||
    shape === null ||
    !Array.isArray(shape.rounds) ||
    typeof shape.verdict !== 'object'
  ) {
    throw new Error('not a chaos report: expected report.json of `pnpm chaos run` (rounds, verdict, …)');
  }
  const counted = report.load?.counted ?? report.load?.total;
  const runtime = report.target?.kind === 'kubernetes' ? 'kubernetes' : 'local';
  const failed = failedOrders(report, runtime);
  return {
    experiment: report.experiment.name,
    description: report.experiment.description ?? '',
    target: report.target
      ? `${report.target.kind}${report.target.description ? ` (${report.target.description})` : ''}`
      : '',
    status: report.status,
    abortReason: report.abortReason,
    startedAt: report.startedAt,
    endedAt: report.endedAt,
    verdict: report.verdict,
    violations: report.invariants?.violations ?? report.violations ?? [],
    invariants: invariantsLine(report),
    kills: report.kills ?? report.rounds.reduce((n, r) => n + (r.timeline?.kills.length ?? 0), 0),
    successRatio: counted ? (counted.sent > 0 ? counted.succeeded / counted.sent : null) : null,
    sent: counted?.sent ?? 0,
    failed: counted?.failed ?? 0,
    mttrValuesMs: (report.mttr?.valuesMs ?? []).filter((v): v is number => typeof v === 'number'),
    rounds: report.rounds.map((r) => ({
      round: r.round,
      action: r.action,
      workload: r.workload ?? r.timeline?.workload ?? '',
      victims: r.timeline?.kills.map((k) => k.replica).join(', ') ?? '',
      outcome: r.outcome,
      reason: r.reason,
      mttrMs: roundMttrMs(r),
    })),
    windows: disruptionWindows(report.rounds),
    markers: markers(report.rounds),
    load: loadSeries(report),
    runtime,
    failedOrders: failed.rows,
    failedOrdersOmitted: failed.omitted,
  };
}
