import type { Dialect, Trx } from '../db/database.js';
import type { NewEvent } from './event.model.js';

export type Outbox = ReturnType<typeof createOutbox>;

/** Writes events inside the caller's transaction, so that they exist exactly when its writes do. */
export function createOutbox(dialect: Dialect) {
  return {
    /** All of one request's events in one statement, whatever their number (none: no statement). */
    async append(trx: Trx, orgId: number, at: number, events: readonly NewEvent[]): Promise<void> {
      if (events.length === 0) return;
      await dialect.insertEvents(
        trx,
        orgId,
        at,
        events.map((e) => e.type),
        events.map((e) => e.json),
      );
    },
  };
}
