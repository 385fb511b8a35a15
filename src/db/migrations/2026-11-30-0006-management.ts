import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * The management API's tables.
 *
 * - promotion_counts / promotion_day_counts: counters of each promotion (and of each UTC day of it),
 *   added to by the enrolment service in the transaction of the writes they count, so that the counts
 *   endpoint reads a handful of rows instead of a promotion's issuals. Each counter row is split into
 *   shards: concurrent requests on one promotion add to different rows and do not queue behind one
 *   row lock until commit; a read sums the shards.
 * - deleted_customers: a soft-deleted customer is moved here out of `customers` (with its sources and
 *   programs), so that no /v2 lookup can find it, its identifiers are free for a new customer, and its
 *   issuals and earns (which are never deleted) stay in the reports.
 * - program_members_customer_idx: a customer's programs.
 * - issuals_customer_id_idx: a customer's issuals across promotions, for the customer view. Partial on
 *   a condition every issual meets (ids are positive), as issuals_report_idx is (see migration
 *   2026-11-30-0001): the bulk path's statements, which do not name it, are not offered this index,
 *   which on a store without statistics ties with issuals_customer_idx for one customer's issuals in a
 *   promotion and would win as the newer one. The customer view names the condition.
 */

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

const COUNTERS = ['issuals', 'issuals_revoked', 'earns', 'earns_revoked', 'customers'] as const;
const DAY_MS = 86_400_000;

export async function up(db: Kysely<any>): Promise<void> {
  const bigint = isPostgres(db) ? 'bigint' : 'integer';

  let counts = db.schema
    .createTable('promotion_counts')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('promotion_id', bigint, (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull());
  let days = db.schema
    .createTable('promotion_day_counts')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('promotion_id', bigint, (c) => c.notNull())
    // Days since the epoch, UTC.
    .addColumn('day', 'integer', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull());
  for (const column of COUNTERS) {
    counts = counts.addColumn(column, bigint, (c) => c.notNull().defaultTo(0));
    days = days.addColumn(column, bigint, (c) => c.notNull().defaultTo(0));
  }
  await counts.addPrimaryKeyConstraint('promotion_counts_pk', ['org_id', 'promotion_id', 'shard']).execute();
  await days
    .addPrimaryKeyConstraint('promotion_day_counts_pk', ['org_id', 'promotion_id', 'day', 'shard'])
    .execute();

  // What the promotions hold already, counted once now (shard 0).
  const count = (table: string, where: string) =>
    sql`(select count(*) from ${sql.id(table)} x where x.org_id = p.org_id and x.promotion_id = p.id${sql.raw(where)})`;
  await sql`insert into promotion_counts (org_id, promotion_id, shard, issuals, issuals_revoked, earns, earns_revoked, customers)
    select p.org_id, p.id, 0, ${count('issuals', '')}, ${count('issuals', ' and x.revoked_at is not null')},
      ${count('earns', '')}, ${count('earns', ' and x.revoked_at is not null')},
      (select count(distinct x.customer_id) from issuals x where x.org_id = p.org_id and x.promotion_id = p.id)
    from promotions p`.execute(db);
  const day = (column: string) => sql`${sql.ref(column)} / ${sql.lit(DAY_MS)}`;
  await sql`insert into promotion_day_counts (org_id, promotion_id, day, shard, issuals, issuals_revoked, earns, earns_revoked, customers)
    select org_id, promotion_id, day, 0, sum(a), sum(b), sum(c), sum(d), sum(e) from (
      select org_id, promotion_id, ${day('created_at')} as day, 1 as a, 0 as b, 0 as c, 0 as d, 0 as e from issuals
      union all
      select org_id, promotion_id, ${day('revoked_at')}, 0, 1, 0, 0, 0 from issuals where revoked_at is not null
      union all
      select org_id, promotion_id, ${day('created_at')}, 0, 0, 1, 0, 0 from earns
      union all
      select org_id, promotion_id, ${day('revoked_at')}, 0, 0, 0, 1, 0 from earns where revoked_at is not null
      union all
      select org_id, promotion_id, min(created_at) / ${sql.lit(DAY_MS)}, 0, 0, 0, 0, 1 from issuals
        group by org_id, promotion_id, customer_id
    ) events group by org_id, promotion_id, day`.execute(db);

  await db.schema
    .createTable('deleted_customers')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('mobile', 'text')
    .addColumn('email', 'text')
    .addColumn('external_id', 'text')
    // Comma-separated, as they were when the customer was deleted.
    .addColumn('sources', 'text', (c) => c.notNull())
    .addColumn('program_ids', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('deleted_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('deleted_customers_pk', ['org_id', 'id'])
    .execute();
  // Customer ids are unique across the deployment, deleted ones included (their rewards keep the id).
  await db.schema.createIndex('deleted_customers_id_idx').on('deleted_customers').column('id').execute();

  // A customer's programs (the customer view, and a change or soft delete of customers): the primary
  // key leads with the program, so without this a customer's memberships are a scan of the org's. The
  // program is in it too, so that it covers those reads (SQLite preferred the covering primary key).
  await db.schema
    .createIndex('program_members_customer_idx')
    .on('program_members')
    .columns(['org_id', 'customer_id', 'program_id'])
    .execute();
  await db.schema
    .createIndex('issuals_customer_id_idx')
    .on('issuals')
    .columns(['org_id', 'customer_id', 'id'])
    .where(sql.ref('id'), '>', sql.lit(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('issuals_customer_id_idx').ifExists().execute();
  await db.schema.dropIndex('program_members_customer_idx').ifExists().execute();
  // Deleted customers come back as customers (without sources or programs, so no lookup finds them),
  // so that their rows are not lost going down; an identifier a new customer took stays with it.
  const free = (column: string) =>
    sql`case when exists (select 1 from customers c where c.org_id = d.org_id and c.${sql.ref(column)} = d.${sql.ref(column)}) then null else d.${sql.ref(column)} end`;
  await sql`insert into customers (org_id, id, mobile, email, external_id, created_at)
    select d.org_id, d.id, ${free('mobile')}, ${free('email')}, ${free('external_id')}, d.created_at
    from deleted_customers d`.execute(db);
  await db.schema.dropTable('deleted_customers').ifExists().execute();
  await db.schema.dropTable('promotion_day_counts').ifExists().execute();
  await db.schema.dropTable('promotion_counts').ifExists().execute();
}
