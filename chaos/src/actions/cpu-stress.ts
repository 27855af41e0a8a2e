import { formatDuration } from '@self-healing-shop/loadgen';
import type { RoundResult } from '../report/report.ts';
import type { TargetEvent } from '../target.ts';
import { objective } from '../verdict.ts';
import { pause, type ActionContext } from './context.ts';

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
  ctx.addObjective(
    objective(
      'scaled out under CPU stress',
      scaleOutMs !== undefined && scaleOutMs <= action.scaleOutDeadline,
      `more than ${minimum} replicas within ${formatDuration(action.scaleOutDeadline)}`,
      scaleOutMs === undefined
        ? `stayed at ${minimum}`
        : `${maxDesired} replicas after ${formatDuration(scaleOutMs)}`,
      scaleOutMs === undefined
        ? `${workload} never scaled out during ${formatDuration(action.duration)} of CPU stress`
        : `${workload} scaled out only after ${formatDuration(scaleOutMs)}`,
    ),
  );
  ctx.addObjective(
    objective(
      'back to the minimum after the stress',
      backToMinMs !== undefined && backToMinMs <= action.scaleInDeadline,
      `${minimum} replicas within ${formatDuration(action.scaleInDeadline)} of the stress ending`,
      backToMinMs === undefined ? `still ${desired}` : `after ${formatDuration(backToMinMs)}`,
      `${workload} not back to ${minimum} replicas within ${formatDuration(action.scaleInDeadline)} (now ${desired})`,
    ),
  );
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
