import { type Kysely, sql } from 'kysely';
import { type Store, writeTransaction } from '../db/database.js';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from '../db/schema.js';
import type { Outcome } from './delivery.plan.js';
import type { EventRow, FeedPosition } from './event.model.js';

export type WebhookRow = WebhooksTable;
export type DeliveryRow = WebhookDeliveriesTable;

/**
 * An endpoint whose cursor stands at `position` with nothing pending: what creating it, replaying it
 * and finishing a batch all leave behind.
 */
export function cursorAt(position: FeedPosition) {
  return {
    cursor_xid: position.xid,
    cursor_id: position.id,
    pending_message_id: null,
    pending_event_ids: null,
    pending_end_xid: null,
    pending_end_id: null,
    attempts: 0,
    first_attempt_at: null,
    next_attempt_at: 0,
  } satisfies Partial<WebhookRow>;
}

/**
 * A round of messages fixed before the first is sent: each message's webhook-id and events stay the
 * same across retries and restarts.
 */
export interface PendingBatch {
  messages: { id: string; eventIds: string[] }[];
  end: FeedPosition;
}

/** An endpoint whose next round is fixed (what setPending and a record with a next round leave). */
export const pendingAt = (batch: PendingBatch) =>
  ({
    pending_message_id: batch.messages[0]?.id ?? null,
    pending_event_ids: JSON.stringify(batch.messages),
    pending_end_xid: batch.end.xid,
    pending_end_id: batch.end.id,
    attempts: 0,
    first_attempt_at: null,
  }) satisfies Partial<WebhookRow>;

/** The pending round an endpoint's row holds (a flat list of ids, as first kept, is one message). */
export function pendingIn(w: WebhookRow): PendingBatch {
  const kept = JSON.parse(w.pending_event_ids ?? '[]') as string[] | PendingBatch['messages'];
  const messages =
    typeof kept[0] === 'string'
      ? [{ id: w.pending_message_id as string, eventIds: kept as string[] }]
      : (kept as PendingBatch['messages']);
  return { messages, end: { xid: Number(w.pending_end_xid), id: Number(w.pending_end_id) } };
}

export type WebhookRepository = ReturnType<typeof createWebhookRepository>;

/** The lease was taken over by another process: what this one did must not be recorded. */
export class LeaseLost extends Error {}

/** One attempt to send a message, as the delivery log keeps it. */
export interface AttemptRecord {
  messageId: string;
  eventIds: string[];
  attempt: number;
  outcome: Outcome;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  at: number;
  nextRetryAt: number | null;
}

/** A round's outcome: its attempts, and the endpoint's row as they leave it. */
export interface RoundRecord {
  orgId: number;
  webhookId: string;
  owner: string;
  attempts: AttemptRecord[];
  changes: Partial<WebhookRow>;
}

export function createWebhookRepository(store: Store) {
  const { dialect } = store;
  const db = store.db;

  const own = (on: Kysely<Database>, orgId: number, id: string, owner: string) =>
    on
      .updateTable('webhooks')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('lease_owner', '=', owner);

  const eventsAfterIn = async (on: Kysely<Database>, orgId: number, after: FeedPosition, limit: number) => {
    const { rows } = await sql<EventRow>`
      select org_id, xid, id, type, at, data from events
      where org_id = ${orgId} and (xid, id) > (${after.xid}, ${after.id}) and xid < ${dialect.eventHorizon}
      order by xid, id limit ${limit}`.execute(on);
    return rows;
  };

  return {
    async orgExists(orgId: number): Promise<boolean> {
      const row = await db.selectFrom('orgs').select('org_id').where('org_id', '=', orgId).executeTakeFirst();
      return row !== undefined;
    },

    async create(row: WebhookRow): Promise<void> {
      await db.insertInto('webhooks').values(row).execute();
    },

    get(orgId: number, id: string): Promise<WebhookRow | undefined> {
      return db
        .selectFrom('webhooks')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    list(orgId: number, afterId: string, limit: number): Promise<WebhookRow[]> {
      return db
        .selectFrom('webhooks')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
    },

    /** Changes the given columns; false when there is no such endpoint. */
    async update(orgId: number, id: string, changes: Partial<WebhookRow>): Promise<boolean> {
      const result = await db
        .updateTable('webhooks')
        .set(changes)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async remove(orgId: number, id: string): Promise<boolean> {
      return writeTransaction(store, async (trx) => {
        const tx = trx;
        await tx
          .deleteFrom('webhook_deliveries')
          .where('org_id', '=', orgId)
          .where('webhook_id', '=', id)
          .execute();
        const result = await tx
          .deleteFrom('webhooks')
          .where('org_id', '=', orgId)
          .where('id', '=', id)
          .executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      });
    },

    /** Attempts of an endpoint, newest first, older than `beforeSeq`. */
    deliveries(orgId: number, webhookId: string, beforeSeq: number, limit: number): Promise<DeliveryRow[]> {
      return db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('webhook_id', '=', webhookId)
        .where('seq', '<', beforeSeq)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
    },

    /** Whether any org has an enabled endpoint. */
    async anyEnabled(): Promise<boolean> {
      const { rows } = await sql`select 1 as one from webhooks where enabled = 1 limit 1`.execute(db);
      return rows.length > 0;
    },

    /**
     * Leases up to `limit` endpoints that have something to send now and that no live process holds.
     * A read looks first: it takes no lock, where the claim's update takes the write lock on SQLite
     * even when it changes nothing, and the requests' group commit would wait behind it. Then one
     * statement claims; on PostgreSQL, claimers in other processes skip the rows this one locks.
     */
    async claim(owner: string, now: number, leaseMs: number, limit: number): Promise<WebhookRow[]> {
      const claimable = sql`select w.org_id, w.id from webhooks w
          where w.enabled = 1 and w.lease_until < ${now} and w.next_attempt_at <= ${now}
            and (w.pending_message_id is not null or exists (select 1 from events e
              where e.org_id = w.org_id and (e.xid, e.id) > (w.cursor_xid, w.cursor_id) and e.xid < ${dialect.eventHorizon}))`;
      const { rows: any } = await sql`${claimable} limit 1`.execute(db);
      if (any.length === 0) return [];
      // Each write below is a write transaction, so that on SQLite it takes its turn with the requests'.
      const { rows } = await writeTransaction(store, (tx) =>
        sql<WebhookRow>`
          update webhooks set lease_owner = ${owner}, lease_until = ${now + leaseMs}
          where lease_until < ${now} and (org_id, id) in (
            ${claimable} order by w.next_attempt_at limit ${limit} ${dialect.skipLocked})
          returning *`.execute(tx),
      );
      return rows;
    },

    /** Events after the endpoint's cursor that every writer has committed, in feed order. */
    eventsAfter(orgId: number, after: FeedPosition, limit: number): Promise<EventRow[]> {
      return eventsAfterIn(db, orgId, after, limit);
    },

    /** The events of a pending batch: those between the cursor and the batch's end. */
    async eventsBetween(orgId: number, after: FeedPosition, end: FeedPosition): Promise<EventRow[]> {
      const { rows } = await sql<EventRow>`
        select org_id, xid, id, type, at, data from events
        where org_id = ${orgId} and (xid, id) > (${after.xid}, ${after.id}) and (xid, id) <= (${end.xid}, ${end.id})
        order by xid, id`.execute(db);
      return rows;
    },

    /** Fixes the next batch (its webhook-id stays the same across retries and restarts). */
    async setPending(orgId: number, id: string, owner: string, batch: PendingBatch): Promise<void> {
      const result = await writeTransaction(store, (tx) =>
        own(tx, orgId, id, owner).set(pendingAt(batch)).executeTakeFirst(),
      );
      if (Number(result.numUpdatedRows) === 0) throw new LeaseLost();
    },

    /** Moves the cursor over events this endpoint does not take. */
    async skipTo(orgId: number, id: string, owner: string, position: FeedPosition): Promise<void> {
      const result = await writeTransaction(store, (tx) =>
        own(tx, orgId, id, owner)
          .set({ cursor_xid: position.xid, cursor_id: position.id })
          .executeTakeFirst(),
      );
      if (Number(result.numUpdatedRows) === 0) throw new LeaseLost();
    },

    async release(orgId: number, id: string, owner: string): Promise<void> {
      await writeTransaction(store, (tx) =>
        own(tx, orgId, id, owner).set({ lease_owner: null, lease_until: 0 }).execute(),
      );
    },

    /**
     * Logs a round's attempts and moves the endpoint on (its next round fixed too, when the worker
     * read one), in one short transaction, if this process still leases it: on SQLite every write
     * waits for the requests' group commit or holds it up. Answers the endpoint's row as left.
     */
    async recordRound(r: RoundRecord): Promise<WebhookRow> {
      return writeTransaction(store, async (tx) => {
        const n = r.attempts.length;
        const row = await own(tx, r.orgId, r.webhookId, r.owner)
          .set((eb) => ({ ...r.changes, delivery_seq: eb('delivery_seq', '+', n) }))
          .returningAll()
          .executeTakeFirst();
        if (!row) throw new LeaseLost();
        const firstSeq = Number(row.delivery_seq) - n + 1;
        if (n > 0)
          await tx
            .insertInto('webhook_deliveries')
            .values(
              r.attempts.map((a, i) => ({
                org_id: r.orgId,
                webhook_id: r.webhookId,
                seq: firstSeq + i,
                message_id: a.messageId,
                event_ids: JSON.stringify(a.eventIds),
                attempt: a.attempt,
                outcome: a.outcome,
                status_code: a.statusCode,
                duration_ms: a.durationMs,
                error: a.error,
                next_retry_at: a.nextRetryAt,
                at: a.at,
              })),
            )
            .execute();
        return row;
      });
    },

    /**
     * Retention: deletes events older than `before` that every enabled endpoint of their org has
     * passed, and delivery log entries older than `before`; at most `limit` events a call.
     */
    async prune(before: number, limit: number): Promise<number> {
      return writeTransaction(store, async (tx) => {
        const { numAffectedRows } = await sql`
          delete from events where (org_id, xid, id) in (
            select e.org_id, e.xid, e.id from events e where e.at < ${before}
              and not exists (select 1 from webhooks w where w.org_id = e.org_id and w.enabled = 1
                and (e.xid, e.id) > (w.cursor_xid, w.cursor_id))
            limit ${limit})`.execute(tx);
        await tx.deleteFrom('webhook_deliveries').where('at', '<', before).execute();
        return Number(numAffectedRows ?? 0);
      });
    },

    /** Per enabled endpoint: events waiting (up to `cap`) and the age of the oldest, for metrics. */
    async backlog(cap: number): Promise<{ id: string; pending: number; oldestAt: number | null }[]> {
      const endpoints = await db
        .selectFrom('webhooks')
        .select(['org_id', 'id', 'cursor_xid', 'cursor_id'])
        .where('enabled', '=', 1)
        .execute();
      const out: { id: string; pending: number; oldestAt: number | null }[] = [];
      for (const w of endpoints) {
        const { rows } = await sql<{ n: number; oldest: number | null }>`
          select count(*) as n, min(at) as oldest from (select at from events
            where org_id = ${w.org_id} and (xid, id) > (${w.cursor_xid}, ${w.cursor_id}) limit ${cap}) t`.execute(
          db,
        );
        const row = rows[0];
        out.push({
          id: w.id,
          pending: Number(row?.n ?? 0),
          oldestAt: row?.oldest == null ? null : Number(row.oldest),
        });
      }
      return out;
    },
  };
}
