import {
  findViolations,
  type AuditNotification,
  type AuditOrder,
  type AuditOrderSummary,
  type AuditPage,
  type AuditProduct,
  type AuditReservation,
  type Violation,
} from '@self-healing-shop/contracts';
import { formatDuration } from '@self-healing-shop/loadgen';
import { pause, pollUntil } from '../actions/context.ts';
import type { Target } from '../target.ts';
import { objective, type Objective } from '../verdict.ts';

const PAGE_LIMIT = 1000;
/** A million rows per list at most: the read is bounded like everything else. */
const MAX_PAGES = 1000;
/** Added to order's pending timeout: its sweeper runs on an interval of its own. */
const SWEEP_MARGIN_MS = 15_000;

export interface InvariantsResult {
  checked: boolean;
  /** Whether order had no pending order and an empty outbox before the read. */
  settled: boolean;
  settleDetail: string;
  counts?: {
    orders: number;
    products: number;
    reservations: number;
    notifications: number;
    acknowledged: number;
  };
  violations: Violation[];
  /** Why the check could not be made (audit API unreachable, ...). */
  error?: string;
}

export interface InvariantsDeps {
  target: Target;
  signal: AbortSignal;
  now: () => number;
  log: (type: string, message: string, data?: Record<string, unknown>) => void;
}

const READ_TRIES = 10;

/** A refusal (4xx: wrong token, no such route) will not change by asking again. */
const REFUSED = /answered 4\d\d/;

/**
 * One admin read, tried again on a transient failure (a replica restarting behind the front answers
 * 503 for a moment, a connection is reset); the last error is thrown after READ_TRIES.
 */
async function read<T>(deps: InvariantsDeps, service: string, path: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.target.adminGet<T>(service, path);
    } catch (error) {
      if (attempt >= READ_TRIES || deps.signal.aborted || REFUSED.test((error as Error).message)) throw error;
      await pause(500, deps.signal);
    }
  }
}

/** Every page of an audit list (`?limit=&after=`), in order. */
async function readAll<T>(deps: InvariantsDeps, service: string, path: string): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = `limit=${PAGE_LIMIT}${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`;
    const body = await read<AuditPage<T>>(deps, service, `${path}?${query}`);
    items.push(...body.items);
    if (!body.nextCursor) return items;
    after = body.nextCursor;
  }
  throw new Error(`${service} ${path} has more than ${MAX_PAGES} pages of ${PAGE_LIMIT}`);
}

/**
 * Waits until order has settled: no pending order and nothing left in its outbox. A pending order
 * older than order's pending timeout is failed (and released) by its sweeper, so the wait lasts at
 * most max(quietTimeout, pendingTimeout + a sweep).
 */
async function awaitQuiet(
  deps: InvariantsDeps,
  quietTimeoutMs: number,
): Promise<{ settled: boolean; detail: string }> {
  const started = deps.now();
  let last = await read<AuditOrderSummary>(deps, 'order', '/admin/audit/summary');
  const deadline = started + Math.max(quietTimeoutMs, last.pendingTimeoutMs + SWEEP_MARGIN_MS);
  const quiet = (s: AuditOrderSummary): boolean => s.pending === 0 && s.outboxPending === 0;
  const at = await pollUntil(
    deps,
    async () => {
      last = await deps.target.adminGet<AuditOrderSummary>('order', '/admin/audit/summary');
      return quiet(last);
    },
    deadline,
    500,
  );
  const state = `${last.pending} pending orders, ${last.outboxPending} outbox messages`;
  return at === undefined
    ? { settled: false, detail: `not settled within ${formatDuration(deadline - started)}: ${state}` }
    : { settled: true, detail: `settled after ${formatDuration(at - started)}` };
}

/**
 * After the load ended: waits (bounded) for the platform to settle, reads every audit list through
 * the target's admin API and checks the invariants (`findViolations`).
 */
export async function checkInvariants(
  deps: InvariantsDeps,
  acknowledged: readonly string[],
  quietTimeoutMs: number,
): Promise<InvariantsResult> {
  try {
    const quiet = await awaitQuiet(deps, quietTimeoutMs);
    deps.log('platform-quiet', `invariants: ${quiet.detail}`);
    const [orders, products, reservations, notifications] = await Promise.all([
      readAll<AuditOrder>(deps, 'order', '/admin/audit/orders'),
      readAll<AuditProduct>(deps, 'inventory', '/admin/audit/products'),
      readAll<AuditReservation>(deps, 'inventory', '/admin/audit/reservations'),
      readAll<AuditNotification>(deps, 'notification', '/admin/audit/notifications'),
    ]);
    const violations = findViolations({ orders, products, reservations, notifications, acknowledged });
    const counts = {
      orders: orders.length,
      products: products.length,
      reservations: reservations.length,
      notifications: notifications.length,
      acknowledged: new Set(acknowledged).size,
    };
    deps.log(
      'invariants-checked',
      `invariants: ${violations.length} violations over ${counts.orders} orders`,
      {
        counts,
        violations: violations.length,
      },
    );
    return { checked: true, settled: quiet.settled, settleDetail: quiet.detail, counts, violations };
  } catch (error) {
    const message = (error as Error).message;
    deps.log('invariants-failed', `invariants could not be checked: ${message}`);
    return { checked: false, settled: false, settleDetail: 'not read', violations: [], error: message };
  }
}

const SHOWN = 20;

export function formatViolation(v: Violation): string {
  return `${v.kind} ${v.subject}: ${v.detail}`;
}

/** The verdict's objective: settled, read, and no violation. */
export function invariantsObjective(result: InvariantsResult): Objective {
  const expected = 'platform settled, 0 violations (stock, reservations, confirmations, acknowledged orders)';
  if (!result.checked) {
    return objective(
      'data invariants hold',
      false,
      expected,
      'not checked',
      `invariants not checked: ${result.error}`,
    );
  }
  const counts = result.counts!;
  const actual =
    `${result.violations.length} violations over ${counts.orders} orders, ${counts.reservations} reservations, ` +
    `${counts.notifications} notifications, ${counts.acknowledged} acknowledged; ${result.settleDetail}`;
  const byKind = new Map<string, number>();
  for (const v of result.violations) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1);
  const reason = result.violations.length
    ? `${result.violations.length} invariant violations (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`
    : `the platform did not settle: ${result.settleDetail}`;
  const passed = result.settled && result.violations.length === 0;
  const details = result.violations.slice(0, SHOWN).map(formatViolation);
  if (result.violations.length > SHOWN)
    details.push(`… and ${result.violations.length - SHOWN} more (report.json)`);
  return {
    ...objective('data invariants hold', passed, expected, actual, reason),
    ...(details.length ? { details } : {}),
  };
}
