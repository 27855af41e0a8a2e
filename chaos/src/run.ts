import { ACTIONS } from './actions/index.ts';
import { httpAlertSource, type AlertSource } from './alerts/alert-source.ts';
import { watchAlerts, type AlertWatchResult } from './alerts/alert-watch.ts';
import { silenceExpected, type RunSilences } from './alerts/silences.ts';
import { pause, type ActionContext, type RunSettings } from './actions/context.ts';
import type { Experiment } from './experiment.ts';
import { LoadSession, mergeReports, type LoadSegment, type StartLoad } from './load.ts';
import { createRandom } from './random.ts';
import { writeReports, type ChaosReport, type RoundResult } from './report/report.ts';
import { renderSummary } from './report/terminal.ts';
import { printDryRun } from './steps/dry-run.ts';
import { checkInvariants, type InvariantsResult } from './steps/invariants.ts';
import { buildReport, EXIT_PASS, EXIT_USAGE, type RunRecord } from './steps/report.ts';
import { RunLog } from './steps/run-log.ts';
import { steadyState, type SteadyStateDeps } from './steps/steady-state.ts';
import type { Target } from './target.ts';
import type { Objective } from './verdict.ts';

export { EXIT_OBJECTIVE_BROKEN, EXIT_PASS, EXIT_USAGE } from './steps/report.ts';

export interface RunOptions extends RunSettings {
  experiment: Experiment;
  seed: string;
  dryRun: boolean;
  reportDir: string;
  /** Check the data invariants after the run (unless the experiment turns them off); --no-invariants. */
  invariants: boolean;
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

/** What the rounds step hands on to the checks and the verdict. */
interface RoundsOutcome {
  rounds: RoundResult[];
  segments: LoadSegment[];
  steadyAfter: { ok: boolean; detail: string };
  objectives: Array<Objective | Promise<Objective>>;
  /** The alerts watch (from the action's start until the experiment's `alerts.within`). */
  alerts?: Promise<AlertWatchResult>;
  /** The silences on the expected alerts, expired when the rounds, the checks and the watch are over. */
  silences?: RunSilences;
  abortReason?: string;
}

/** Where the alerts are read: --alertmanager-url, else the target's own Alertmanager. */
function alertSource(options: RunOptions, target: Target): () => Promise<AlertSource> {
  const url = options.alertmanagerUrl;
  if (url) return () => Promise.resolve(httpAlertSource(url));
  if (target.alertSource) return () => target.alertSource!();
  return () =>
    Promise.reject(new Error(`${target.kind} target has no Alertmanager; pass --alertmanager-url`));
}

/** One round, a failed one recorded as such (the run goes on with the next). */
async function playRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  try {
    return await ACTIONS[ctx.experiment.action.kind].round(ctx, round);
  } catch (error) {
    const reason = (error as Error).message;
    ctx.log('round-failed', `round ${round} failed: ${reason}`, { round });
    const at = ctx.now();
    return {
      round,
      action: ctx.experiment.action.kind,
      startedAt: at,
      endedAt: at,
      outcome: 'failed',
      reason,
    };
  }
}

/** The rounds under load, with the action's set-up around them, then the steady state after. */
async function playRounds(
  options: RunOptions,
  deps: RunDeps,
  log: RunLog,
  load: LoadSession,
  steady: SteadyStateDeps,
  out: RoundsOutcome,
): Promise<void> {
  const now = deps.now ?? Date.now;
  const ctx: ActionContext = {
    experiment: options.experiment,
    settings: options,
    target: deps.target,
    random: createRandom(options.seed),
    load,
    startLoad: deps.startLoad,
    signal: deps.signal,
    now,
    log: log.log,
    listen: log.listen,
    refreshStatus: log.refresher(deps.target),
    addObjective: (o) => out.objectives.push(o),
    acknowledge: steady.acknowledge,
  };
  const definition = ACTIONS[options.experiment.action.kind];
  let actionsEnded = (): void => undefined;
  if (options.experiment.alerts) {
    // Before the fault: nobody is paged for the alerts this planned experiment is meant to fire.
    out.silences = await silenceExpected(options.experiment.alerts, {
      api: async () => {
        const source = await alertSource(options, deps.target)();
        if (!source.silences) throw new Error(`${source.description} offers no silences API`);
        return source.silences;
      },
      run: `${options.experiment.name} (seed ${options.seed}, started ${new Date(now()).toISOString()})`,
      // At most the watch, the rounds and the steady state after, plus a margin; expired at the end anyway.
      maxMs:
        options.experiment.alerts.within +
        options.rounds * options.intervalMs +
        options.experiment.steadyState.timeout +
        600_000,
      now,
      log: log.log,
    });
    out.alerts = watchAlerts(options.experiment.alerts, {
      source: alertSource(options, deps.target),
      signal: deps.signal,
      now,
      log: log.log,
      actionsEnded: new Promise<void>((resolve) => (actionsEnded = resolve)),
    });
  }
  try {
    const undo = await definition.prepare?.(ctx);
    try {
      for (let round = 1; round <= options.rounds && !deps.signal.aborted; round++) {
        if (round > 1) await pause(options.intervalMs, deps.signal);
        if (deps.signal.aborted) break;
        out.rounds.push(await playRound(ctx, round));
      }
    } finally {
      await undo?.();
    }
  } finally {
    actionsEnded();
  }
  if (deps.signal.aborted) return;
  out.steadyAfter = await steadyState(
    options.experiment,
    options,
    steady,
    options.experiment.steadyState.timeout,
  );
  log.log(
    'steady-state-after',
    `steady state after: ${out.steadyAfter.ok ? 'ok' : 'NOT met'}: ${out.steadyAfter.detail}`,
  );
}

/** Expires the run's silences once the alerts watch is over (at once when the run was interrupted). */
async function expireSilences(out: RoundsOutcome): Promise<void> {
  const silences = out.silences;
  if (!silences) return;
  const watched = await out.alerts?.catch(() => undefined);
  await silences.expire();
  if (watched) out.alerts = Promise.resolve({ ...watched, silenced: silences.result });
}

/**
 * Steady state before (not met: exit 2, nothing touched) → load → rounds → steady state after. The
 * load ends and the event stream closes whatever happens.
 */
async function runRounds(
  options: RunOptions,
  deps: RunDeps,
  log: RunLog,
  steady: SteadyStateDeps,
): Promise<RoundsOutcome | undefined> {
  const out: RoundsOutcome = {
    rounds: [],
    segments: [],
    objectives: [],
    steadyAfter: { ok: false, detail: 'not checked' },
  };
  const subscription = await deps.target.subscribe(log.dispatch);
  let load: LoadSession | undefined;
  try {
    const before = await steadyState(options.experiment, options, steady, 0);
    if (!before.ok) {
      deps.print(
        `steady state not met before the action, nothing was touched: ${before.detail}.\n` +
          'Wait until `make status` shows every replica ready and orders succeed (or fix the platform), then re-run.',
      );
      return undefined;
    }
    log.log('steady-state-before', `steady state before: ${before.detail}`);
    load = new LoadSession(deps.startLoad, {
      url: options.url,
      rate: options.loadRate,
      timeoutMs: options.loadTimeoutMs ?? 5000,
    });
    void load.begin('baseline', true);
    await playRounds(options, deps, log, load, steady, out);
  } catch (error) {
    out.abortReason = `error: ${(error as Error).message}`;
    log.log('error', out.abortReason);
  } finally {
    if (load) out.segments = await load.end();
    await subscription.close();
    await expireSilences(out);
  }
  if (deps.signal.aborted) out.abortReason ??= 'interrupted (SIGINT)';
  return out;
}

/** The invariants on the quiet platform, unless turned off or the run did not complete. */
async function invariantsStep(
  options: RunOptions,
  deps: RunDeps,
  log: RunLog,
  outcome: RoundsOutcome,
  acknowledged: ReadonlySet<string>,
): Promise<InvariantsResult | { checked: false; reason: string }> {
  if (!options.invariants) return { checked: false, reason: 'turned off with --no-invariants' };
  if (!options.experiment.objectives.invariants)
    return { checked: false, reason: 'turned off by the experiment' };
  if (outcome.abortReason) return { checked: false, reason: `run not completed (${outcome.abortReason})` };
  const fromLoad = mergeReports(outcome.segments.map((s) => s.report))?.acknowledged ?? [];
  return checkInvariants(
    { target: deps.target, signal: deps.signal, now: deps.now ?? Date.now, log: log.log },
    [...new Set([...acknowledged, ...fromLoad])],
    options.experiment.steadyState.quietTimeout,
  );
}

/** Writes the reports, publishes the metrics on the local runtime, prints the summary. */
async function publish(options: RunOptions, deps: RunDeps, report: ChaosReport): Promise<string[]> {
  const { files, metrics } = await writeReports(options.reportDir, report);
  if (deps.target.kind === 'local') {
    await deps.target
      .publishMetrics(metrics)
      .catch((error: unknown) =>
        deps.print(`could not publish metrics to the runtime: ${(error as Error).message}`),
      );
  }
  deps.print('');
  deps.print(renderSummary(report));
  deps.print(`reports: ${files.join(', ')}`);
  if (report.abortReason)
    deps.print(`${report.abortReason}: partial report written; re-run to get a verdict.`);
  return files;
}

/**
 * One experiment: steady state before → rounds of the action under load, recovery measured from
 * the target's events → steady state after → invariants on the quiet platform → verdict and reports.
 * A failed steady state before the action stops with exit 2 and changes nothing.
 */
export async function runExperiment(options: RunOptions, deps: RunDeps): Promise<RunOutcome> {
  if (options.dryRun) {
    await printDryRun(options.experiment, options, deps.target, deps.print);
    return { exitCode: EXIT_PASS };
  }
  const now = deps.now ?? Date.now;
  const log = new RunLog(deps.print, now);
  const acknowledged = new Set<string>();
  const steady: SteadyStateDeps = {
    target: deps.target,
    startLoad: deps.startLoad,
    signal: deps.signal,
    now,
    acknowledge: (ids) => ids.forEach((id) => acknowledged.add(id)),
  };
  log.log('start', `${options.experiment.name} (seed ${options.seed}) against ${deps.target.description}`);
  const outcome = await runRounds(options, deps, log, steady);
  if (!outcome) return { exitCode: EXIT_USAGE };
  const invariants = await invariantsStep(options, deps, log, outcome, acknowledged);
  const record: RunRecord = {
    experiment: options.experiment,
    settings: options,
    target: deps.target,
    traceViewBase: await deps.target.traceViewBase?.().catch(() => undefined),
    measuresRecovery: ACTIONS[options.experiment.action.kind].measuresRecovery,
    started: log.started,
    ended: now(),
    rounds: outcome.rounds,
    segments: outcome.segments,
    steadyAfter: outcome.steadyAfter,
    objectives: await Promise.all(outcome.objectives),
    invariants,
    alerts: await outcome.alerts,
    abortReason: outcome.abortReason,
    events: log.sorted(),
  };
  const report = buildReport(record);
  const files = await publish(options, deps, report);
  return { exitCode: report.exitCode, report, files };
}
