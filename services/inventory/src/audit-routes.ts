import type { Router } from 'express';
import type { AuditProduct, AuditReservation } from '@self-healing-shop/contracts';
import { auditPage, parseAuditPageQuery, type Pool } from '@self-healing-shop/service-kit';

interface ProductRow {
  id: string;
  stock: number;
  received_units: string;
}

interface ReservationRow {
  order_id: string;
  status: AuditReservation['status'];
  items: Array<{ productId: string; quantity: number }>;
}

/**
 * The audit API (read-only, behind the admin token): `/admin/audit/products` with the units each
 * product ever received, `/admin/audit/reservations` with every reservation and tombstone, in key
 * order, in pages.
 */
export function auditRoutes(router: Router, deps: { readonly pool: Pool }): void {
  const { pool } = deps;

  router.get('/products', async (req, res) => {
    const { after, limit } = parseAuditPageQuery(req.query);
    const { rows } = await pool.query<ProductRow>({
      name: 'audit-products',
      text: `SELECT id, stock, received_units FROM inventory.products
        WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2`,
      values: [after ?? null, limit + 1],
    });
    res.json(
      auditPage(
        rows,
        limit,
        (r) => r.id,
        (r): AuditProduct => ({ id: r.id, stock: r.stock, receivedUnits: Number(r.received_units) }),
      ),
    );
  });

  router.get('/reservations', async (req, res) => {
    const { after, limit } = parseAuditPageQuery(req.query);
    const { rows } = await pool.query<ReservationRow>({
      name: 'audit-reservations',
      text: `SELECT order_id, status, items FROM inventory.reservations
        WHERE $1::text IS NULL OR order_id > $1 ORDER BY order_id LIMIT $2`,
      values: [after ?? null, limit + 1],
    });
    res.json(
      auditPage(
        rows,
        limit,
        (r) => r.order_id,
        (r): AuditReservation => ({
          orderId: r.order_id,
          status: r.status,
          items: r.items.map(({ productId, quantity }) => ({ productId, quantity })),
        }),
      ),
    );
  });
}
