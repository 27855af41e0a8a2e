import { randomUUID } from 'node:crypto';
import { formatDuration } from '@self-healing-shop/loadgen';
import { RecoveryTracker, type Timeline } from '../recovery.ts';
import { figuresOf, type RoundResult } from '../report/report.ts';
import { atFullStrength, type Readiness, type Target } from '../target.ts';
import { pause, pollUntil, type ActionContext } from './context.ts';
import type { Plan, Planner } from './victims.ts';

export interface KillRoundOptions {
  /** Chooses the victims of the round. */
  plan: Planner;
  /**
   * Recovery lasts until every workload in scope is at full strength again, not only the one hit
   * (the database: the services lose readiness while it is away).
   */
  wholePlatform?: boolean;
}

/**
 * Waits, after the hit workload recovered, until every workload is at full strength too; moves the
 * end of recovery (and MTTR) to that moment.
 */
async function awaitWholePlatform(ctx: ActionContext, timeline: Timeline): Promise<boolean> {
  const firstKill = timeline.kills[0]?.sentAt ?? ctx.now();
  const at = await pollUntil(
    ctx,
    async () => (await ctx.target.listWorkloads()).every(atFullStrength),
    firstKill + ctx.settings.recoveryTimeoutMs,
  );
  if (at === undefined) return false;
  timeline.fullStrengthAt = Math.max(timeline.fullStrengthAt ?? at, at);
  timeline.mttrMs = timeline.fullStrengthAt - firstKill;
  return true;
}

/** Sends the kills (all at once); returns the refusals. A refused kill leaves the disruption. */
async function sendKills(
  ctx: ActionContext,
  round: number,
  tracker: RecoveryTracker,
  plan: Plan,
): Promise<string[]> {
  const results = await Promise.all(
    plan.victims.map(async (victim) => {
      const record = tracker.expectKill(victim, ctx.now());
      ctx.log('kill-sent', `round ${round}: killing ${victim.name} (${plan.workload})`, {
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
      const note = `chaos experiment ${ctx.experiment.name} round ${round} killed this pod (${result.method})`;
      ctx.target
        .annotateKill(victim, note)
        .catch((error: unknown) =>
          ctx.log(
            'annotate-failed',
            `could not record an Event on ${victim.name}: ${(error as Error).message}`,
          ),
        );
      return undefined;
    }),
  );
  return results.filter((r): r is string => r !== undefined);
}

/**
 * Whether a `circuit:<dependency>` check of `GET /ready` says the circuit is anything but closed. Its
 * message starts with `circuit <state>` (packages/resilience, CircuitBreaker.healthCheck); half-open
 * passes the check but still turns away every call beyond its probes, so only `closed` counts. A
 * message of another shape falls back on the check's status.
 */
function circuitNotClosed(check: Readiness['checks'][number]): boolean {
  if (!check.name.startsWith('circuit:')) return false;
  const state = /^circuit (\S+)/.exec(check.message ?? '')?.[1];
  return state === undefined ? check.status !== 'healthy' : state !== 'closed';
}

/**
 * The circuits that are not closed on the ready replicas of every Deployment, as
 * `<replica> → <dependency> (<message>)`, or why a replica's readiness could not be read; empty when
 * every circuit is closed.
 */
export async function openCircuits(target: Target): Promise<string[]> {
  const [replicas, workloads] = await Promise.all([target.listReplicas(), target.listWorkloads()]);
  const deployments = new Set(workloads.filter((w) => w.kind === 'Deployment').map((w) => w.name));
  const perReplica = await Promise.all(
    replicas
      .filter((r) => r.ready && r.phase !== 'terminating' && deployments.has(r.workload))
      .map(async (replica) => {
        try {
          const { checks } = await target.readiness(replica);
          return checks
            .filter(circuitNotClosed)
            .map((c) => `${replica.name} → ${c.name.slice('circuit:'.length)} (${c.message ?? c.status})`);
        } catch (error) {
          return [`${replica.name}: readiness not read (${(error as Error).message})`];
        }
      }),
  );
  return perReplica.flat();
}

/**
 * Full strength is not yet service: callers' circuit breakers still cool down, each replica's on its
 * own. After an outage the service counts as restored once every replica's circuits are closed (their
 * `GET /ready`) and then probe orders succeed in a row. Probe orders alone could not tell: the front
 * picks a replica per connection at random, so six probes in a row can all reach a replica whose
 * circuit never opened while the other one's is still open and fails every order it gets (seen in CI:
 * "orders succeed again" 1.84 s after the kill, then 5 of the next 19 orders failed).
 */
export async function measureServiceRestored(
  ctx: ActionContext,
  round: number,
  timeline: Timeline,
  figures: NonNullable<RoundResult['figures']>,
): Promise<void> {
  const killedAt = timeline.kills[0]?.sentAt ?? ctx.now();
  const deadline = killedAt + ctx.settings.recoveryTimeoutMs;
  let open: string[] = [];
  const closedAt = await pollUntil(
    ctx,
    async () => {
      try {
        open = await openCircuits(ctx.target);
      } catch (error) {
        open = [`the replicas could not be listed (${(error as Error).message})`];
      }
      return open.length === 0;
    },
    deadline,
    250,
  );
  if (closedAt === undefined) {
    if (!ctx.signal.aborted) {
      ctx.log(
        'service-not-restored',
        `round ${round}: circuits still not closed ${formatDuration(deadline - killedAt)} after the kill: ${open.join('; ')}`,
        { round, open },
      );
    }
    return;
  }
  const restoredAt = await waitForOrders(ctx, deadline);
  if (restoredAt === undefined) return;
  figures.serviceRestoredMs = restoredAt - killedAt;
  ctx.log(
    'service-restored',
    `round ${round}: orders succeed again ${formatDuration(restoredAt - killedAt)} after the kill ` +
      `(every circuit closed at ${formatDuration(closedAt - killedAt)})`,
    { round, serviceRestoredMs: restoredAt - killedAt, circuitsClosedMs: closedAt - killedAt },
  );
}

/** Follows the recovery of a disruption whose kills were sent; the round's result. */
async function followRecovery(
  ctx: ActionContext,
  round: number,
  tracker: RecoveryTracker,
  options: KillRoundOptions,
  base: Pick<RoundResult, 'round' | 'action' | 'workload' | 'startedAt'>,
): Promise<RoundResult> {
  let recovered = await tracker.wait(ctx.settings.recoveryTimeoutMs, ctx.signal);
  const timeline = tracker.timeline;
  if (recovered && options.wholePlatform) recovered = await awaitWholePlatform(ctx, timeline);
  const figures = figuresOf(timeline);
  if (recovered && ctx.experiment.outage) await measureServiceRestored(ctx, round, timeline, figures);
  const scope = options.wholePlatform ? 'every workload' : base.workload;
  if (recovered) {
    ctx.log(
      'recovered',
      `round ${round}: ${scope} back to full strength in ${formatDuration(timeline.mttrMs ?? 0)}`,
      {
        round,
        mttrMs: timeline.mttrMs,
      },
    );
    return { ...base, endedAt: ctx.now(), outcome: 'recovered', timeline, figures };
  }
  const reason = ctx.signal.aborted
    ? 'interrupted before recovery'
    : `${scope} not back to full strength within ${formatDuration(ctx.settings.recoveryTimeoutMs)}`;
  ctx.log('not-recovered', `round ${round}: ${reason}`, { round });
  const outcome = ctx.signal.aborted ? 'aborted' : 'not-recovered';
  return { ...base, endedAt: ctx.now(), outcome, reason, timeline, figures };
}

/** Kills the planned victims, then follows the recovery through the event stream. */
export async function killRound(
  ctx: ActionContext,
  round: number,
  options: KillRoundOptions,
): Promise<RoundResult> {
  const startedAt = ctx.now();
  const action = ctx.experiment.action.kind;
  const [replicas, workloads] = await Promise.all([ctx.target.listReplicas(), ctx.target.listWorkloads()]);
  const planned = options.plan(ctx, replicas, workloads);
  if (!planned.ok) {
    ctx.log('kill-refused', `round ${round}: ${planned.reason}`, { round });
    const { workload, reason } = planned;
    return { round, action, workload, startedAt, endedAt: ctx.now(), outcome: 'refused', reason };
  }
  const { workload } = planned.plan;
  const tracker = new RecoveryTracker({
    workload,
    replicas,
    status: workloads.find((w) => w.name === workload),
    refreshStatus: ctx.refreshStatus,
  });
  const stopListening = ctx.listen((event) => tracker.onEvent(event));
  const outage = ctx.experiment.outage;
  try {
    if (outage) {
      // The outage window opens before the kill, and the kill waits for the orders of the segment before
      // it to answer: an order in flight when its dependency dies belongs to the outage, not to the
      // counted orders before it.
      ctx.load.begin(`round ${round} outage`, !ctx.experiment.objectives.successAfterRecoveryOnly);
      await ctx.load.settled();
    }
    const refusals = await sendKills(ctx, round, tracker, planned.plan);
    if (tracker.timeline.kills.length === 0) {
      const reason = refusals.join('; ');
      return { round, action, workload, startedAt, endedAt: ctx.now(), outcome: 'refused', reason };
    }
    return await followRecovery(ctx, round, tracker, options, { round, action, workload, startedAt });
  } finally {
    stopListening();
    if (outage) ctx.load.begin(`round ${round} after recovery`, true);
  }
}

const RESTORED_AFTER = 6;

/**
 * Places probe orders until RESTORED_AFTER succeed in a row; returns when the first of them was sent, or
 * undefined at the deadline or on abort. Every order replica has a circuit of its own, and the front
 * (kube-proxy, or the local runtime's) picks a replica per connection, so each probe goes on a connection
 * of its own (`connection: close`): on one kept-alive connection all of them would reach the same replica
 * and call the service restored while the other replica's circuit is still open.
 */
export async function waitForOrders(
  ctx: Pick<ActionContext, 'settings' | 'now' | 'signal' | 'acknowledge'>,
  deadline: number,
): Promise<number | undefined> {
  const url = new URL('/orders', ctx.settings.url);
  let streakStartedAt: number | undefined;
  let streak = 0;
  while (ctx.now() < deadline && !ctx.signal.aborted) {
    const sentAt = ctx.now();
    let ok = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          connection: 'close',
        },
        body: JSON.stringify({
          customer: { email: 'chaos-probe@example.com' },
          items: [{ productId: 'p-001', quantity: 1 }],
        }),
        signal: AbortSignal.timeout(2_000),
      });
      const body = (await res.json().catch(() => undefined)) as { id?: unknown } | undefined;
      ok = res.ok;
      if (res.status === 201 && typeof body?.id === 'string') ctx.acknowledge([body.id]);
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
