import type { RunSettings } from '../actions/context.ts';
import { alertObjectives, type AlertWatchResult } from '../alerts/alert-watch.ts';
import type { Experiment } from '../experiment.ts';
import { mergeReports, type LoadReport, type LoadSegment } from '../load.ts';
import type { ChaosReport, LoggedEvent, ReportedLoad, RoundResult } from '../report/report.ts';
import { summarizeMttr } from '../stats.ts';
import type { Target } from '../target.ts';
import { judge, type Objective } from '../verdict.ts';
import { invariantsObjective, type InvariantsResult } from './invariants.ts';

export const EXIT_PASS = 0;
export const EXIT_OBJECTIVE_BROKEN = 1;
export const EXIT_USAGE = 2;

/** What the rounds left behind, for the verdict and the report. */
export interface RunRecord {
  experiment: Experiment;
  settings: RunSettings & { seed: string };
  target: Target;
  /** The target's `traceViewBase()`, read once the run is over. */
  traceViewBase?: string;
  measuresRecovery: boolean;
  started: number;
  ended: number;
  rounds: RoundResult[];
  segments: LoadSegment[];
  steadyAfter: { ok: boolean; detail: string };
  objectives: Objective[];
  invariants: InvariantsResult | { checked: false; reason: string };
  /** The alerts watch, when the experiment declares alerts and the action began. */
  alerts?: AlertWatchResult;
  abortReason?: string;
  events: LoggedEvent[];
}

/** The report keeps the number of acknowledged orders, not the ids (they are many, and in the check). */
function withoutIds(report: LoadReport): ReportedLoad;
function withoutIds(report: LoadReport | undefined): ReportedLoad | undefined;
function withoutIds(report: LoadReport | undefined): ReportedLoad | undefined {
  if (!report) return undefined;
  const { acknowledged, ...rest } = report;
  return { ...rest, acknowledged: acknowledged.length };
}

/** The verdict (recovery and MTTR when the action disrupts, success ratio, steady state, the action's own, invariants). */
export function buildReport(run: RunRecord): ChaosReport {
  const { experiment, settings, rounds, segments } = run;
  const recoveries = rounds.filter((r) => r.outcome === 'recovered' && r.timeline?.mttrMs !== undefined);
  const mttrValues = recoveries.map((r) => r.timeline?.mttrMs as number);
  const disruptions = rounds.filter((r) => r.timeline && r.timeline.kills.length > 0);
  const mttr = summarizeMttr(mttrValues);
  const total = mergeReports(segments.map((s) => s.report));
  const counted = mergeReports(segments.filter((s) => s.counted).map((s) => s.report));
  const countedScope = experiment.objectives.successAfterRecoveryOnly
    ? 'orders outside the outage windows (kill → orders succeed again)'
    : 'all orders during the experiment';
  const verdict = judge({
    measuresRecovery: run.measuresRecovery,
    mttr,
    mttrSloMs: settings.mttrSloMs,
    disruptions: disruptions.length,
    recovered: recoveries.length,
    recoveryTimeoutMs: settings.recoveryTimeoutMs,
    minSuccess: settings.minSuccess,
    load: counted,
    loadScope: countedScope,
    steadyStateAfter: run.steadyAfter,
    extra: [
      ...run.objectives,
      ...(run.alerts ? alertObjectives(run.alerts, settings.requireAlerts ?? false) : []),
      ...('violations' in run.invariants ? [invariantsObjective(run.invariants)] : []),
    ],
  });
  const status = run.abortReason ? 'aborted' : verdict.passed ? 'passed' : 'failed';
  return {
    tool: 'self-healing-shop chaos',
    experiment: {
      name: experiment.name,
      description: experiment.description,
      outage: experiment.outage,
      action: experiment.action,
    },
    seed: settings.seed,
    target: {
      kind: run.target.kind,
      description: run.target.description,
      ...(run.traceViewBase ? { traceViewBase: run.traceViewBase } : {}),
    },
    options: {
      rounds: settings.rounds,
      intervalMs: settings.intervalMs,
      mttrSloMs: settings.mttrSloMs,
      minSuccess: settings.minSuccess,
      loadRate: settings.loadRate,
      recoveryTimeoutMs: settings.recoveryTimeoutMs,
      url: settings.url,
      evict: settings.evict,
      workload: settings.workload,
    },
    startedAt: new Date(run.started).toISOString(),
    endedAt: new Date(run.ended).toISOString(),
    durationMs: run.ended - run.started,
    status,
    abortReason: run.abortReason,
    rounds,
    mttr: { unit: 'ms', summary: mttr, valuesMs: mttrValues },
    kills: disruptions.reduce((n, r) => n + (r.timeline?.kills.length ?? 0), 0),
    load: {
      total: withoutIds(total),
      counted: withoutIds(counted),
      countedScope,
      segments: segments.map((s) => ({ ...s, report: withoutIds(s.report) })),
    },
    verdict,
    ...(run.alerts ? { alerts: run.alerts } : {}),
    invariants: run.invariants,
    exitCode: run.abortReason ? EXIT_USAGE : verdict.passed ? EXIT_PASS : EXIT_OBJECTIVE_BROKEN,
    events: run.events,
  };
}
