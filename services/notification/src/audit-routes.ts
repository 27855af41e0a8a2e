import type { Router } from 'express';
import type { AuditNotification } from '@self-healing-shop/contracts';
import { auditPage, parseAuditPageQuery, SEQUENCE_KEY, type Pool } from '@self-healing-shop/service-kit';

interface NotificationRow {
  id: string;
  seq: string;
  order_id: string;
  kind: string;
}

/** The audit API (read-only, behind the admin token): every notification recorded, oldest first, in pages. */
export function auditRoutes(router: Router, deps: { readonly pool: Pool }): void {
  const { pool } = deps;
  router.get('/notifications', async (req, res) => {
    const { after, limit } = parseAuditPageQuery(req.query, SEQUENCE_KEY);
    const { rows } = await pool.query<NotificationRow>({
      name: 'audit-notifications',
      text: `SELECT id, seq, order_id, kind FROM notification.notifications
        WHERE $1::bigint IS NULL OR seq > $1::bigint ORDER BY seq LIMIT $2`,
      values: [after ?? null, limit + 1],
    });
    res.json(
      auditPage(
        rows,
        limit,
        (r) => String(r.seq),
        (r): AuditNotification => ({ id: r.id, orderId: r.order_id, kind: r.kind }),
      ),
    );
  });
}
