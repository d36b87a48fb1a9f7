/** Keyset pages over ids (which sort by creation time): the one shape every list returns. */
import type { SqlExecutor } from './executor.js';

export interface Page<T> {
  readonly items: T[];
  /** Pass back as `after` to get the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  /** Exclusive lower bound on the id (ids sort by creation time). */
  readonly after?: string | undefined;
  readonly limit: number;
}

/**
 * A page from rows selected with `LIMIT limit + 1`: the extra row only tells that there is more,
 * and the cursor is the last id kept.
 */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  return { items, nextCursor: hasMore ? (items[items.length - 1]?.id ?? null) : null };
}

/**
 * Runs a list's `sql`, which ends in `LIMIT ?`, with `params` and one row more than the page asks
 * for, and makes the page of its rows mapped by `map`.
 */
export async function selectPage<R, T extends { id: string }>(
  x: SqlExecutor,
  page: PageRequest,
  map: (row: R) => T,
  sql: string,
  ...params: unknown[]
): Promise<Page<T>> {
  const rows = await x.all<R>(sql, ...params, page.limit + 1);
  return pageOf(rows.map(map), page.limit);
}
