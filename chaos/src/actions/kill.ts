import { randomUUID } from 'node:crypto';
import { formatDuration } from '../duration.ts';
import { RecoveryTracker } from '../recovery.ts';
import { figuresOf, type RoundResult } from '../report/report.ts';
import { mayKill, mayKillAll } from '../safety.ts';
import type { Replica, WorkloadStatus } from '../target.ts';
import { pause, type ActionContext } from './context.ts';

interface Plan {
  workload: string;
  victims: Replica[];
}

type PlanResult = { ok: true; plan: Plan } | { ok: false; workload?: string; reason: string };

/** Chooses this round's victim(s) from the current state with the seeded random source. */
export function planKill(
  ctx: Pick<ActionContext, 'experiment' | 'settings' | 'random'>,
  replicas: readonly Replica[],
  workloads: readonly WorkloadStatus[],
): PlanResult {
  const { action, outage } = ctx.experiment;
  const byName = new Map(workloads.map((w) => [w.name, w]));
  if (action.kind === 'pod-kill-all') {
    const name = ctx.settings.workload ?? action.workload;
    const decision = mayKillAll(name, replicas, byName.get(name), outage);
    return decision.allowed
      ? { ok: true, plan: { workload: name, victims: decision.victims } }
      : { ok: false, workload: name, reason: decision.reason };
  }
  if (action.kind !== 'pod-kill') return { ok: false, reason: `${action.kind} does not kill pods` };
  const chosen = ctx.settings.workload ?? action.workload;
  const names = chosen ? [chosen] : [...byName.keys()].sort();
  if (chosen && !byName.has(chosen))
    return { ok: false, workload: chosen, reason: `no Deployment named ${chosen} in scope` };
  const refusals: string[] = [];
  const candidatesByWorkload = new Map<string, Replica[]>();
  for (const name of names) {
    const candidates = replicas.filter((r) => {
      if (r.workload !== name) return false;
      const decision = mayKill(r, replicas, byName.get(name), outage);
      if (!decision.allowed) refusals.push(decision.reason);
      return decision.allowed;
    });
    if (candidates.length > 0) candidatesByWorkload.set(name, candidates);
  }
  if (candidatesByWorkload.size === 0) {
    return {
      ok: false,
      workload: chosen,
      reason: refusals.length
        ? `no replica may be killed: ${[...new Set(refusals)].join('; ')}`
        : 'no replica in scope',
    };
  }
  const workload = ctx.random.pick([...candidatesByWorkload.keys()].sort());
  const victim = ctx.random.pick(candidatesByWorkload.get(workload) ?? []);
  return { ok: true, plan: { workload, victims: [victim] } };
}

/** pod-kill and pod-kill-all: kill, then follow the recovery through the event stream. */
export async function killRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const startedAt = ctx.now();
  const action = ctx.experiment.action.kind;
  const [replicas, workloads] = await Promise.all([ctx.target.listReplicas(), ctx.target.listWorkloads()]);
  const planned = planKill(ctx, replicas, workloads);
  if (!planned.ok) {
    ctx.log('kill-refused', `round ${round}: ${planned.reason}`, { round });
    return {
      round,
      action,
      workload: planned.workload,
      startedAt,
      endedAt: ctx.now(),
      outcome: 'refused',
      reason: planned.reason,
    };
  }
  const { workload, victims } = planned.plan;
  const tracker = new RecoveryTracker({
    workload,
    replicas,
    status: workloads.find((w) => w.name === workload),
    refreshStatus: ctx.refreshStatus,
  });
  const stopListening = ctx.listen((event) => tracker.onEvent(event));
  const outageSegment = ctx.experiment.outage;
  try {
    if (outageSegment)
      ctx.load.begin(`round ${round} outage`, !ctx.experiment.objectives.successAfterRecoveryOnly);
    const results = await Promise.all(
      victims.map(async (victim) => {
        const record = tracker.expectKill(victim, ctx.now());
        ctx.log('kill-sent', `round ${round}: killing ${victim.name} (${workload})`, {
          round,
          replica: victim.name,
          uid: victim.uid,
        });
        const result = await ctx.target.kill(victim, {
          evict: ctx.settings.evict,
          experiment: ctx.experiment.name,
          reason: `round ${round}`,
        });
        if (result.outcome === 'refused') {
          tracker.cancelKill(victim.uid);
          ctx.log('kill-refused', `round ${round}: ${result.reason}`, { round, replica: victim.name });
          return result.reason;
        }
        record.method = result.method;
        ctx.target
          .annotateKill(
            victim,
            `chaos experiment ${ctx.experiment.name} round ${round} killed this pod (${result.method})`,
          )
          .catch((error: unknown) =>
            ctx.log(
              'annotate-failed',
              `could not record an Event on ${victim.name}: ${(error as Error).message}`,
            ),
          );
        return undefined;
      }),
    );
    const refusals = results.filter((r): r is string => r !== undefined);
    if (tracker.timeline.kills.length === 0) {
      return {
        round,
        action,
        workload,
        startedAt,
        endedAt: ctx.now(),
        outcome: 'refused',
        reason: refusals.join('; '),
      };
    }
    const recovered = await tracker.wait(ctx.settings.recoveryTimeoutMs, ctx.signal);
    const timeline = tracker.timeline;
    const figures = figuresOf(timeline);
    if (recovered && outageSegment) {
      // Full strength is not yet service: callers' circuit breakers still cool down. The outage lasts
      // until an order succeeds again; that moment is a figure of its own.
      const killedAt = timeline.kills[0]?.sentAt ?? startedAt;
      const restoredAt = await waitForOrders(ctx, killedAt + ctx.settings.recoveryTimeoutMs);
      if (restoredAt !== undefined) {
        figures.serviceRestoredMs = restoredAt - killedAt;
        ctx.log(
          'service-restored',
          `round ${round}: orders succeed again ${formatDuration(restoredAt - killedAt)} after the kill`,
          {
            round,
            serviceRestoredMs: restoredAt - killedAt,
          },
        );
      }
    }
    if (recovered) {
      ctx.log(
        'recovered',
        `round ${round}: ${workload} back to full strength in ${formatDuration(timeline.mttrMs ?? 0)}`,
        {
          round,
          mttrMs: timeline.mttrMs,
        },
      );
      return {
        round,
        action,
        workload,
        startedAt,
        endedAt: ctx.now(),
        outcome: 'recovered',
        timeline,
        figures,
      };
    }
    const reason = ctx.signal.aborted
      ? 'interrupted before recovery'
      : `${workload} not back to full strength within ${formatDuration(ctx.settings.recoveryTimeoutMs)}`;
    ctx.log('not-recovered', `round ${round}: ${reason}`, { round });
    return {
      round,
      action,
      workload,
      startedAt,
      endedAt: ctx.now(),
      outcome: ctx.signal.aborted ? 'aborted' : 'not-recovered',
      reason,
      timeline,
      figures,
    };
  } finally {
    stopListening();
    if (outageSegment) ctx.load.begin(`round ${round} after recovery`, true);
  }
}

const RESTORED_AFTER = 6;

/**
 * Places probe orders until RESTORED_AFTER succeed in a row (so every replica behind the front port,
 * each with a circuit of its own, serves again); returns when the first of them was sent, or undefined
 * at the deadline or on abort.
 */
async function waitForOrders(ctx: ActionContext, deadline: number): Promise<number | undefined> {
  const url = new URL('/orders', ctx.settings.url);
  let streakStartedAt: number | undefined;
  let streak = 0;
  while (ctx.now() < deadline && !ctx.signal.aborted) {
    const sentAt = ctx.now();
    let ok = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({
          customer: { email: 'chaos-probe@example.com' },
          items: [{ productId: 'p-001', quantity: 1 }],
        }),
        signal: AbortSignal.timeout(2_000),
      });
      await res.arrayBuffer();
      ok = res.ok;
    } catch {
      // Not yet: connection refused or timed out while the service comes back.
    }
    if (ok) {
      streakStartedAt ??= sentAt;
      if (++streak >= RESTORED_AFTER) return streakStartedAt;
      continue;
    }
    streak = 0;
    streakStartedAt = undefined;
    await pause(100, ctx.signal);
  }
  return undefined;
}
