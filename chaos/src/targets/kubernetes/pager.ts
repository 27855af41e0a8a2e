import { statusOf } from './api-errors.ts';

export interface Page<T> {
  items: T[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

export interface Listed<T> {
  items: T[];
  /** The snapshot's resourceVersion: a watch from it misses nothing. */
  resourceVersion: string;
}

/** client-go's pager asks for 500 items a page. */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Lists every object in pages of `limit` (`continue` tokens), as client-go's pager does. The pages of
 * one list are one consistent snapshot; its resourceVersion is the first page's. A continue token
 * that expired (410 ResourceExpired, after etcd compaction) restarts the list once without a limit,
 * as the pager falls back to a full list.
 */
export async function listAll<T>(
  fetchPage: (options: { limit?: number; _continue?: string }) => Promise<Page<T>>,
  limit = DEFAULT_PAGE_SIZE,
): Promise<Listed<T>> {
  const items: T[] = [];
  let resourceVersion = '';
  let token: string | undefined;
  do {
    let page: Page<T>;
    try {
      page = await fetchPage({ limit, _continue: token });
    } catch (error) {
      if (token === undefined || statusOf(error) !== 410) throw error;
      const full = await fetchPage({});
      return { items: full.items, resourceVersion: full.metadata?.resourceVersion ?? '' };
    }
    if (token === undefined) resourceVersion = page.metadata?.resourceVersion ?? '';
    items.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token !== undefined);
  return { items, resourceVersion };
}
