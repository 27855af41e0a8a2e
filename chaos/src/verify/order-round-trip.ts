/**
 * One order placed and read back through the order front, as a user would (README "Domain API shapes"):
 * `POST /orders` → 201 `{ id, status, items, ... }`, then `GET /orders/:id` answers the same order.
 * The product is one with stock in inventory's `GET /products`, so a sold-out demo product is not
 * mistaken for a broken platform.
 */
import { randomUUID } from 'node:crypto';
import type { Target } from '../target.ts';
import { fail, pass, type CheckOutcome } from './check.ts';
import { requestJson } from './http.ts';

interface Product {
  id: string;
  stock: number;
}

interface OrderView {
  id: string;
  status: string;
  items: Array<{ productId: string; quantity: number }>;
}

export async function orderRoundTrip(target: Target, orderUrl: string, next: string): Promise<CheckOutcome> {
  const base = orderUrl.replace(/\/+$/, '');
  const { items: products } = await target.adminGet<{ items: Product[] }>('inventory', '/products');
  const product = [...products].sort((a, b) => b.stock - a.stock)[0];
  if (!product || product.stock < 1)
    return fail(`inventory lists no product in stock (${products.length} products)`, next);
  const items = [{ productId: product.id, quantity: 1 }];
  const placed = await requestJson<OrderView>(`order POST ${base}/orders`, `${base}/orders`, {
    method: 'POST',
    headers: { 'idempotency-key': `verify-${randomUUID()}` },
    body: { customer: { email: 'verify@example.com' }, items },
  });
  if (typeof placed.id !== 'string' || placed.id === '')
    return fail(`POST /orders answered without an id`, next);
  const read = await requestJson<OrderView>(
    `order GET /orders/${placed.id}`,
    `${base}/orders/${encodeURIComponent(placed.id)}`,
  );
  const same =
    read.id === placed.id &&
    read.items?.length === 1 &&
    read.items[0]?.productId === product.id &&
    read.items[0]?.quantity === 1;
  return same
    ? pass(`order ${placed.id} (1 × ${product.id}) placed at ${base}, read back ${read.status}`)
    : fail(`order ${placed.id} read back differs: ${JSON.stringify(read).slice(0, 200)}`, next);
}
