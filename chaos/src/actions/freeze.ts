import { formatDuration } from '@self-healing-shop/loadgen';
import type { Timeline } from '../recovery.ts';
import { figuresOf, type RoundResult } from '../report/report.ts';
import { atFullStrength, type Replica } from '../target.ts';
import { pause, pollUntil, type ActionContext } from './context.ts';
import { actionOf, endRound } from './round.ts';
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

interface FreezeRun {
  round: number;
  startedAt: number;
  workload: string;
  victim: Replica;
}

/** The round's result once the freeze is over and recovery was awaited (or not seen in time). */
function freezeResult(
  ctx: ActionContext,
  run: FreezeRun,
  timeline: Timeline,
  recoveredAt: number | undefined,
  details: Record<string, unknown>,
): RoundResult {
  const { round, startedAt, workload, victim } = run;
  const base = { round, action: 'pod-freeze', workload, startedAt, timeline, details };
  if (recoveredAt === undefined) {
    const reason = ctx.signal.aborted
      ? 'interrupted before recovery'
      : `${victim.name} not ready with ${workload} at full strength within ${formatDuration(ctx.settings.recoveryTimeoutMs)} of the thaw`;
    ctx.log('not-recovered', `round ${round}: ${reason}`, { round });
    return { ...base, endedAt: ctx.now(), outcome: ctx.signal.aborted ? 'aborted' : 'not-recovered', reason };
  }
  const sentAt = timeline.kills[0]!.sentAt;
  timeline.fullStrengthAt = recoveredAt;
  timeline.mttrMs = recoveredAt - sentAt;
  ctx.log(
    'recovered',
    `round ${round}: ${victim.name} serving and ${workload} at full strength ${formatDuration(timeline.mttrMs)} after the freeze began`,
    { round, mttrMs: timeline.mttrMs },
  );
  return { ...base, endedAt: ctx.now(), outcome: 'recovered', figures: figuresOf(timeline) };
}

/** Freezes, waits out the freeze, then waits (bounded) for the replica to serve again. */
async function freezeAndRecover(
  ctx: ActionContext,
  run: FreezeRun,
  durationMs: number,
): Promise<RoundResult> {
  const { round, workload, victim } = run;
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
      `round ${round}: freezing ${victim.name} (${workload}) for ${formatDuration(durationMs)}`,
      { round, replica: victim.name, uid: victim.uid },
    );
    await ctx.target.freeze(victim, durationMs);
    await pause(Math.max(0, sentAt + durationMs - ctx.now()), ctx.signal);
    const thawedAt = ctx.now();
    const recoveredAt = await pollUntil(
      ctx,
      () => thawedAndWhole(ctx, victim),
      thawedAt + ctx.settings.recoveryTimeoutMs,
    );
    return freezeResult(ctx, run, timeline, recoveredAt, {
      frozenMs: durationMs,
      unreadyAfterMs: unreadyAt === undefined ? undefined : unreadyAt - sentAt,
      readyAfterThawMs: recoveredAt === undefined ? undefined : Math.max(0, recoveredAt - thawedAt),
    });
  } finally {
    stop();
  }
}

/**
 * pod-freeze: a gray failure. One replica (seeded choice) is frozen for the action's duration
 * (`target.freeze`: SIGSTOP/SIGCONT locally, an event-loop-blocking fault on Kubernetes). Recovery:
 * the replica ready again (or replaced) and the workload at full strength; MTTR counts from the
 * freeze, so it includes the freeze itself. The orders' success ratio through it is the point.
 */
export async function freezeRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const action = actionOf(ctx, 'pod-freeze', 'freezeRound');
  const startedAt = ctx.now();
  const [replicas, workloads] = await Promise.all([ctx.target.listReplicas(), ctx.target.listWorkloads()]);
  const planned = planOneReplica(ctx, replicas, workloads);
  if (!planned.ok) {
    ctx.log('freeze-refused', `round ${round}: ${planned.reason}`, { round });
    const head = { round, action: action.kind, workload: planned.workload, startedAt };
    return endRound(ctx, head, 'refused', { reason: planned.reason });
  }
  const { workload, victims } = planned.plan;
  return freezeAndRecover(ctx, { round, startedAt, workload, victim: victims[0]! }, action.duration);
}
