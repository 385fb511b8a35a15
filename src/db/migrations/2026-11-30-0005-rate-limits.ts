import { type Kysely, PostgresAdapter } from 'kysely';

// Requests counted per credential and one-minute window, shared by every process on the store (see
// src/auth/rate-limiter.ts). Rows of past windows are deleted as processes move on; the table holds a
// row or two per credential in use.

export async function up(db: Kysely<any>): Promise<void> {
  const bigint = db.getExecutor().adapter instanceof PostgresAdapter ? 'bigint' : 'integer';
  await db.schema
    .createTable('rate_limits')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('window_start', bigint, (c) => c.notNull())
    .addColumn('count', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limits_pk', ['org_id', 'credential', 'window_start'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
