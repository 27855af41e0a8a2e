import { formatDuration } from '@self-healing-shop/loadgen';
import type { Timeline } from '../recovery.ts';
import { figuresOf, type RoundResult } from '../report/report.ts';
import { atFullStrength, type Replica } from '../target.ts';
import { pause, pollUntil, type ActionContext } from './context.ts';
import { planOneReplica } from './victims.ts';

/**
 * Whether the frozen replica serves again: ready itself, or (when the platform replaced it, e.g. its
 * liveness probe failed) gone and its workload ready without it; and the workload at full strength.
 */
async function thawedAndWhole(ctx: ActionContext, victim: Replica): Promise<boolean> {
  const [replicas, workloads] = await Promise.all([ctx.target.listReplicas(), ctx.target.listWorkloads()]);
  const status = workloads.find((w) => w.name === victim.workload);
  const self = replicas.find((r) => r.uid === victim.uid);
  return (self === undefined || self.ready) && status !== undefined && atFullStrength(status);
}

/**
 * pod-freeze: a gray failure. One replica (seeded choice) is frozen for the action's duration
 * (`target.freeze`: SIGSTOP/SIGCONT locally, an event-loop-blocking fault on Kubernetes). Recovery:
 * the replica ready again (or replaced) and the workload at full strength; MTTR counts from the
 * freeze, so it includes the freeze itself. The orders' success ratio through it is the point.
 */
export async function freezeRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const action = ctx.experiment.action;
  if (action.kind !== 'pod-freeze') throw new Error(`freezeRound cannot run ${action.kind}`);
  const startedAt = ctx.now();
  const [replicas, workloads] = await Promise.all([ctx.target.listReplicas(), ctx.target.listWorkloads()]);
  const planned = planOneReplica(ctx, replicas, workloads);
  if (!planned.ok) {
    ctx.log('freeze-refused', `round ${round}: ${planned.reason}`, { round });
    const { workload, reason } = planned;
    return {
      round,
      action: action.kind,
      workload,
      startedAt,
      endedAt: ctx.now(),
      outcome: 'refused',
      reason,
    };
  }
  const { workload, victims } = planned.plan;
  const victim = victims[0]!;
  const timeline: Timeline = { workload, kills: [], replacements: [] };
  let unreadyAt: number | undefined;
  const stop = ctx.listen((event) => {
    if (event.uid === victim.uid && event.type === 'replica-unready') unreadyAt ??= event.at;
  });
  try {
    const sentAt = ctx.now();
    timeline.kills.push({ replica: victim.name, uid: victim.uid, sentAt, method: 'freeze' });
    ctx.log(
      'freeze-sent',
      `round ${round}: freezing ${victim.name} (${workload}) for ${formatDuration(action.duration)}`,
      {
        round,
        replica: victim.name,
        uid: victim.uid,
      },
    );
    await ctx.target.freeze(victim, action.duration);
    await pause(Math.max(0, sentAt + action.duration - ctx.now()), ctx.signal);
    const thawedAt = ctx.now();
    const recoveredAt = await pollUntil(
      ctx,
      () => thawedAndWhole(ctx, victim),
      thawedAt + ctx.settings.recoveryTimeoutMs,
    );
    const details = {
      frozenMs: action.duration,
      unreadyAfterMs: unreadyAt === undefined ? undefined : unreadyAt - sentAt,
      readyAfterThawMs: recoveredAt === undefined ? undefined : Math.max(0, recoveredAt - thawedAt),
    };
    if (recoveredAt === undefined) {
      const reason = ctx.signal.aborted
        ? 'interrupted before recovery'
        : `${victim.name} not ready with ${workload} at full strength within ${formatDuration(ctx.settings.recoveryTimeoutMs)} of the thaw`;
      ctx.log('not-recovered', `round ${round}: ${reason}`, { round });
      const outcome = ctx.signal.aborted ? 'aborted' : 'not-recovered';
      return {
        round,
        action: action.kind,
        workload,
        startedAt,
        endedAt: ctx.now(),
        outcome,
        reason,
        timeline,
        details,
      };
    }
    timeline.fullStrengthAt = recoveredAt;
    timeline.mttrMs = recoveredAt - sentAt;
    ctx.log(
      'recovered',
      `round ${round}: ${victim.name} serving and ${workload} at full strength ${formatDuration(timeline.mttrMs)} after the freeze began`,
      {
        round,
        mttrMs: timeline.mttrMs,
      },
    );
    const figures = figuresOf(timeline);
    return {
      round,
      action: action.kind,
      workload,
      startedAt,
      endedAt: ctx.now(),
      outcome: 'recovered',
      timeline,
      figures,
      details,
    };
  } finally {
    stop();
  }
}
