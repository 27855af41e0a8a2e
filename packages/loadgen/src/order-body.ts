import { request } from 'undici';

export const DEFAULT_PRODUCTS: readonly string[] = Array.from(
  { length: 10 },
  (_, i) => `p-${String(i + 1).padStart(3, '0')}`,
);

/** Product ids with stock from the inventory front (`GET /products`), or undefined when it does not answer. */
export async function fetchProducts(productsUrl: URL, timeoutMs = 2_000): Promise<string[] | undefined> {
  try {
    const response = await request(new URL('/products', productsUrl), {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return undefined;
    }
    const body = (await response.body.json()) as { items?: Array<{ id?: unknown; stock?: unknown }> };
    const ids = (body.items ?? [])
      .filter((item) => typeof item.id === 'string' && (typeof item.stock !== 'number' || item.stock > 0))
      .map((item) => item.id as string);
    return ids.length > 0 ? ids : undefined;
  } catch {
    return undefined;
  }
}

/** An order of 1-3 different products, quantity 1 each, for a random customer. */
export function randomOrder(products: readonly string[], random: () => number = Math.random): unknown {
  const count = Math.min(products.length, 1 + Math.floor(random() * 3));
  const pool = [...products];
  const items: Array<{ productId: string; quantity: number }> = [];
  for (let i = 0; i < count; i += 1) {
    const [productId] = pool.splice(Math.floor(random() * pool.length), 1);
    items.push({ productId: productId!, quantity: 1 });
  }
  return { customer: { email: `load-${Math.floor(random() * 1e9).toString(36)}@example.test` }, items };
}
