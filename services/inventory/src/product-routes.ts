import type { Express } from 'express';
import { parseOrThrow } from '@self-healing-shop/service-kit';
import { InvalidCursorError, ProductNotFoundError } from './errors.ts';
import type { ProductStore } from './product-store.ts';
import { pageQuerySchema, productIdSchema, setStockSchema } from './schemas.ts';

const CURSOR_PREFIX = 'p:';

function encodeCursor(lastId: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${lastId}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString();
  if (!decoded.startsWith(CURSOR_PREFIX) || encodeCursor(decoded.slice(CURSOR_PREFIX.length)) !== cursor) {
    throw new InvalidCursorError();
  }
  return decoded.slice(CURSOR_PREFIX.length);
}

function productIdParam(id: string): string {
  if (!productIdSchema.safeParse(id).success) throw new ProductNotFoundError(id);
  return id;
}

export function productRoutes(app: Express, deps: { products: ProductStore }): void {
  const { products } = deps;

  app.get('/products', async (req, res) => {
    const query = parseOrThrow(pageQuerySchema, req.query, 'query');
    const page = await products.list({
      limit: query.limit,
      afterId: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const last = page.items.at(-1);
    res.json({ items: page.items, ...(page.hasMore && last ? { nextCursor: encodeCursor(last.id) } : {}) });
  });

  app.get('/products/:id', async (req, res) => {
    const product = await products.get(productIdParam(req.params.id));
    if (!product) throw new ProductNotFoundError(req.params.id);
    res.json(product);
  });

  // Admin correction (demos and tests): sets the stock to an absolute value.
  app.put('/products/:id/stock', async (req, res) => {
    const id = productIdParam(req.params.id);
    const { stock } = parseOrThrow(setStockSchema, req.body);
    const product = await products.setStock(id, stock);
    if (!product) throw new ProductNotFoundError(id);
    req.log.info({ productId: id, stock }, 'stock set');
    res.json(product);
  });
}
