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

/** A batch fixed before it is sent: its webhook-id stays the same across retries and restarts. */
export interface PendingBatch {
  messageId: string;
  eventIds: string[];
  end: FeedPosition;
}

/** How the worker picks the next batch from the events after a finished one (at most `scan`). */
export interface PlanNext {
  scan: number;
  plan(events: EventRow[]): PendingBatch | null;
}

/** The next batch, fixed, with the events it was picked from. */
export type NextPending = PendingBatch & { events: EventRow[] };

/** An endpoint whose next batch is fixed (what setPending and a record with a next batch leave). */
export const pendingAt = (batch: PendingBatch) =>
  ({
    pending_message_id: batch.messageId,
    pending_event_ids: JSON.stringify(batch.eventIds),
    pending_end_xid: batch.end.xid,
    pending_end_id: batch.end.id,
    attempts: 0,
    first_attempt_at: null,
  }) satisfies Partial<WebhookRow>;

export type WebhookRepository = ReturnType<typeof createWebhookRepository>;

/** The lease was taken over by another process: what this one did must not be recorded. */
export class LeaseLost extends Error {}

export interface AttemptRecord {
  orgId: number;
  webhookId: string;
  owner: string;
  outcome: Outcome;
  messageId: string;
  eventIds: string[];
  attempt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  at: number;
  firstAttemptAt: number;
  nextAttemptAt: number | null;
  /** Where the endpoint's cursor goes when the batch is done with (delivered or failed). */
  end: FeedPosition;
  leaseUntil: number;
  disabledReason?: string;
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

    /**
     * Leases up to `limit` endpoints that have something to send now and that no live process holds,
     * in one statement. On PostgreSQL, claimers in other processes skip the rows this one locks.
     */
    async claim(owner: string, now: number, leaseMs: number, limit: number): Promise<WebhookRow[]> {
      const { rows } = await sql<WebhookRow>`
        update webhooks set lease_owner = ${owner}, lease_until = ${now + leaseMs}
        where lease_until < ${now} and (org_id, id) in (
          select w.org_id, w.id from webhooks w
          where w.enabled = 1 and w.lease_until < ${now} and w.next_attempt_at <= ${now}
            and (w.pending_message_id is not null or exists (select 1 from events e
              where e.org_id = w.org_id and (e.xid, e.id) > (w.cursor_xid, w.cursor_id) and e.xid < ${dialect.eventHorizon}))
          order by w.next_attempt_at limit ${limit} ${dialect.skipLocked})
        returning *`.execute(db);
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
      const result = await own(db, orgId, id, owner).set(pendingAt(batch)).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new LeaseLost();
    },

    /** Moves the cursor over events this endpoint does not take. */
    async skipTo(orgId: number, id: string, owner: string, position: FeedPosition): Promise<void> {
      const result = await own(db, orgId, id, owner)
        .set({ cursor_xid: position.xid, cursor_id: position.id })
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new LeaseLost();
    },

    async release(orgId: number, id: string, owner: string): Promise<void> {
      await own(db, orgId, id, owner).set({ lease_owner: null, lease_until: 0 }).execute();
    },

    /**
     * Logs an attempt and moves the endpoint on, in one transaction, if this process still leases it.
     * When the batch is done with, `planNext` (given the events after its end) may fix the next batch in
     * the same transaction: one write a batch instead of two, which matters most on SQLite, where every
     * write waits for the requests' group commit.
     */
    async recordAttempt(r: AttemptRecord, planNext?: PlanNext): Promise<NextPending | null> {
      const done = r.outcome === 'delivered' || r.outcome === 'failed';
      const changes: Partial<WebhookRow> = done
        ? {
            ...cursorAt(r.end),
            lease_until: r.leaseUntil,
          }
        : r.outcome === 'retrying'
          ? {
              attempts: r.attempt,
              first_attempt_at: r.firstAttemptAt,
              next_attempt_at: r.nextAttemptAt ?? 0,
              lease_owner: null,
              lease_until: 0,
            }
          : {
              enabled: 0,
              disabled_reason: r.disabledReason ?? null,
              attempts: 0,
              first_attempt_at: null,
              lease_owner: null,
              lease_until: 0,
            };
      return writeTransaction(store, async (trx) => {
        const tx = trx;
        const row = await tx
          .updateTable('webhooks')
          .set((eb) => ({ ...changes, delivery_seq: eb('delivery_seq', '+', 1) }))
          .where('org_id', '=', r.orgId)
          .where('id', '=', r.webhookId)
          .where('lease_owner', '=', r.owner)
          .returning('delivery_seq')
          .executeTakeFirst();
        if (!row) throw new LeaseLost();
        await tx
          .insertInto('webhook_deliveries')
          .values({
            org_id: r.orgId,
            webhook_id: r.webhookId,
            seq: Number(row.delivery_seq),
            message_id: r.messageId,
            event_ids: JSON.stringify(r.eventIds),
            attempt: r.attempt,
            outcome: r.outcome,
            status_code: r.statusCode,
            duration_ms: r.durationMs,
            error: r.error,
            next_retry_at: r.outcome === 'retrying' ? (r.nextAttemptAt ?? null) : null,
            at: r.at,
          })
          .execute();
        if (!done || !planNext) return null;
        const events = await eventsAfterIn(tx, r.orgId, r.end, planNext.scan);
        const next = planNext.plan(events);
        if (!next) return null;
        await own(tx, r.orgId, r.webhookId, r.owner).set(pendingAt(next)).execute();
        return { ...next, events };
      });
    },

    /**
     * Retention: deletes events older than `before` that every enabled endpoint of their org has
     * passed, and delivery log entries older than `before`; at most `limit` events a call.
     */
    async prune(before: number, limit: number): Promise<number> {
      const { numAffectedRows } = await sql`
        delete from events where (org_id, xid, id) in (
          select e.org_id, e.xid, e.id from events e where e.at < ${before}
            and not exists (select 1 from webhooks w where w.org_id = e.org_id and w.enabled = 1
              and (e.xid, e.id) > (w.cursor_xid, w.cursor_id))
          limit ${limit})`.execute(db);
      await db.deleteFrom('webhook_deliveries').where('at', '<', before).execute();
      return Number(numAffectedRows ?? 0);
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
