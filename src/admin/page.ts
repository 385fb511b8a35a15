import { DEFAULT_PAGE_LIMIT, type PageInput } from '../contract/admin.contract.js';
import { badRequest } from '../errors.js';

/** Where a page of a list starts (after this id) and how many it holds. */
export interface PageRequest {
  after: number;
  limit: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The one reading of `limit` and `cursor` for every list of the management API. */
export function parsePage(query: PageInput = {}): PageRequest {
  const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
  const after = query.cursor ? Number(query.cursor) : 0;
  if (!/^[0-9]*$/.test(query.cursor ?? '') || !Number.isSafeInteger(after)) {
    throw badRequest('cursor', 'cursor is not one this API gave');
  }
  return { after, limit };
}

/**
 * Cuts a page from rows read with `limit + 1` (the extra row only tells that more follow); the cursor is
 * the id of the last row answered.
 */
export function cutPage<T>(rows: T[], { limit }: PageRequest, idOf: (row: T) => number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? String(idOf(last)) : null };
}
