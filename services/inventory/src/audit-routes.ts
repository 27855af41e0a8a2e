import type { Router } from 'express';
import type { AuditProduct, AuditReservation } from '@self-healing-shop/contracts';
import { parseAuditPageQuery, readAuditPage, type Pool } from '@self-healing-shop/service-kit';

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

const PRODUCTS = {
  name: 'audit-products',
  text: `SELECT id, stock, received_units FROM inventory.products
    WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2`,
};

const RESERVATIONS = {
  name: 'audit-reservations',
  text: `SELECT order_id, status, items FROM inventory.reservations
    WHERE $1::text IS NULL OR order_id > $1 ORDER BY order_id LIMIT $2`,
};

const product = (r: ProductRow): AuditProduct => ({
  id: r.id,
  stock: r.stock,
  receivedUnits: Number(r.received_units),
});

const reservation = (r: ReservationRow): AuditReservation => ({
  orderId: r.order_id,
  status: r.status,
  items: r.items.map(({ productId, quantity }) => ({ productId, quantity })),
});

/**
 * The audit API (read-only, behind the admin token): `/admin/audit/products` with the units each
 * product ever received, `/admin/audit/reservations` with every reservation and tombstone, in key
 * order, in pages.
 */
export function auditRoutes(router: Router, deps: { readonly pool: Pool }): void {
  const { pool } = deps;
  router.get('/products', async (req, res) => {
    res.json(await readAuditPage(pool, PRODUCTS, parseAuditPageQuery(req.query), (r) => r.id, product));
  });
  router.get('/reservations', async (req, res) => {
    const page = parseAuditPageQuery(req.query);
    res.json(await readAuditPage(pool, RESERVATIONS, page, (r) => r.order_id, reservation));
  });
}
