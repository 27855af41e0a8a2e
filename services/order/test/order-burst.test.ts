import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { leakedUnits, orderBody, setStock, startPlatform, stockOf, type Platform } from './support.ts';

// Issue 9.3: a burst of orders on one hot product, on the real services. Every answer is a decision
// (201 or 409), never an outage, and the stock is exact.
let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform();
});

afterAll(async () => {
  await platform?.close();
});

async function burst(productId: string, count: number): Promise<Record<number, number>> {
  const statuses = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await fetch(`${platform.order.http.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(orderBody([{ productId, quantity: 1 }], `burst${i}@example.com`)),
      });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  return statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
}

async function confirmedUnits(productId: string): Promise<number> {
  const { rows } = await platform.order.pool.query<{ n: number }>(
    `SELECT coalesce(sum((i->>'quantity')::int), 0)::int AS n FROM orders.orders, jsonb_array_elements(items) i
      WHERE status = 'confirmed' AND i->>'productId' = $1`,
    [productId],
  );
  return rows[0]?.n ?? Number.NaN;
}

describe('a burst on one product', () => {
  it('answers 200 concurrent orders with 201 each while stock lasts, none 5xx, the stock exact', async () => {
    await setStock(platform.inventory, 'p-010', 1_000);
    const answers = await burst('p-010', 200);
    expect(answers).toEqual({ 201: 200 });
    expect(await stockOf(platform.inventory.pool, 'p-010')).toBe(800);
    expect(await confirmedUnits('p-010')).toBe(200);
    expect(await leakedUnits(platform.order.pool)).toBe(0);
  }, 120_000);

  it('confirms exactly the 60 units in stock out of 100 concurrent orders and rejects the other 40', async () => {
    await setStock(platform.inventory, 'p-011', 60);
    const answers = await burst('p-011', 100);
    expect(answers).toEqual({ 201: 60, 409: 40 });
    expect(await stockOf(platform.inventory.pool, 'p-011')).toBe(0);
    expect(await confirmedUnits('p-011')).toBe(60);
    expect(await leakedUnits(platform.order.pool)).toBe(0);
  }, 120_000);
});
