import { z } from 'zod';

export const MAX_ITEMS = 20;
export const MAX_QUANTITY = 1000;

const itemSchema = z.strictObject({
  productId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\w.:-]+$/, 'expected letters, digits, "_", "-", "." or ":"'),
  quantity: z.int().min(1).max(MAX_QUANTITY),
});

export interface OrderItem {
  readonly productId: string;
  readonly quantity: number;
}

/** Lines naming the same product are merged (quantities added) in the order they first appear. */
export function mergeItems(items: readonly OrderItem[]): OrderItem[] {
  const merged = new Map<string, number>();
  for (const { productId, quantity } of items) merged.set(productId, (merged.get(productId) ?? 0) + quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

export const placeOrderSchema = z
  .strictObject({
    customer: z.strictObject({
      // Deliberately lenient (the platform's own examples use a@b.c): one @, a dot in the domain.
      email: z
        .string()
        .max(254)
        .regex(/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/, 'expected an email address such as ada@example.com'),
    }),
    items: z.array(itemSchema).min(1).max(MAX_ITEMS),
  })
  .transform((body, ctx) => {
    const items = mergeItems(body.items);
    for (const item of items) {
      if (item.quantity > MAX_QUANTITY) {
        ctx.addIssue({
          code: 'custom',
          path: ['items'],
          message: `${item.productId}: merged quantity ${item.quantity} exceeds ${MAX_QUANTITY}`,
        });
      }
    }
    return { customer: { email: body.customer.email }, items };
  });

export type PlaceOrderRequest = z.infer<typeof placeOrderSchema>;

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'expected 1 to 255 visible ASCII characters');

export const listOrdersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a cursor returned as nextCursor')
    .optional(),
});

export const orderIdSchema = z.uuid();
