import type { Router } from 'express';
import type { AuditNotification } from '@self-healing-shop/contracts';
import { parseAuditPageQuery, readAuditPage, SEQUENCE_KEY, type Pool } from '@self-healing-shop/service-kit';

interface NotificationRow {
  id: string;
  seq: string;
  order_id: string;
  kind: string;
}

const NOTIFICATIONS = {
  name: 'audit-notifications',
  text: `SELECT id, seq, order_id, kind FROM notification.notifications
    WHERE $1::bigint IS NULL OR seq > $1::bigint ORDER BY seq LIMIT $2`,
};

const view = (r: NotificationRow): AuditNotification => ({ id: r.id, orderId: r.order_id, kind: r.kind });

/** The audit API (read-only, behind the admin token): every notification recorded, oldest first, in pages. */
export function auditRoutes(router: Router, deps: { readonly pool: Pool }): void {
  router.get('/notifications', async (req, res) => {
    const page = parseAuditPageQuery(req.query, SEQUENCE_KEY);
    res.json(await readAuditPage(deps.pool, NOTIFICATIONS, page, (r: NotificationRow) => r.seq, view));
  });
}
