import { type Kysely, PostgresAdapter, sql } from 'kysely';

// The outbox, the webhook endpoints and their delivery log (issue 17).
//
// events.xid is what makes the feed's order the commit order on PostgreSQL: the writing transaction's
// id, so that a reader can hold back every event whose transaction may still be running (see the
// feed). SQLite runs one write transaction at a time, so there id order is commit order and xid is 0.
// The key leads with (org_id, xid, id), the feed's order, so that an insert maintains one index only.
//
// Event ids come from a sequence on PostgreSQL. On SQLite they come from the id_sequences row
// 'events', read by the one insert statement of a request and moved on by a row trigger, so that a
// request's events still cost one statement; never from max(id), which retention could lower.

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const bigint = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('events')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('xid', bigint, (c) => c.notNull())
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', bigint, (c) => c.notNull())
    /** The event's `data` object as JSON text, exactly as it is sent. */
    .addColumn('data', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('events_pk', ['org_id', 'xid', 'id'])
    .execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    /** JSON array of event types; null is every type. */
    .addColumn('types', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'text')
    .addColumn('max_batch_size', 'integer', (c) => c.notNull())
    /** Written and read only by src/events/webhook-secret.ts (encryption at rest comes later). */
    .addColumn('secret', 'text', (c) => c.notNull())
    /** The feed position delivered (or given up) so far. */
    .addColumn('cursor_xid', bigint, (c) => c.notNull())
    .addColumn('cursor_id', bigint, (c) => c.notNull())
    /** The batch being delivered: its webhook-id, event ids (JSON) and last feed position. */
    .addColumn('pending_message_id', 'text')
    .addColumn('pending_event_ids', 'text')
    .addColumn('pending_end_xid', bigint)
    .addColumn('pending_end_id', bigint)
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('first_attempt_at', bigint)
    .addColumn('next_attempt_at', bigint, (c) => c.notNull())
    /** Which process delivers to this endpoint, until when (a dead process's lease runs out). */
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', bigint, (c) => c.notNull())
    .addColumn('delivery_seq', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('webhooks_pk', ['org_id', 'id'])
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('seq', bigint, (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('event_ids', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('next_retry_at', bigint)
    .addColumn('at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_deliveries_pk', ['org_id', 'webhook_id', 'seq'])
    .execute();

  if (pg) {
    await sql`create sequence events_id_seq`.execute(db);
  } else {
    await db.insertInto('id_sequences').values({ name: 'events', value: 0 }).execute();
    await sql`create trigger events_id_advance after insert on events
      begin update id_sequences set value = max(value, new.id) where name = 'events'; end`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql`drop sequence if exists events_id_seq`.execute(db);
  } else {
    await sql`drop trigger if exists events_id_advance`.execute(db);
    await db.deleteFrom('id_sequences').where('name', '=', 'events').execute();
  }
  for (const table of ['webhook_deliveries', 'webhooks', 'events']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
