import type { Router } from 'express';
import type { AuditOrder, AuditOrderSummary } from '@self-healing-shop/contracts';
import { parseAuditPageQuery, readAuditPage, SEQUENCE_KEY, type Pool } from '@self-healing-shop/service-kit';

interface OrderRow {
  id: string;
  seq: string;
  status: AuditOrder['status'];
  items: Array<{ productId: string; quantity: number }>;
  created_at: Date;
  updated_at: Date;
}

const ORDERS = {
  name: 'audit-orders',
  text: `SELECT id, seq, status, items, created_at, updated_at FROM orders.orders
    WHERE $1::bigint IS NULL OR seq > $1::bigint ORDER BY seq LIMIT $2`,
};

const view = (r: OrderRow): AuditOrder => ({
  id: r.id,
  status: r.status,
  items: r.items.map(({ productId, quantity }) => ({ productId, quantity })),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/**
 * The audit API (read-only, behind the admin token): `/admin/audit/orders`, every order in insertion
 * order, in pages; `/admin/audit/summary`, whether the service has settled (no pending order, an
 * empty outbox).
 */
export function auditRoutes(
  router: Router,
  deps: { readonly pool: Pool; readonly pendingTimeoutMs: number },
): void {
  const { pool } = deps;

  router.get('/orders', async (req, res) => {
    const page = parseAuditPageQuery(req.query, SEQUENCE_KEY);
    res.json(await readAuditPage(pool, ORDERS, page, (r: OrderRow) => r.seq, view));
  });

  router.get('/summary', async (_req, res) => {
    const { rows } = await pool.query<{ pending: number; outbox_pending: number }>({
      name: 'audit-summary',
      text: `SELECT (SELECT count(*)::int FROM orders.orders WHERE status = 'pending') AS pending,
        (SELECT count(*)::int FROM orders.outbox WHERE delivered_at IS NULL) AS outbox_pending`,
    });
    const summary: AuditOrderSummary = {
      pending: rows[0]?.pending ?? 0,
      outboxPending: rows[0]?.outbox_pending ?? 0,
      pendingTimeoutMs: deps.pendingTimeoutMs,
    };
    res.json(summary);
  });
}
