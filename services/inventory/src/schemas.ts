import { listPageFields } from '@self-healing-shop/service-kit';
import { z } from 'zod';

export const MAX_QUANTITY = 1000;
export const MAX_ITEMS = 50;
export const MAX_STOCK = 1_000_000_000;

/** Order ids come from the order service: UUIDs or similar, safe in a URL path. */
export const orderIdSchema = z
  .string({ error: 'expected a string' })
  .regex(/^[\w.:-]{1,128}$/, 'expected 1 to 128 letters, digits or . _ : -');

export const productIdSchema = z
  .string({ error: 'expected a string' })
  .min(1, 'expected a product id such as p-001')
  .max(64, 'expected at most 64 characters');

const quantitySchema = z
  .int({ error: 'expected an integer' })
  .min(1, 'expected at least 1')
  .max(MAX_QUANTITY, `expected at most ${MAX_QUANTITY}`);

export const reservationItemSchema = z.strictObject({ productId: productIdSchema, quantity: quantitySchema });

/** Unknown fields are rejected (400) so that a typo never passes silently. */
export const reservationRequestSchema = z
  .strictObject({
    orderId: orderIdSchema,
    items: z
      .array(reservationItemSchema, { error: 'expected an array of { productId, quantity }' })
      .min(1, 'expected at least one item')
      .max(MAX_ITEMS, `expected at most ${MAX_ITEMS} items`),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.items.forEach((item, index) => {
      if (seen.has(item.productId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['items', index, 'productId'],
          message: `duplicate product ${item.productId}: list each product once`,
        });
      }
      seen.add(item.productId);
    });
  });

export type ReservationRequest = z.infer<typeof reservationRequestSchema>;
export type ReservationItem = z.infer<typeof reservationItemSchema>;

export const setStockSchema = z.strictObject({
  stock: z
    .int({ error: 'expected an integer' })
    .min(0, 'expected at least 0')
    .max(MAX_STOCK, `expected at most ${MAX_STOCK}`),
});

export const pageQuerySchema = z.object(listPageFields);
