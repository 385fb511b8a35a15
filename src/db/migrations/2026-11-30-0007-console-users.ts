import type { Kysely } from 'kysely';

// Console users belong to the deployment, not to one org: one person may look after several orgs (or
// all of them). Their rows carry org_id 0, the deployment, as the audit log does for deployment-level
// changes, so that keys still lead with org_id; the orgs a user may act on are listed in `org_ids`.
// Sessions live in the store, not in a process's memory, so that any process of a deployment answers
// them and a restart signs no one out.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('console_users')
    .addColumn('org_id', 'integer', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    // A JSON array of org ids, or null for every org.
    .addColumn('org_ids', 'text')
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('console_users_pk', ['org_id', 'username'])
    .execute();

  await db.schema
    .createTable('console_sessions')
    .addColumn('org_id', 'integer', (c) => c.notNull())
    // SHA-256 of the cookie's value: a copy of the table opens no session.
    .addColumn('id_hash', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('console_sessions_pk', ['org_id', 'id_hash'])
    .execute();
  await db.schema
    .createIndex('console_sessions_user_idx')
    .on('console_sessions')
    .columns(['org_id', 'username'])
    .execute();
  // The console's audit log filtered by person (`user:alice`), newest first, reads only that person's
  // entries of the org, however long the log.
  await db.schema.createIndex('audit_log_who_idx').on('audit_log').columns(['org_id', 'who', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_log_who_idx').execute();
  await db.schema.dropTable('console_sessions').execute();
  await db.schema.dropTable('console_users').execute();
}
