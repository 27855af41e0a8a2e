import type { Express } from 'express';
import { SPAN_ATTRIBUTES } from '@self-healing-shop/contracts';
import { parseOrThrow, setActiveSpanAttributes, ValidationError } from '@self-healing-shop/service-kit';
import { OrderNotFoundError } from './errors.ts';
import type { OrderService } from './order-service.ts';
import type { OrderRecord } from './order-store.ts';
import { idempotencyKeySchema, listOrdersQuerySchema, orderIdSchema, placeOrderSchema } from './schemas.ts';

/** The order as the API shows it: camelCase, string ids, integer cents, ISO times. */
export function orderView(order: OrderRecord) {
  return {
    id: order.id,
    status: order.status,
    customer: { email: order.customerEmail },
    items: order.items,
    ...(order.totalCents === null ? {} : { totalCents: order.totalCents }),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
    notification: { status: order.notification },
  };
}

const CURSOR_PREFIX = 'o:';

function encodeCursor(seq: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const decoded = Buffer.from(cursor, 'base64url').toString();
  const seq = Number(decoded.slice(CURSOR_PREFIX.length));
  if (!decoded.startsWith(CURSOR_PREFIX) || !Number.isSafeInteger(seq) || encodeCursor(seq) !== cursor) {
    throw new ValidationError('The query is invalid: cursor: expected a cursor returned as nextCursor', [
      { path: 'cursor', message: 'expected a cursor returned as nextCursor' },
    ]);
  }
  return seq;
}

function orderIdParam(id: string): string {
  // A malformed id names no order: 404 without a query.
  if (!orderIdSchema.safeParse(id).success) throw new OrderNotFoundError(id);
  return id;
}

export function orderRoutes(app: Express, deps: { readonly service: OrderService }): void {
  const { service } = deps;

  app.post('/orders', async (req, res) => {
    const header = req.get('idempotency-key');
    const key =
      header === undefined ? null : parseOrThrow(idempotencyKeySchema, header, 'Idempotency-Key header');
    const body = parseOrThrow(placeOrderSchema, req.body);
    // On the route's span, so that the console finds the trace by order id, key or product.
    setActiveSpanAttributes({
      [SPAN_ATTRIBUTES.productId]: body.items.map((i) => i.productId),
      ...(key === null ? {} : { [SPAN_ATTRIBUTES.idempotencyKey]: key }),
    });
    // (shop.order.id is set by the service once the order exists, failed orders included.)
    const { order, created } = await service.place(body, key, String(req.id));
    res.location(`/orders/${order.id}`);
    // A replay (same Idempotency-Key and body) answers 200 with the order placed the first time.
    if (!created) res.setHeader('idempotent-replayed', 'true');
    res.status(created ? 201 : 200).json(orderView(order));
  });

  app.get('/orders', async (req, res) => {
    const query = parseOrThrow(listOrdersQuerySchema, req.query, 'query');
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const page = await service.list(query.limit + 1, before);
    const items = page.slice(0, query.limit);
    const last = items.at(-1);
    res.json({
      items: items.map(orderView),
      ...(page.length > query.limit && last ? { nextCursor: encodeCursor(last.seq) } : {}),
    });
  });

  app.get('/orders/:id', async (req, res) => {
    setActiveSpanAttributes({ [SPAN_ATTRIBUTES.orderId]: req.params.id });
    res.json(orderView(await service.get(orderIdParam(req.params.id))));
  });

  app.post('/orders/:id/cancel', async (req, res) => {
    setActiveSpanAttributes({ [SPAN_ATTRIBUTES.orderId]: req.params.id });
    res.json(orderView(await service.cancel(orderIdParam(req.params.id))));
  });
}
