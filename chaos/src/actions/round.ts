// The steps every round shares: its opening (the action it runs, checked), its result, and the
// apply / hold / undo loop over the replicas a fault is put on.
import type { ExperimentAction } from '../experiment.ts';
import type { RoundOutcome, RoundResult } from '../report/report.ts';
import type { FaultSpec, Replica } from '../target.ts';
import { pause, type ActionContext } from './context.ts';

type ActionOf<K extends ExperimentAction['kind']> = Extract<ExperimentAction, { kind: K }>;

/** The experiment's action, which must be of the `kind` that `runner` (a round function) runs. */
export function actionOf<K extends ExperimentAction['kind']>(
  ctx: ActionContext,
  kind: K,
  runner: string,
): ActionOf<K> {
  const action = ctx.experiment.action;
  if (action.kind !== kind) throw new Error(`${runner} cannot run ${action.kind}`);
  return action as ActionOf<K>;
}

/** What a round's result starts with, known when the round begins. */
export interface RoundHead {
  readonly round: number;
  readonly action: string;
  readonly workload?: string;
  readonly startedAt: number;
}

/** A round that starts now on the workload its action names, or the one chosen with --workload. */
export function startRound(
  ctx: ActionContext,
  round: number,
  action: { readonly kind: string; readonly workload: string },
): RoundHead & { readonly workload: string } {
  return {
    round,
    action: action.kind,
    workload: ctx.settings.workload ?? action.workload,
    startedAt: ctx.now(),
  };
}

/** The round's result, ending now. */
export function endRound(
  ctx: ActionContext,
  head: RoundHead,
  outcome: RoundOutcome,
  rest: Partial<Pick<RoundResult, 'reason' | 'details' | 'timeline' | 'figures'>> = {},
): RoundResult {
  return { ...head, endedAt: ctx.now(), outcome, ...rest };
}

/** `done`, or `aborted` when the run was interrupted meanwhile. */
export function doneUnlessAborted(ctx: ActionContext): RoundOutcome {
  return ctx.signal.aborted ? 'aborted' : 'done';
}

/** The replicas of `workload` that are not on their way out. */
export async function liveReplicas(ctx: ActionContext, workload: string): Promise<Replica[]> {
  return (await ctx.target.listReplicas()).filter(
    (r) => r.workload === workload && r.phase !== 'terminating',
  );
}

/** What the fault loop reports on the way: once every fault is on, and once they were cleared. */
export interface FaultHooks {
  injected(faultIds: readonly string[]): void;
  /** `failed`: replicas whose faults could not be cleared. */
  removed(failed: number): void;
}

/**
 * Puts `fault` on each replica, holds it for `fault.durationMs` (less on abort), then clears the faults
 * of every replica whatever happened (an abort, a failed injection). The faults carry their duration
 * too, so the services drop them on their own should this process die. Resolves with the fault ids.
 */
export async function holdFault(
  ctx: ActionContext,
  replicas: readonly Replica[],
  fault: FaultSpec & { readonly durationMs: number },
  hooks: FaultHooks,
): Promise<string[]> {
  const faultIds: string[] = [];
  try {
    for (const replica of replicas) faultIds.push(await ctx.target.injectFault(replica, fault));
    hooks.injected(faultIds);
    await pause(fault.durationMs, ctx.signal);
  } finally {
    const results = await Promise.allSettled(replicas.map((r) => ctx.target.clearFaults(r)));
    hooks.removed(results.filter((r) => r.status === 'rejected').length);
  }
  return faultIds;
}
