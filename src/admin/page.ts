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

/** Where a page of a list keyed by a name starts (after this name) and how many it holds. */
export interface NamedPageRequest {
  after: string;
  limit: number;
}

/** `limit` and `cursor` of a list ordered by a name: the cursor is the last name, base64url-encoded. */
export function parseNamedPage(query: PageInput = {}): NamedPageRequest {
  const cursor = query.cursor ?? '';
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw badRequest('cursor', 'cursor is not one this API gave');
  return {
    after: Buffer.from(cursor, 'base64url').toString('utf8'),
    limit: query.limit ?? DEFAULT_PAGE_LIMIT,
  };
}

/** As cutPage, for a list keyed by a name. */
export function cutNamedPage<T>(rows: T[], { limit }: NamedPageRequest, nameOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor:
      rows.length > limit && last !== undefined
        ? Buffer.from(nameOf(last), 'utf8').toString('base64url')
        : null,
  };
}
