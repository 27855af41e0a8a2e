// The request both order benchmarks send: POST /orders of one unit of a random seeded product, with a
// fresh Idempotency-Key, as autocannon's request definition.
import { randomUUID } from 'node:crypto';
import type autocannon from 'autocannon';

/** The products the benchmarks' databases are seeded with (p-001 … p-012). */
const PRODUCTS = Array.from({ length: 12 }, (_, i) => `p-${String(i + 1).padStart(3, '0')}`);

export const ORDER_REQUESTS: autocannon.Request[] = [
  {
    method: 'POST',
    path: '/orders',
    setupRequest: (req) => ({
      ...req,
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({
        customer: { email: 'bench@example.com' },
        items: [{ productId: PRODUCTS[Math.floor(Math.random() * PRODUCTS.length)], quantity: 1 }],
      }),
    }),
  },
];
