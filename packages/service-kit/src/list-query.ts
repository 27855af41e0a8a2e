import { z } from 'zod';

/** The most items a list endpoint returns at once (`?limit=`), and how many without a limit. */
export const LIST_PAGE_MAX = 100;
export const LIST_PAGE_DEFAULT = 50;

/**
 * `?limit=&cursor=` of the services' list endpoints, whose answers are `{ items, nextCursor? }`: spread
 * into a query schema, `z.object({ ...listPageFields, orderId: ... })`.
 */
export const listPageFields = {
  limit: z.coerce
    .number({ error: 'expected a number' })
    .int('expected an integer')
    .min(1, 'expected at least 1')
    .max(LIST_PAGE_MAX, `expected at most ${LIST_PAGE_MAX}`)
    .default(LIST_PAGE_DEFAULT),
  cursor: z.string({ error: 'expected a single cursor' }).min(1).max(200).optional(),
};
