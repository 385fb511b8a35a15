import { type RawBuilder, sql } from 'kysely';
import type { Dialect } from '../db/database.js';

/**
 * What the outbox and the feed do differently on each store.
 *
 * PostgreSQL: ids come from a sequence, so their order is the order in which transactions took them,
 * not the order in which they committed; a reader that moved past an id whose transaction was still
 * running would never see it. So each event stores its transaction's id (pg_current_xact_id), and the
 * feed only reads events whose transaction id is below the current snapshot's xmin: every
 * transaction below it has ended, and every transaction still to commit has an id at or above it,
 * so an event that shows up later always sorts after what was already read.
 *
 * SQLite: one write transaction at a time, so the id order is the commit order; xid is always 0.
 */
export interface EventsDialect {
  /** Inserts the events (types[i], data[i]) of one transaction for one org, in one statement. */
  insertEvents(orgId: number, at: number, types: string[], data: string[]): RawBuilder<unknown>;
  /** Transaction ids below this value belong to transactions that have all ended. */
  readonly horizon: RawBuilder<number>;
  /** Appended to a select that claims rows, so that concurrent claimers pass each other by. */
  readonly skipLocked: RawBuilder<unknown>;
}

const postgres: EventsDialect = {
  insertEvents: (orgId, at, types, data) =>
    sql`insert into events (org_id, xid, id, type, at, data)
      select ${orgId}::bigint, pg_current_xact_id()::text::bigint, nextval('events_id_seq'), r.type, ${at}::bigint, r.data
      from unnest(${types}::text[], ${data}::text[]) as r(type, data)`,
  horizon: sql<number>`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`,
  skipLocked: sql`for update skip locked`,
};

const sqlite: EventsDialect = {
  // The trigger events_id_advance moves the 'events' counter past each row inserted.
  insertEvents: (orgId, at, types, data) =>
    sql`insert into events (org_id, xid, id, type, at, data)
      select ${orgId}, 0, (select value from id_sequences where name = 'events') + j.key + 1,
        j.value ->> 0, ${at}, j.value ->> 1
      from json_each(${JSON.stringify(types.map((type, i) => [type, data[i]]))}) as j`,
  horizon: sql<number>`1`,
  skipLocked: sql``,
};

export function eventsDialect(dialect: Dialect): EventsDialect {
  return dialect === 'postgres' ? postgres : sqlite;
}
