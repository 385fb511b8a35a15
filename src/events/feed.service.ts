import { AppError } from '../errors.js';
import {
  decodeCursor,
  type EventType,
  encodeCursor,
  FEED_START,
  isEventType,
  type LoyaltyEvent,
  positionOf,
  toEvent,
} from './event.model.js';
import type { FeedRepository } from './feed.repository.js';

export const DEFAULT_FEED_LIMIT = 100;
export const MAX_FEED_LIMIT = 1000;

export interface FeedQuery {
  after?: string;
  limit?: string;
  type?: string;
}

export interface FeedPage {
  events: LoyaltyEvent[];
  /** Where to read on from; the same cursor again when nothing new was there. */
  nextCursor: string;
}

export type FeedService = ReturnType<typeof createFeedService>;

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new AppError('invalid_request', `${name} must be given once`, name);
  return value;
}

export function createFeedService(repository: FeedRepository) {
  return {
    async page(orgId: number, query: FeedQuery): Promise<FeedPage> {
      const after = single(query.after, 'after');
      const limitText = single(query.limit, 'limit');
      const type = single(query.type, 'type');
      const limit = limitText === undefined || limitText === '' ? DEFAULT_FEED_LIMIT : Number(limitText);
      if (!/^\d*$/.test(limitText ?? '') || !Number.isInteger(limit) || limit < 1 || limit > MAX_FEED_LIMIT) {
        throw new AppError(
          'invalid_request',
          `limit must be an integer from 1 to ${MAX_FEED_LIMIT}`,
          'limit',
        );
      }
      const position = after === undefined || after === '' ? FEED_START : decodeCursor(after);
      if (!position) throw new AppError('invalid_request', 'after is not a cursor of this feed', 'after');
      let types: EventType[] | undefined;
      if (type !== undefined && type !== '') {
        if (!isEventType(type)) throw new AppError('invalid_request', 'type is not an event type', 'type');
        types = [type];
      }
      const rows = await repository.page(orgId, position, limit, types);
      const last = rows[rows.length - 1];
      return {
        events: rows.map(toEvent),
        nextCursor: encodeCursor(last ? positionOf(last) : position),
      };
    },
  };
}
