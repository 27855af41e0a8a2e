import type { Experiment } from '../experiment.ts';
import type { LoadSession, StartLoad } from '../load.ts';
import type { Random } from '../random.ts';
import type { RoundResult } from '../report/report.ts';
import type { Replica, Target, TargetEvent, WorkloadStatus } from '../target.ts';
import type { Objective } from '../verdict.ts';

export interface RunSettings {
  rounds: number;
  intervalMs: number;
  mttrSloMs: number;
  minSuccess: number;
  loadRate: number;
  recoveryTimeoutMs: number;
  url: string;
  notificationUrl: string;
  evict: boolean;
  /** Deployment chosen with --workload (overrides the experiment's). */
  workload?: string;
  /** Per-request timeout of the load generator. */
  loadTimeoutMs?: number;
  /** Alertmanager to read the experiment's alerts from, instead of the target's (--alertmanager-url). */
  alertmanagerUrl?: string;
  /** Alerts that cannot be checked (no Alertmanager) break the verdict (--require-alerts). */
  requireAlerts?: boolean;
}

/** What an action gets to do its work and to say what it did. */
export interface ActionContext {
  experiment: Experiment;
  settings: RunSettings;
  target: Target;
  random: Random;
  load: LoadSession;
  /** The load generator itself, for load of an action's own (a burst). */
  startLoad: StartLoad;
  signal: AbortSignal;
  now: () => number;
  log: (type: string, message: string, data?: Record<string, unknown>) => void;
  /** Listens to the target's events until the returned function is called. */
  listen: (listener: (event: TargetEvent) => void) => () => void;
  /** Reads the Deployment statuses now and feeds them to listeners as `workload-status` events. */
  refreshStatus: (workload: string) => void;
  /**
   * An objective of this action for the verdict (e.g. confirmations delivered); a promise when it
   * can only be judged once the run's load has ended (latency of the action's own load segment).
   */
  addObjective: (objective: Objective | Promise<Objective>) => void;
  /** Orders answered 201 outside the load session (probes, bursts): the invariants read them back. */
  acknowledge: (orderIds: readonly string[]) => void;
}

export type Action = (ctx: ActionContext, round: number) => Promise<RoundResult>;

/** What `--dry-run` needs to plan a round: the same seeded random as the run. */
export type PlanContext = Pick<ActionContext, 'experiment' | 'settings' | 'random'>;

/** One kind of experiment action: its rounds, how the verdict judges it, its dry-run plan. */
export interface ActionDefinition {
  round: Action;
  /** The rounds disrupt replicas and are judged on recovery (every one recovered, MTTR p95). */
  measuresRecovery: boolean;
  /** --dry-run: the workload and what the round would do, chosen as the run would choose it. */
  plan: (ctx: PlanContext, replicas: readonly Replica[], workloads: readonly WorkloadStatus[]) => string[];
  /** Runs once around all rounds (e.g. CPU burners); resolves with what undoes it. */
  prepare?: (ctx: ActionContext) => Promise<() => Promise<void>>;
}

/** A pause that ends early on abort (the pacing between rounds or a fault's planned duration). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Re-checks `condition` every `everyMs` until it holds (resolves with the time it was seen), the
 * deadline passes or the run is aborted (resolves undefined). A failed check counts as not yet.
 */
export async function pollUntil(
  ctx: Pick<ActionContext, 'now' | 'signal'>,
  condition: () => Promise<boolean>,
  deadline: number,
  everyMs = 250,
): Promise<number | undefined> {
  while (!ctx.signal.aborted) {
    const ok = await condition().catch(() => false);
    if (ok) return ctx.now();
    if (ctx.now() >= deadline) return undefined;
    await pause(Math.min(everyMs, Math.max(0, deadline - ctx.now())), ctx.signal);
  }
  return undefined;
}
