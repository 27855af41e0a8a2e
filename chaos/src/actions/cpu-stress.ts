import { formatDuration } from '@self-healing-shop/loadgen';
import type { RoundResult } from '../report/report.ts';
import type { TargetEvent } from '../target.ts';
import { objective, type Objective } from '../verdict.ts';
import { pause, type ActionContext } from './context.ts';
import { actionOf, doneUnlessAborted, endRound, holdFault, liveReplicas, startRound } from './round.ts';

interface ScaleFigures {
  minimum: number;
  desired: number;
  maxDesired: number;
  scaleOutMs: number | undefined;
  backToMinMs: number | undefined;
}

/** Scaled out in time under the stress, and back to the minimum in time after it. */
function scaleObjectives(
  action: { duration: number; scaleOutDeadline: number; scaleInDeadline: number },
  workload: string,
  f: ScaleFigures,
): Objective[] {
  return [
    objective(
      'scaled out under CPU stress',
      f.scaleOutMs !== undefined && f.scaleOutMs <= action.scaleOutDeadline,
      `more than ${f.minimum} replicas within ${formatDuration(action.scaleOutDeadline)}`,
      f.scaleOutMs === undefined
        ? `stayed at ${f.minimum}`
        : `${f.maxDesired} replicas after ${formatDuration(f.scaleOutMs)}`,
      f.scaleOutMs === undefined
        ? `${workload} never scaled out during ${formatDuration(action.duration)} of CPU stress`
        : `${workload} scaled out only after ${formatDuration(f.scaleOutMs)}`,
    ),
    objective(
      'back to the minimum after the stress',
      f.backToMinMs !== undefined && f.backToMinMs <= action.scaleInDeadline,
      `${f.minimum} replicas within ${formatDuration(action.scaleInDeadline)} of the stress ending`,
      f.backToMinMs === undefined ? `still ${f.desired}` : `after ${formatDuration(f.backToMinMs)}`,
      `${workload} not back to ${f.minimum} replicas within ${formatDuration(action.scaleInDeadline)} (now ${f.desired})`,
    ),
  ];
}

/** The workload's desired replica count as the target's events tell it, and a wait on it. */
function watchScale(ctx: ActionContext, workload: string, minimum: number) {
  const state = {
    desired: minimum,
    maxDesired: minimum,
    scaleOutAt: undefined as number | undefined,
    backToMinAt: undefined as number | undefined,
    stressEndedAt: undefined as number | undefined,
  };
  let wake: (() => void) | undefined;
  const stop = ctx.listen((event: TargetEvent) => {
    if (event.workload !== workload || !event.status) return;
    state.desired = event.status.desired;
    state.maxDesired = Math.max(state.maxDesired, state.desired);
    if (state.desired > minimum) state.scaleOutAt ??= event.at;
    if (state.stressEndedAt !== undefined && state.scaleOutAt !== undefined && state.desired <= minimum)
      state.backToMinAt ??= event.at;
    wake?.();
  });
  const until = async (condition: () => boolean, deadline: number): Promise<void> => {
    while (!condition() && ctx.now() < deadline && !ctx.signal.aborted) {
      await Promise.race([pause(deadline - ctx.now(), ctx.signal), new Promise<void>((r) => (wake = r))]);
    }
  };
  return { state, until, stop };
}

/**
 * Burns a CPU core in every replica of one workload; the auto-scaler must add replicas while it
 * lasts and go back to its minimum after its stabilisation window. Replica counts come from the
 * event stream (`scaled` events, Deployment spec.replicas changes).
 */
export async function cpuStressRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const action = actionOf(ctx, 'cpu-stress', 'cpuStressRound');
  const head = startRound(ctx, round, action);
  const { workload, startedAt } = head;
  const initial = (await ctx.target.listWorkloads()).find((w) => w.name === workload);
  if (!initial) throw new Error(`no Deployment named ${workload} in scope`);
  const minimum = initial.desired;
  const scale = watchScale(ctx, workload, minimum);
  const { state } = scale;
  const replicas = await liveReplicas(ctx, workload);
  await holdFault(
    ctx,
    replicas,
    { type: 'cpu', durationMs: action.duration },
    {
      injected: () =>
        ctx.log(
          'fault-injected',
          `round ${round}: cpu stress on ${replicas.length} ${workload} replicas for ${formatDuration(action.duration)}`,
          { round, replicas: replicas.map((r) => r.name) },
        ),
      removed: () => {
        state.stressEndedAt = ctx.now();
        ctx.log('fault-removed', `round ${round}: cpu stress ended`, { round });
      },
    },
  );
  // holdFault calls `removed` before it returns.
  const stressEndedAt = state.stressEndedAt!;
  if (state.scaleOutAt !== undefined && state.desired <= minimum) state.backToMinAt ??= ctx.now();
  await scale.until(
    () => state.backToMinAt !== undefined || state.scaleOutAt === undefined,
    stressEndedAt + action.scaleInDeadline,
  );
  scale.stop();
  const { desired, maxDesired } = state;
  const scaleOutMs = state.scaleOutAt === undefined ? undefined : state.scaleOutAt - startedAt;
  const backToMinMs = state.backToMinAt === undefined ? undefined : state.backToMinAt - stressEndedAt;
  for (const o of scaleObjectives(action, workload, {
    minimum,
    desired,
    maxDesired,
    scaleOutMs,
    backToMinMs,
  }))
    ctx.addObjective(o);
  return endRound(ctx, head, doneUnlessAborted(ctx), {
    details: { minimum, maxReplicas: maxDesired, scaleOutMs, backToMinMs, stressMs: action.duration },
  });
}
