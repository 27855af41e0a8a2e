import { formatDuration } from '@self-healing-shop/loadgen';
import type { RoundResult } from '../report/report.ts';
import type { TargetEvent } from '../target.ts';
import { objective, type Objective } from '../verdict.ts';
import { pause, type ActionContext } from './context.ts';

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

/**
 * Burns a CPU core in every replica of one workload; the auto-scaler must add replicas while it
 * lasts and go back to its minimum after its stabilisation window. Replica counts come from the
 * event stream (`scaled` events, Deployment spec.replicas changes).
 */
export async function cpuStressRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const action = ctx.experiment.action;
  if (action.kind !== 'cpu-stress') throw new Error(`cpuStressRound cannot run ${action.kind}`);
  const workload = ctx.settings.workload ?? action.workload;
  const startedAt = ctx.now();
  const initial = (await ctx.target.listWorkloads()).find((w) => w.name === workload);
  if (!initial) throw new Error(`no Deployment named ${workload} in scope`);
  const minimum = initial.desired;
  let desired = minimum;
  let maxDesired = minimum;
  let scaleOutAt: number | undefined;
  let backToMinAt: number | undefined;
  let stressEndedAt: number | undefined;
  let wake: (() => void) | undefined;
  const stop = ctx.listen((event: TargetEvent) => {
    if (event.workload !== workload || !event.status) return;
    desired = event.status.desired;
    maxDesired = Math.max(maxDesired, desired);
    if (desired > minimum) scaleOutAt ??= event.at;
    if (stressEndedAt !== undefined && scaleOutAt !== undefined && desired <= minimum)
      backToMinAt ??= event.at;
    wake?.();
  });
  const until = async (condition: () => boolean, deadline: number): Promise<void> => {
    while (!condition() && ctx.now() < deadline && !ctx.signal.aborted) {
      await Promise.race([pause(deadline - ctx.now(), ctx.signal), new Promise<void>((r) => (wake = r))]);
    }
  };
  const replicas = (await ctx.target.listReplicas()).filter(
    (r) => r.workload === workload && r.phase !== 'terminating',
  );
  try {
    for (const replica of replicas)
      await ctx.target.injectFault(replica, { type: 'cpu', durationMs: action.duration });
    ctx.log(
      'fault-injected',
      `round ${round}: cpu stress on ${replicas.length} ${workload} replicas for ${formatDuration(action.duration)}`,
      {
        round,
        replicas: replicas.map((r) => r.name),
      },
    );
    await pause(action.duration, ctx.signal);
  } finally {
    await Promise.allSettled(replicas.map((r) => ctx.target.clearFaults(r)));
    stressEndedAt = ctx.now();
    ctx.log('fault-removed', `round ${round}: cpu stress ended`, { round });
  }
  if (scaleOutAt !== undefined && desired <= minimum) backToMinAt ??= ctx.now();
  await until(
    () => backToMinAt !== undefined || scaleOutAt === undefined,
    stressEndedAt + action.scaleInDeadline,
  );
  stop();
  const scaleOutMs = scaleOutAt === undefined ? undefined : scaleOutAt - startedAt;
  const backToMinMs = backToMinAt === undefined ? undefined : backToMinAt - stressEndedAt;
  for (const o of scaleObjectives(action, workload, {
    minimum,
    desired,
    maxDesired,
    scaleOutMs,
    backToMinMs,
  }))
    ctx.addObjective(o);
  return {
    round,
    action: action.kind,
    workload,
    startedAt,
    endedAt: ctx.now(),
    outcome: ctx.signal.aborted ? 'aborted' : 'done',
    details: { minimum, maxReplicas: maxDesired, scaleOutMs, backToMinMs, stressMs: action.duration },
  };
}
