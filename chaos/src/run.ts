import { formatDuration } from './duration.ts';
import type { Experiment } from './experiment.ts';
import { cpuStressRound } from './actions/cpu-stress.ts';
import { pause, type Action, type ActionContext, type RunSettings } from './actions/context.ts';
import { dependencyOutageRound, faultRound } from './actions/fault.ts';
import { killRound, planKill } from './actions/kill.ts';
import { LoadSession, mergeReports, type LoadSegment, type StartLoad } from './load.ts';
import { createRandom } from './random.ts';
import { writeReports, type ChaosReport, type LoggedEvent, type RoundResult } from './report/report.ts';
import { renderSummary, table } from './report/terminal.ts';
import { summarize } from './stats.ts';
import { atFullStrength, type Target, type TargetEvent, type WorkloadStatus } from './target.ts';
import { judge, objective, type Objective } from './verdict.ts';

export const EXIT_PASS = 0;
export const EXIT_OBJECTIVE_BROKEN = 1;
export const EXIT_USAGE = 2;

export interface RunOptions extends RunSettings {
  experiment: Experiment;
  seed: string;
  dryRun: boolean;
  reportDir: string;
  /** Per-request timeout of the load generator. */
  loadTimeoutMs?: number;
}

export interface RunDeps {
  target: Target;
  startLoad: StartLoad;
  /** Progress and summary lines (the terminal). */
  print: (line: string) => void;
  signal: AbortSignal;
  now?: () => number;
}

export interface RunOutcome {
  exitCode: number;
  report?: ChaosReport;
  files?: string[];
}

const ACTIONS: Record<Experiment['action']['kind'], Action> = {
  'pod-kill': killRound,
  'pod-kill-all': killRound,
  fault: faultRound,
  'dependency-outage': dependencyOutageRound,
  'cpu-stress': cpuStressRound,
};

const KILLS = new Set(['pod-kill', 'pod-kill-all']);

function describeWorkloads(workloads: readonly WorkloadStatus[]): string[] {
  return workloads
    .filter((w) => !atFullStrength(w))
    .map(
      (w) =>
        `${w.name} has ${w.ready}/${w.desired} ready, ${w.updated} updated, ${w.available} available ` +
        `(generation ${w.generation}, observed ${w.observedGeneration})`,
    );
}

/** Probe orders: a short burst from the load generator; every one must succeed. */
async function probe(
  options: RunOptions,
  deps: RunDeps,
  orders: number,
): Promise<{ ok: boolean; detail: string }> {
  if (orders === 0) return { ok: true, detail: 'no probe orders configured' };
  const handle = deps.startLoad({
    url: options.url,
    rate: orders * 2,
    durationMs: 500,
    timeoutMs: options.loadTimeoutMs ?? 5000,
    signal: deps.signal,
  });
  const report = await handle.done;
  const ok = report.sent > 0 && report.succeeded === report.sent;
  const errors = Object.entries(report.errorsByKind)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  return {
    ok,
    detail: `${report.succeeded}/${report.sent} probe orders succeeded${errors ? ` (${errors})` : ''}`,
  };
}

async function steadyState(
  options: RunOptions,
  deps: RunDeps,
  waitMs: number,
): Promise<{ ok: boolean; detail: string; workloads: WorkloadStatus[] }> {
  const now = deps.now ?? Date.now;
  const deadline = now() + waitMs;
  let workloads = await deps.target.listWorkloads();
  // Waiting for steady state after an action is a settle wait with a deadline, re-checked twice a second.
  while (describeWorkloads(workloads).length > 0 && now() < deadline && !deps.signal.aborted) {
    await pause(Math.min(500, Math.max(0, deadline - now())), deps.signal);
    workloads = await deps.target.listWorkloads();
  }
  if (workloads.length === 0) return { ok: false, detail: 'no Deployment matches the selector', workloads };
  const lagging = describeWorkloads(workloads);
  if (lagging.length > 0) return { ok: false, detail: lagging.join('; '), workloads };
  // After an action, services may need a moment more than their Deployments (e.g. a circuit
  // breaker's cool-down): probes are retried until the same deadline.
  let probed = await probe(options, deps, options.experiment.steadyState.probeOrders);
  while (!probed.ok && now() < deadline && !deps.signal.aborted) {
    await pause(Math.min(1000, Math.max(0, deadline - now())), deps.signal);
    probed = await probe(options, deps, options.experiment.steadyState.probeOrders);
  }
  return {
    ok: probed.ok,
    detail: `${workloads.length} Deployments at full strength; ${probed.detail}`,
    workloads,
  };
}

/** --dry-run: what would be hit, chosen with the same seed; nothing is touched. */
export async function dryRun(options: RunOptions, deps: RunDeps): Promise<RunOutcome> {
  const { experiment } = options;
  const [replicas, workloads] = await Promise.all([deps.target.listReplicas(), deps.target.listWorkloads()]);
  const random = createRandom(options.seed);
  deps.print(`dry run of ${experiment.name} (seed ${options.seed}) against ${deps.target.description}`);
  deps.print(experiment.description);
  const rows: string[][] = [];
  for (let round = 1; round <= options.rounds; round++) {
    if (KILLS.has(experiment.action.kind)) {
      const planned = planKill({ experiment, settings: options, random }, replicas, workloads);
      rows.push(
        planned.ok
          ? [
              String(round),
              planned.plan.workload,
              `kill ${planned.plan.victims.map((v) => v.name).join(', ')}`,
            ]
          : [String(round), planned.workload ?? '-', `refused: ${planned.reason}`],
      );
    } else {
      const action = experiment.action as { workload: string; duration: number };
      const workload = options.workload ?? action.workload;
      const targets = replicas.filter((r) => r.workload === workload).map((r) => r.name);
      rows.push([
        String(round),
        workload,
        `${experiment.action.kind} for ${formatDuration(action.duration)} on ${targets.join(', ') || '(no replica)'}`,
      ]);
    }
  }
  deps.print(table(['round', 'workload', 'action'], rows));
  deps.print(
    `load ${options.loadRate}/s on ${options.url}; objectives: MTTR p95 <= ${formatDuration(options.mttrSloMs)}, ` +
      `success >= ${options.minSuccess}. Nothing was touched (dry run).`,
  );
  return { exitCode: EXIT_PASS };
}

/**
 * One experiment: steady state before → rounds of the action under load, recovery measured from
 * the target's events → steady state after → verdict and reports. A failed steady state before the
 * action stops with exit 2 and changes nothing.
 */
export async function runExperiment(options: RunOptions, deps: RunDeps): Promise<RunOutcome> {
  if (options.dryRun) return dryRun(options, deps);
  const now = deps.now ?? Date.now;
  const { experiment, target } = { experiment: options.experiment, target: deps.target };
  const started = now();
  const events: LoggedEvent[] = [];
  const listeners = new Set<(event: TargetEvent) => void>();
  const extraObjectives: Objective[] = [];
  const rounds: RoundResult[] = [];
  const clock = (at: number): string => `+${((at - started) / 1000).toFixed(1)}s`.padStart(8);
  const log = (type: string, message: string, data: Record<string, unknown> = {}): void => {
    const at = now();
    events.push({ at, time: new Date(at).toISOString(), origin: 'engine', type, message, ...data });
    deps.print(`${clock(at)}  ${message}`);
  };
  const dispatch = (event: TargetEvent): void => {
    events.push({ time: new Date(event.at).toISOString(), origin: 'target', ...event });
    for (const listener of [...listeners]) listener(event);
  };
  const refreshing = new Set<string>();
  const refreshStatus = (workload: string): void => {
    if (refreshing.has(workload)) return;
    refreshing.add(workload);
    target
      .listWorkloads()
      .then((statuses) => {
        const status = statuses.find((s) => s.name === workload);
        if (status) dispatch({ at: now(), type: 'workload-status', workload, status, source: 'read' });
      })
      .catch((error: unknown) =>
        log('status-read-failed', `cannot read ${workload}: ${(error as Error).message}`),
      )
      .finally(() => refreshing.delete(workload));
  };

  log('start', `${experiment.name} (seed ${options.seed}) against ${target.description}`);
  const subscription = await target.subscribe(dispatch);
  let load: LoadSession | undefined;
  let segments: LoadSegment[] = [];
  let abortReason: string | undefined;
  let steadyAfter = { ok: false, detail: 'not checked' };
  try {
    const before = await steadyState(options, deps, 0);
    if (!before.ok) {
      deps.print(
        `steady state not met before the action, nothing was touched: ${before.detail}.\n` +
          'Wait until `make status` shows every replica ready and orders succeed (or fix the platform), then re-run.',
      );
      return { exitCode: EXIT_USAGE };
    }
    log('steady-state-before', `steady state before: ${before.detail}`);
    load = new LoadSession(deps.startLoad, {
      url: options.url,
      rate: options.loadRate,
      timeoutMs: options.loadTimeoutMs ?? 5000,
    });
    load.begin('baseline', true);
    const ctx: ActionContext = {
      experiment,
      settings: options,
      target,
      random: createRandom(options.seed),
      load,
      signal: deps.signal,
      now,
      log,
      listen: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      refreshStatus,
      addObjective: (o) => extraObjectives.push(o),
    };
    const act = ACTIONS[experiment.action.kind];
    for (let round = 1; round <= options.rounds && !deps.signal.aborted; round++) {
      if (round > 1) await pause(options.intervalMs, deps.signal);
      if (deps.signal.aborted) break;
      try {
        rounds.push(await act(ctx, round));
      } catch (error) {
        const reason = (error as Error).message;
        log('round-failed', `round ${round} failed: ${reason}`, { round });
        rounds.push({
          round,
          action: experiment.action.kind,
          startedAt: now(),
          endedAt: now(),
          outcome: 'failed',
          reason,
        });
      }
    }
    if (!deps.signal.aborted) {
      steadyAfter = await steadyState(options, deps, experiment.steadyState.timeout);
      log(
        'steady-state-after',
        `steady state after: ${steadyAfter.ok ? 'ok' : 'NOT met'}: ${steadyAfter.detail}`,
      );
    }
  } catch (error) {
    abortReason = `error: ${(error as Error).message}`;
    log('error', abortReason);
  } finally {
    if (load) segments = await load.end();
    await subscription.close();
  }
  if (deps.signal.aborted) abortReason ??= 'interrupted (SIGINT)';

  const recoveries = rounds.filter((r) => r.outcome === 'recovered' && r.timeline?.mttrMs !== undefined);
  const mttrValues = recoveries.map((r) => r.timeline?.mttrMs as number);
  const disruptions = rounds.filter((r) => r.timeline && r.timeline.kills.length > 0);
  const kills = disruptions.reduce((n, r) => n + (r.timeline?.kills.length ?? 0), 0);
  const mttr = summarize(mttrValues);
  const total = mergeReports(segments.map((s) => s.report));
  const counted = mergeReports(segments.filter((s) => s.counted).map((s) => s.report));
  const afterRecoveryOnly = experiment.objectives.successAfterRecoveryOnly;
  const countedScope = afterRecoveryOnly
    ? 'orders outside the outage windows (kill → orders succeed again)'
    : 'all orders during the experiment';
  const bound = experiment.objectives.latencyP95Max;
  for (const segment of segments.filter((s) => / fault$/.test(s.name))) {
    const p95 = segment.report.latencyMs.p95;
    if (bound !== undefined) {
      extraObjectives.push(
        objective(
          `latency p95 under the fault (${segment.name})`,
          segment.report.sent > 0 && p95 <= bound,
          `<= ${formatDuration(bound)}`,
          `${formatDuration(p95)} over ${segment.report.sent} orders, success ${segment.report.successRatio.toFixed(4)}`,
          `p95 latency ${formatDuration(p95)} under the fault exceeds ${formatDuration(bound)}`,
        ),
      );
    }
  }
  const verdict = judge({
    measuresRecovery: KILLS.has(experiment.action.kind),
    mttr,
    mttrSloMs: options.mttrSloMs,
    disruptions: disruptions.length,
    recovered: recoveries.length,
    recoveryTimeoutMs: options.recoveryTimeoutMs,
    minSuccess: options.minSuccess,
    load: counted,
    loadScope: countedScope,
    steadyStateAfter: steadyAfter,
    extra: extraObjectives,
  });
  const ended = now();
  const status = abortReason ? 'aborted' : verdict.passed ? 'passed' : 'failed';
  const exitCode = abortReason ? EXIT_USAGE : verdict.passed ? EXIT_PASS : EXIT_OBJECTIVE_BROKEN;
  const report: ChaosReport = {
    tool: 'self-healing-shop chaos',
    experiment: {
      name: experiment.name,
      description: experiment.description,
      outage: experiment.outage,
      action: experiment.action,
    },
    seed: options.seed,
    target: { kind: target.kind, description: target.description },
    options: {
      rounds: options.rounds,
      intervalMs: options.intervalMs,
      mttrSloMs: options.mttrSloMs,
      minSuccess: options.minSuccess,
      loadRate: options.loadRate,
      recoveryTimeoutMs: options.recoveryTimeoutMs,
      url: options.url,
      evict: options.evict,
      workload: options.workload,
    },
    startedAt: new Date(started).toISOString(),
    endedAt: new Date(ended).toISOString(),
    durationMs: ended - started,
    status,
    abortReason,
    rounds,
    mttr: { unit: 'ms', summary: mttr, valuesMs: mttrValues },
    kills,
    load: { total, counted, countedScope, segments },
    verdict,
    exitCode,
    events: events.sort((a, b) => a.at - b.at),
  };
  const { files, metrics } = await writeReports(options.reportDir, report);
  if (target.kind === 'local') {
    await target
      .publishMetrics(metrics)
      .catch((error: unknown) =>
        deps.print(`could not publish metrics to the runtime: ${(error as Error).message}`),
      );
  }
  deps.print('');
  deps.print(renderSummary(report));
  deps.print(`reports: ${files.join(', ')}`);
  if (abortReason) deps.print(`${abortReason}: partial report written; re-run to get a verdict.`);
  return { exitCode, report, files };
}
