/**
 * One pod-kill round within the SLO: the chaos engine's own pod-kill experiment (experiments/pod-kill.yaml)
 * run by `runExperiment` with one round at a small load, so the kill, the recovery tracking from the
 * platform's events and the verdict are the ones `chaos run pod-kill` uses. Trimmed for a self-check:
 * no alerts watch (it would hold the run for its 90 s window) and no data invariants (the audit waits
 * for the platform to settle); `chaos run pod-kill` checks both.
 */
import type { StartLoad } from '../load.ts';
import { loadExperiment } from '../experiment.ts';
import { newSeed } from '../random.ts';
import { runExperiment } from '../run.ts';
import type { Target } from '../target.ts';
import { fail, pass, type CheckOutcome } from './check.ts';

export interface KillRoundOptions {
  target: Target;
  startLoad: StartLoad;
  url: string;
  notificationUrl: string;
  reportDir: string;
  signal: AbortSignal;
  /** Defaults: the experiment's (30 s MTTR SLO, 2 min recovery timeout). */
  mttrSloMs?: number;
  recoveryTimeoutMs?: number;
  workload?: string;
  seed?: string;
  /** Orders per second during the round (default 5: enough to see failures, light on a laptop). */
  loadRate?: number;
  evict?: boolean;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export async function killRound(options: KillRoundOptions, next: string): Promise<CheckOutcome> {
  const podKill = await loadExperiment('pod-kill');
  const experiment = { ...podKill, alerts: undefined };
  const mttrSloMs = options.mttrSloMs ?? podKill.defaults.mttrSlo;
  const printed: string[] = [];
  const outcome = await runExperiment(
    {
      experiment,
      rounds: 1,
      intervalMs: 0,
      seed: options.seed ?? newSeed(),
      mttrSloMs,
      recoveryTimeoutMs: options.recoveryTimeoutMs ?? podKill.defaults.recoveryTimeout,
      minSuccess: podKill.defaults.minSuccess,
      loadRate: options.loadRate ?? 5,
      url: options.url,
      notificationUrl: options.notificationUrl,
      evict: options.evict ?? false,
      workload: options.workload,
      dryRun: false,
      reportDir: options.reportDir,
      invariants: false,
    },
    {
      target: options.target,
      startLoad: options.startLoad,
      print: (line) => printed.push(line),
      signal: options.signal,
    },
  );
  const report = outcome.report;
  if (!report) {
    // Exit 2 before any kill: the steady state did not hold (runExperiment printed why).
    const why =
      printed.find((line) => line.startsWith('steady state not met')) ?? printed.at(-1) ?? 'no report';
    return fail(why.split('\n')[0]!, next);
  }
  const round = report.rounds[0];
  const victim = round?.timeline?.kills[0]?.replica ?? '?';
  const mttr = round?.figures?.fullStrengthMs;
  const orders = report.load.counted;
  const ordersSeen = orders ? `, ${orders.succeeded}/${orders.sent} orders ok` : '';
  const slo = `SLO ${seconds(mttrSloMs)}`;
  if (report.verdict.passed && round?.outcome === 'recovered' && mttr !== undefined) {
    return pass(
      `killed ${victim} (${round.workload}): full strength after ${seconds(mttr)} (${slo})${ordersSeen}`,
    );
  }
  const reasons = [report.abortReason, round?.reason, ...report.verdict.reasons].filter(
    (r): r is string => !!r,
  );
  return fail(
    `killed ${victim} (${round?.workload ?? '?'}): ${round?.outcome ?? 'no round'}` +
      `${mttr === undefined ? '' : `, full strength after ${seconds(mttr)}`} (${slo})${ordersSeen}; ${reasons.join('; ')}`,
    `${next} (report: ${options.reportDir}/report.json)`,
  );
}
