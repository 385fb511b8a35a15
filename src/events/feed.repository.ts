import { sql } from 'kysely';
import type { Db, Dialect } from '../db/database.js';
import type { EventRow, EventType, FeedPosition } from './event.model.js';

export type FeedRepository = ReturnType<typeof createFeedRepository>;

/** Reads the events of an org in feed order: by (xid, id), only those whose writers have all ended. */
export function createFeedRepository(db: Db, dialect: Dialect) {
  return {
    /** Up to `limit` events after `after`, of `types` when given, in feed order. */
    async page(
      orgId: number,
      after: FeedPosition,
      limit: number,
      types?: readonly EventType[],
    ): Promise<EventRow[]> {
      const typeFilter =
        types && types.length > 0 ? sql`and type in (${sql.join(types.map((t) => sql`${t}`))})` : sql``;
      const { rows } = await sql<EventRow>`
        select org_id, xid, id, type, at, data from events
        where org_id = ${orgId} and (xid, id) > (${after.xid}, ${after.id}) and xid < ${dialect.eventHorizon}
          ${typeFilter}
        order by xid, id limit ${limit}`.execute(db);
      return rows;
    },

    /** The position of the newest event a reader may see now (the feed's start when there is none). */
    async head(orgId: number): Promise<FeedPosition | undefined> {
      const { rows } = await sql<{ xid: number; id: number }>`
        select xid, id from events where org_id = ${orgId} and xid < ${dialect.eventHorizon}
        order by xid desc, id desc limit 1`.execute(db);
      const row = rows[0];
      return row ? { xid: Number(row.xid), id: Number(row.id) } : undefined;
    },
  };
}
