import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Server-side bulk jobs. The upload is kept in the store (job_chunks, a hundred rows a chunk), so that
// any process can run any job and a restart resumes it; each chunk's results are written in the same
// transaction as its rows' issuals and earns and the job's progress. Keys lead with org_id.

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const bigint = pg ? 'bigint' : 'integer';
  await db.schema
    .createTable('jobs')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('program_id', bigint, (c) => c.notNull())
    .addColumn('promotion_id', bigint, (c) => c.notNull())
    .addColumn('identifier_name', 'text', (c) => c.notNull())
    .addColumn('dry_run', 'integer', (c) => c.notNull())
    .addColumn('undo_of', bigint)
    .addColumn('total_rows', bigint, (c) => c.notNull())
    .addColumn('total_chunks', bigint, (c) => c.notNull())
    .addColumn('next_chunk', bigint, (c) => c.notNull())
    .addColumn('processed', bigint, (c) => c.notNull())
    .addColumn('succeeded', bigint, (c) => c.notNull())
    .addColumn('failed', bigint, (c) => c.notNull())
    .addColumn('warnings', bigint, (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('started_at', bigint)
    .addColumn('finished_at', bigint)
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', bigint)
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('jobs_pk', ['org_id', 'id'])
    .addCheckConstraint(
      'jobs_status_ck',
      sql`status in ('uploading', 'queued', 'running', 'succeeded', 'failed', 'cancelled')`,
    )
    .execute();
  // The runners look for work across orgs: few rows are ever queued or running, found by status.
  await db.schema.createIndex('jobs_status_idx').on('jobs').columns(['status', 'lease_until']).execute();

  await db.schema
    .createTable('job_chunks')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('job_id', bigint, (c) => c.notNull())
    .addColumn('chunk_no', bigint, (c) => c.notNull())
    .addColumn('row_count', 'integer', (c) => c.notNull())
    /** JSON: the chunk's rows as uploaded. */
    .addColumn('rows', 'text', (c) => c.notNull())
    /** JSON: each row's outcome, written in the transaction that processed the chunk. */
    .addColumn('results', 'text')
    .addPrimaryKeyConstraint('job_chunks_pk', ['org_id', 'job_id', 'chunk_no'])
    .execute();

  if (pg) await sql`create sequence jobs_id_seq`.execute(db);
  else await db.insertInto('id_sequences').values({ name: 'jobs', value: 0 }).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) await sql`drop sequence if exists jobs_id_seq`.execute(db);
  else await db.deleteFrom('id_sequences').where('name', '=', 'jobs').execute();
  await db.schema.dropTable('job_chunks').ifExists().execute();
  await db.schema.dropTable('jobs').ifExists().execute();
}
