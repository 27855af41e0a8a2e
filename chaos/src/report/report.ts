import { mkdir, writeFile } from 'node:fs/promises';
import { renderReportHtml } from '@self-healing-shop/console/report-html';
import { join } from 'node:path';
import type { ExperimentAction } from '../experiment.ts';
import type { LoadReport, LoadSegment } from '../load.ts';
import type { Timeline } from '../recovery.ts';
import type { Summary } from '../stats.ts';
import type { AlertWatchResult } from '../alerts/alert-watch.ts';
import type { InvariantsResult } from '../steps/invariants.ts';
import type { Objective, Verdict } from '../verdict.ts';
import { renderJUnit, type JUnitCase } from './junit.ts';
import { renderMetrics } from './prometheus.ts';

export interface LoggedEvent {
  at: number;
  time: string;
  /** `engine` for the tool's own steps, `target` for what the platform reported. */
  origin: 'engine' | 'target';
  type: string;
  message?: string;
  [key: string]: unknown;
}

export type RoundOutcome = 'recovered' | 'not-recovered' | 'refused' | 'done' | 'failed' | 'aborted';

export interface RoundResult {
  round: number;
  action: string;
  workload?: string;
  startedAt: number;
  endedAt: number;
  outcome: RoundOutcome;
  reason?: string;
  timeline?: Timeline;
  /** Milliseconds from the (first) kill sent. */
  figures?: {
    goneMs?: number;
    replacementCreatedMs?: number;
    replacementReadyMs?: number;
    fullStrengthMs?: number;
    noReadyMs?: number;
    /** Outage experiments: the first order that succeeded again after full strength (end-to-end recovery). */
    serviceRestoredMs?: number;
  };
  details?: Record<string, unknown>;
}

/** A load report as report.json holds it: the number of orders acknowledged instead of their ids. */
export type ReportedLoad = Omit<LoadReport, 'acknowledged'> & { acknowledged: number };

export interface ChaosReport {
  tool: string;
  experiment: { name: string; description: string; outage: boolean; action: ExperimentAction };
  seed: string;
  target: {
    kind: string;
    description: string;
    /** Where a person opens a trace: the local runtime's console as it runs (absent: the default port). */
    traceViewBase?: string;
  };
  options: Record<string, unknown>;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  status: 'passed' | 'failed' | 'aborted';
  abortReason?: string;
  rounds: RoundResult[];
  mttr: { unit: 'ms'; summary: Summary; valuesMs: number[] };
  kills: number;
  load: {
    total?: ReportedLoad;
    counted?: ReportedLoad;
    countedScope: string;
    segments: Array<Omit<LoadSegment, 'report'> & { report: ReportedLoad }>;
  };
  verdict: Verdict;
  /** What Alertmanager showed while the alerts were watched (absent when the experiment declares none). */
  alerts?: AlertWatchResult;
  /** The data invariants checked on the quiet platform after the run (absent with --no-invariants). */
  invariants?: InvariantsResult | { checked: false; reason: string };
  exitCode: number;
  events: LoggedEvent[];
}

export function figuresOf(timeline: Timeline): NonNullable<RoundResult['figures']> {
  const start = timeline.kills[0]?.sentAt;
  if (start === undefined) return {};
  const since = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - start);
  const gone = timeline.kills.map((k) => k.goneAt);
  const firstReplacement = timeline.replacements[0];
  return {
    goneMs: gone.every((g) => g !== undefined) ? since(Math.max(...(gone as number[]))) : undefined,
    replacementCreatedMs: since(firstReplacement?.createdAt),
    replacementReadyMs: since(timeline.firstReadyAt),
    fullStrengthMs: since(timeline.fullStrengthAt),
    noReadyMs: since(timeline.noReadyAt),
  };
}

function roundCaseName(r: RoundResult): string {
  const victims = r.timeline?.kills.map((k) => k.replica).join(', ');
  return `round ${r.round}: ${r.action}${r.workload ? ` ${r.workload}` : ''}${victims ? ` (${victims})` : ''}`;
}

export function junitCases(report: ChaosReport): JUnitCase[] {
  const base = `chaos.${report.experiment.name}`;
  const cases: JUnitCase[] = report.rounds.map((r) => {
    const c: JUnitCase = {
      classname: `${base}.rounds`,
      name: roundCaseName(r),
      timeSeconds: (r.endedAt - r.startedAt) / 1000,
      systemOut: JSON.stringify({ outcome: r.outcome, figures: r.figures, details: r.details }),
    };
    if (r.outcome === 'refused') c.skipped = r.reason ?? 'refused';
    else if (r.outcome !== 'recovered' && r.outcome !== 'done') {
      c.failure = { message: r.reason ?? r.outcome, details: `${r.outcome}: ${r.reason ?? ''}` };
    }
    return c;
  });
  const objectiveCase = (o: Objective): JUnitCase => ({
    classname: `${base}.objectives`,
    name: o.name,
    timeSeconds: 0,
    systemOut: `expected ${o.expected}; actual ${o.actual}`,
    ...(o.passed
      ? {}
      : o.notChecked
        ? { skipped: o.reason ?? 'not checked' }
        : {
            failure: {
              message: o.reason ?? o.name,
              details: [`expected ${o.expected}`, `actual ${o.actual}`, ...(o.details ?? [])].join('\n'),
            },
          }),
  });
  cases.push(...report.verdict.objectives.map(objectiveCase));
  if (report.status === 'aborted') {
    cases.push({
      classname: `${base}.run`,
      name: 'run completed',
      timeSeconds: report.durationMs / 1000,
      failure: { message: report.abortReason ?? 'aborted' },
    });
  }
  return cases;
}

export function metricsText(report: ChaosReport): string {
  const s = report.mttr.summary;
  return renderMetrics({
    experiment: report.experiment.name,
    mttrSeconds:
      s.count > 0
        ? { min: s.min / 1000, p50: s.p50 / 1000, p95: s.p95 / 1000, max: s.max / 1000 }
        : undefined,
    kills: report.kills,
    successRatio: report.load.counted?.successRatio ?? Number.NaN,
    passed: report.verdict.passed,
    timestampSeconds: Math.round(Date.parse(report.endedAt) / 1000),
  });
}

/** Writes report.json, report.html (one self-contained page), junit.xml and metrics.prom into the folder; returns their paths. */
export async function writeReports(
  dir: string,
  report: ChaosReport,
): Promise<{ files: string[]; metrics: string }> {
  await mkdir(dir, { recursive: true });
  const metrics = metricsText(report);
  const files = {
    'report.json': `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
    'junit.xml': renderJUnit({
      name: `chaos.${report.experiment.name}`,
      timestamp: report.startedAt,
      cases: junitCases(report),
    }),
    'metrics.prom': metrics,
    'report.html': renderReportHtml(report),
  };
  const written: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, content);
    written.push(path);
  }
  return { files: written, metrics };
}
