import type { RoundResult } from '../report/report.ts';
import { objective } from '../verdict.ts';
import type { ActionContext } from './context.ts';

const BURST_TIMEOUT_MS = 30_000;

/**
 * burst: N orders at once for one product (the load generator's `burst`: every request in flight
 * together). Each answer must be 201 (created) or 409 (out of stock), never a 5xx or a timeout; the
 * orders created are acknowledged, so the invariants check the stock is exact afterwards.
 */
export async function burstRound(ctx: ActionContext, round: number): Promise<RoundResult> {
  const action = ctx.experiment.action;
  if (action.kind !== 'burst') throw new Error(`burstRound cannot run ${action.kind}`);
  const startedAt = ctx.now();
  ctx.log('burst-sent', `round ${round}: ${action.orders} orders at once for ${action.productId}`, { round });
  const report = await ctx.startLoad({
    url: ctx.settings.url,
    rate: action.orders,
    burst: true,
    maxRequests: action.orders,
    durationMs: BURST_TIMEOUT_MS,
    timeoutMs: ctx.settings.loadTimeoutMs ?? BURST_TIMEOUT_MS,
    body: () => ({
      customer: { email: `chaos-burst-${round}@example.test` },
      items: [{ productId: action.productId, quantity: action.quantity }],
    }),
    signal: ctx.signal,
  }).done;
  ctx.acknowledge(report.acknowledged);
  const created = report.succeeded;
  const outOfStock = report.errorsByKind['http_409'] ?? 0;
  const others = Object.entries(report.errorsByKind).filter(([kind]) => kind !== 'http_409');
  const otherCount = others.reduce((n, [, count]) => n + count, 0);
  const answers = `${created} × 2xx, ${outOfStock} × 409${others.map(([k, n]) => `, ${n} × ${k}`).join('')}`;
  ctx.log('burst-answered', `round ${round}: ${answers}`, { round, errorsByKind: report.errorsByKind });
  const passed = report.sent === action.orders && otherCount === 0;
  ctx.addObjective(
    objective(
      `burst answered 201 or 409 only (round ${round})`,
      passed,
      `${action.orders} answers, each 201 or 409 (never a 5xx, a timeout or a refused connection)`,
      answers,
      `${otherCount} of ${report.sent} burst orders were answered neither 201 nor 409 (${others.map(([k, n]) => `${k} ${n}`).join(', ')})`,
    ),
  );
  return {
    round,
    action: action.kind,
    startedAt,
    endedAt: ctx.now(),
    outcome: passed ? 'done' : 'failed',
    ...(passed ? {} : { reason: `${otherCount} answers neither 201 nor 409` }),
    details: {
      productId: action.productId,
      orders: action.orders,
      created,
      outOfStock,
      errorsByKind: report.errorsByKind,
      latencyMs: report.latencyMs,
    },
  };
}
