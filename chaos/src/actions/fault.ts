import { formatDuration } from '@self-healing-shop/loadgen';
import type { FaultDefinition } from '../experiment.ts';
import type { RoundResult } from '../report/report.ts';
import type { LoadReport } from '../load.ts';
import type { Replica } from '../target.ts';
import { objective, type Objective } from '../verdict.ts';
import { pause, type ActionContext } from './context.ts';
import { actionOf, doneUnlessAborted, endRound, holdFault, liveReplicas, startRound } from './round.ts';

/**
 * Applies a fault to every replica of a workload for `durationMs`, with the load segment `segment`
 * around it (and an `after` segment once it is removed).
 */
async function withFault(
  ctx: ActionContext,
  round: number,
  workload: string,
  fault: FaultDefinition,
  durationMs: number,
  segment: string,
): Promise<{
  replicas: Replica[];
  faultIds: string[];
  startedAt: number;
  endedAt: number;
  /** The load segment under the fault; its report is ready once the segment ended. */
  segmentReport: Promise<LoadReport>;
}> {
  const replicas = await liveReplicas(ctx, workload);
  if (replicas.length === 0) throw new Error(`no replica of ${workload} to inject a fault into`);
  const shielded = replicas.filter((r) => r.protected);
  if (shielded.length > 0) throw new Error(`${shielded.map((r) => r.name).join(', ')} labelled protected`);
  const startedAt = ctx.now();
  const segmentReport = ctx.load.begin(`round ${round} ${segment}`, true);
  const faultIds = await holdFault(
    ctx,
    replicas,
    { ...fault, durationMs },
    {
      injected: (ids) =>
        ctx.log(
          'fault-injected',
          `round ${round}: ${fault.type} fault on ${replicas.length} ${workload} replicas for ${formatDuration(durationMs)}`,
          { round, fault, replicas: replicas.map((r) => r.name), faultIds: ids },
        ),
      removed: (failed) => {
        ctx.log(
          'fault-removed',
          `round ${round}: faults removed from ${replicas.length - failed}/${replicas.length} replicas`,
          { round, failed },
        );
        ctx.load.begin(`round ${round} after ${segment}`, true);
      },
    },
  );
  return { replicas, faultIds, startedAt, endedAt: ctx.now(), segmentReport };
}

/** The p95 latency of the orders sent while the fault was on, against the experiment's bound. */
function latencyObjective(segment: string, report: LoadReport, bound: number): Objective {
  const p95 = report.latencyMs.p95;
  return objective(
    `latency p95 under the fault (${segment})`,
    report.sent > 0 && p95 <= bound,
    `<= ${formatDuration(bound)}`,
    `${formatDuration(p95)} over ${report.sent} orders, success ${report.successRatio.toFixed(4)}`,
    `p95 latency ${formatDuration(p95)} under the fault exceeds ${formatDuration(bound)}`,
  );
}

/** latency / error injection: measured are the success ratio and the latency while the fault is on. */
export async function faultRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const action = actionOf(ctx, 'fault', 'faultRound');
  const head = startRound(ctx, round, action);
  const applied = await withFault(ctx, round, head.workload, action.fault, action.duration, 'fault');
  const segmentName = `round ${round} fault`;
  const bound = ctx.experiment.objectives.latencyP95Max;
  if (bound !== undefined) {
    ctx.addObjective(applied.segmentReport.then((report) => latencyObjective(segmentName, report, bound)));
  }
  return endRound(ctx, head, doneUnlessAborted(ctx), {
    details: {
      fault: action.fault,
      durationMs: action.duration,
      replicas: applied.replicas.map((r) => r.name),
      segment: segmentName,
    },
  });
}

interface OrderItem {
  id: string;
  createdAt: string;
}

/** Orders created within [from, to], read from order's `GET /orders?limit=&cursor=`. */
export async function ordersBetween(
  baseUrl: string,
  from: number,
  to: number,
  maxPages = 200,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const url = new URL('/orders', baseUrl);
    url.searchParams.set('limit', '100');
    if (cursor) url.searchParams.set('cursor', cursor);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    const body = (await response.json()) as { items: OrderItem[]; nextCursor?: string | null };
    for (const order of body.items) {
      const at = Date.parse(order.createdAt);
      if (at >= from && at <= to) ids.push(order.id);
    }
    if (!body.nextCursor) break;
    cursor = body.nextCursor;
  }
  return ids;
}

/** Waits until notification lists a delivered confirmation for every order, or the deadline. */
export async function awaitConfirmations(
  notificationUrl: string,
  orderIds: readonly string[],
  deadlineMs: number,
  signal: AbortSignal,
): Promise<{ delivered: number; missing: string[]; elapsedMs: number }> {
  const started = Date.now();
  const pending = new Set(orderIds);
  while (pending.size > 0 && Date.now() - started < deadlineMs && !signal.aborted) {
    for (const id of [...pending]) {
      const url = new URL('/notifications', notificationUrl);
      url.searchParams.set('orderId', id);
      const response = await fetch(url).catch(() => undefined);
      if (!response?.ok) continue;
      const body = (await response.json()) as { items: unknown[] };
      if (body.items.length > 0) pending.delete(id);
    }
    if (pending.size > 0) await pause(500, signal);
  }
  return {
    delivered: orderIds.length - pending.size,
    missing: [...pending],
    elapsedMs: Date.now() - started,
  };
}

/** notification away for a while: orders must still succeed and every confirmation arrive after. */
export async function dependencyOutageRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const action = actionOf(ctx, 'dependency-outage', 'dependencyOutageRound');
  const head = startRound(ctx, round, action);
  const applied = await withFault(ctx, round, head.workload, action.fault, action.duration, 'outage');
  if (ctx.signal.aborted) return endRound(ctx, head, 'aborted', { reason: 'interrupted' });
  let orderIds: string[];
  try {
    orderIds = await ordersBetween(ctx.settings.url, applied.startedAt, applied.endedAt);
  } catch (error) {
    const reason = `cannot list the orders placed during the outage: ${(error as Error).message}`;
    ctx.addObjective(objective('every confirmation delivered', false, 'all', 'unknown', reason));
    return endRound(ctx, head, 'failed', { reason });
  }
  ctx.log(
    'confirmations-check',
    `round ${round}: checking confirmations of ${orderIds.length} orders placed during the outage`,
    { round, orders: orderIds.length },
  );
  const result = await awaitConfirmations(
    ctx.settings.notificationUrl,
    orderIds,
    action.deliveryDeadline,
    ctx.signal,
  );
  const passed = orderIds.length > 0 && result.missing.length === 0;
  ctx.addObjective(deliveryObjective(orderIds.length, result, action.deliveryDeadline));
  return endRound(ctx, head, passed ? 'done' : 'failed', {
    reason: passed ? undefined : `${result.missing.length} confirmations missing`,
    details: {
      outageMs: applied.endedAt - applied.startedAt,
      ordersDuringOutage: orderIds.length,
      delivered: result.delivered,
      deliveryMs: result.elapsedMs,
      missing: result.missing.slice(0, 20),
    },
  });
}

/** Every order placed during the outage confirmed within the deadline after it. */
function deliveryObjective(
  orders: number,
  result: { delivered: number; missing: string[]; elapsedMs: number },
  deadline: number,
): Objective {
  return objective(
    'every confirmation delivered',
    orders > 0 && result.missing.length === 0,
    `all confirmations of orders placed during the outage within ${formatDuration(deadline)}`,
    `${result.delivered}/${orders} in ${formatDuration(result.elapsedMs)}`,
    orders === 0
      ? 'no order was placed during the outage, so delivery could not be checked'
      : `${result.missing.length} of ${orders} confirmations not delivered within ${formatDuration(deadline)} (e.g. ${result.missing.slice(0, 3).join(', ')})`,
  );
}
