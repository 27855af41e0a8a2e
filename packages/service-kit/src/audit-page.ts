import type { AuditPage } from '@self-healing-shop/contracts';
import type { QueryResultRow } from 'pg';
import { z } from 'zod';
import type { Pool } from './postgres.ts';
import { ValidationError } from './problem.ts';
import { parseOrThrow } from './validate.ts';

/** The most items one audit page holds (`?limit=`), per the audit contract. */
export const AUDIT_PAGE_MAX = 1000;

export interface AuditPageQuery {
  /** The key of the last item of the previous page (decoded from its `nextCursor`). */
  readonly after: string | undefined;
  readonly limit: number;
}

const querySchema = z.object({
  after: z.string('expected a single cursor').min(1, 'expected a cursor').max(400).optional(),
  limit: z.coerce
    .number('expected a number')
    .int('expected an integer')
    .min(1, 'expected at least 1')
    .max(AUDIT_PAGE_MAX, `expected at most ${AUDIT_PAGE_MAX}`)
    .default(AUDIT_PAGE_MAX),
});

const PREFIX = 'a:';

/** Keys that are sequence numbers (a bigint column). */
export const SEQUENCE_KEY = /^\d{1,18}$/;

/**
 * `?after=<nextCursor>&limit=<n>` of an audit list; a cursor this service did not issue (or whose key
 * does not match `keyPattern`) is a 400.
 */
export function parseAuditPageQuery(query: unknown, keyPattern?: RegExp): AuditPageQuery {
  const { after, limit } = parseOrThrow(querySchema, query, 'query');
  if (after === undefined) return { after: undefined, limit };
  const decoded = Buffer.from(after, 'base64url').toString();
  const key = decoded.slice(PREFIX.length);
  if (
    !decoded.startsWith(PREFIX) ||
    encodeCursor(key) !== after ||
    (keyPattern !== undefined && !keyPattern.test(key))
  ) {
    throw new ValidationError('The query is invalid: after: expected a nextCursor of this list', [
      { path: 'after', message: 'expected a nextCursor of this list' },
    ]);
  }
  return { after: key, limit };
}

function encodeCursor(key: string): string {
  return Buffer.from(`${PREFIX}${key}`).toString('base64url');
}

/**
 * One page from rows read in key order with `LIMIT limit + 1`: the extra row only says that another
 * page exists, and the cursor is the key of the last item kept.
 */
export function auditPage<R, T>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => string,
  view: (row: R) => T,
): AuditPage<T> {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return {
    items: kept.map(view),
    ...(rows.length > limit && last !== undefined ? { nextCursor: encodeCursor(keyOf(last)) } : {}),
  };
}

/**
 * Reads one audit page: `query` takes `$1` = the key to start after (null for the first page) and
 * `$2` = how many rows to read, in key order.
 */
export async function readAuditPage<R extends QueryResultRow, T>(
  pool: Pool,
  query: { readonly name: string; readonly text: string },
  page: AuditPageQuery,
  keyOf: (row: R) => string,
  view: (row: R) => T,
): Promise<AuditPage<T>> {
  const { rows } = await pool.query<R>({ ...query, values: [page.after ?? null, page.limit + 1] });
  return auditPage(rows, page.limit, keyOf, view);
}
