import { DEFAULT_FEED_LIMIT, type FeedQuery } from '../contract/events.contract.js';
import { badRequest } from '../errors.js';
import {
  decodeCursor,
  type EventType,
  encodeCursor,
  FEED_START,
  type LoyaltyEvent,
  positionOf,
  toEvent,
} from './event.model.js';
import type { FeedRepository } from './feed.repository.js';

export interface FeedPage {
  events: LoyaltyEvent[];
  /** Where to read on from; the same cursor again when nothing new was there. */
  nextCursor: string;
}

export type FeedService = ReturnType<typeof createFeedService>;

export function createFeedService(repository: FeedRepository) {
  return {
    /** The schema checked the query's form; the cursor's meaning is checked here. */
    async page(orgId: number, query: FeedQuery): Promise<FeedPage> {
      const position =
        query.after === undefined || query.after === '' ? FEED_START : decodeCursor(query.after);
      if (!position) throw badRequest('after', 'after is not a cursor of this feed');
      const limit = query.limit ?? DEFAULT_FEED_LIMIT;
      const types: EventType[] | undefined = query.type ? [query.type as EventType] : undefined;
      const rows = await repository.page(orgId, position, limit, types);
      const last = rows[rows.length - 1];
      return {
        events: rows.map(toEvent),
        nextCursor: encodeCursor(last ? positionOf(last) : position),
      };
    },
  };
}
