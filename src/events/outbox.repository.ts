import type { CompiledQuery } from 'kysely';
import type { Dialect, Trx } from '../db/database.js';
import type { NewEvent } from './event.model.js';

export type Outbox = ReturnType<typeof createOutbox>;

/** Writes events inside the caller's transaction, so that they exist exactly when its writes do. */
export function createOutbox(dialect: Dialect) {
  /** The insert of one request's events, one statement whatever their number (none: no statement). */
  const queries = (orgId: number, at: number, events: readonly NewEvent[]): CompiledQuery[] =>
    events.length === 0
      ? []
      : dialect.eventsInsert(
          orgId,
          at,
          events.map((e) => e.type),
          events.map((e) => e.json),
        );
  return {
    queries,
    async append(trx: Trx, orgId: number, at: number, events: readonly NewEvent[]): Promise<void> {
      await dialect.runWrites(trx, queries(orgId, at, events));
    },
  };
}
