import { type CreateTableBuilder, type Kysely, PostgresAdapter, sql } from 'kysely';

// Issuals and earns are written a hundred rows at a time on every bulk request, and their foreign keys
// cost more than anything else in that insert: PostgreSQL runs a row trigger per row that probes and
// share-locks the customer and promotion rows (and, for earns, the issual row), which also writes to
// those rows' pages; SQLite probes each parent key. Nothing those keys guard against can happen here:
// customers, promotions and issuals are never deleted (revoking only stamps revoked_at), and the
// enrolment service writes an issual or earn only for the customer, promotion and issual it has just
// read in the same transaction. The rule that matters for rewards, one active issual per customer and
// promotion, stays with the store (issuals_active_uq).

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

const ISSUAL_COLUMNS = [
  'org_id',
  'id',
  'promotion_id',
  'customer_id',
  'source',
  'created_at',
  'created_by',
  'request_id',
  'revoked_at',
  'revoked_by',
] as const;
const EARN_COLUMNS = ['org_id', 'id', 'issual_id', ...ISSUAL_COLUMNS.slice(2)] as const;

/**
 * SQLite cannot add or drop a constraint, so a table is rebuilt as its documented procedure says: a
 * new table of the wanted shape, the rows copied, the old one dropped, the new one renamed, the indexes
 * made again. A table cannot be dropped while another's foreign key points at its rows, so without
 * foreign keys earns go first, and with them issuals do (the new earns then point at the new issuals).
 */
async function rebuildSqlite(db: Kysely<any>, withForeignKeys: boolean): Promise<void> {
  const order = withForeignKeys ? [rebuildIssuals, rebuildEarns] : [rebuildEarns, rebuildIssuals];
  for (const rebuild of order) await rebuild(db, withForeignKeys);
}

function baseColumns(db: Kysely<any>, table: string): CreateTableBuilder<string, string> {
  return db.schema
    .createTable(`${table}_rebuild`)
    .addColumn('org_id', 'integer', (c) => c.notNull())
    .addColumn('id', 'integer', (c) => c.notNull());
}

function stampColumns(builder: CreateTableBuilder<string, string>): CreateTableBuilder<string, string> {
  return builder
    .addColumn('promotion_id', 'integer', (c) => c.notNull())
    .addColumn('customer_id', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'integer')
    .addColumn('revoked_by', 'text');
}

async function rebuildEarns(db: Kysely<any>, withForeignKeys: boolean): Promise<void> {
  let earns = stampColumns(
    baseColumns(db, 'earns').addColumn('issual_id', 'integer', (c) => c.notNull()),
  ).addPrimaryKeyConstraint('earns_pk', ['org_id', 'id']);
  if (withForeignKeys) {
    earns = earns.addForeignKeyConstraint('earns_issual_fk', ['org_id', 'issual_id'], 'issuals', [
      'org_id',
      'id',
    ]);
  }
  await earns.execute();
  await copyAndSwap(db, 'earns', EARN_COLUMNS);
  await earnIndexes(db);
}

async function rebuildIssuals(db: Kysely<any>, withForeignKeys: boolean): Promise<void> {
  let issuals = stampColumns(baseColumns(db, 'issuals')).addPrimaryKeyConstraint('issuals_pk', [
    'org_id',
    'id',
  ]);
  if (withForeignKeys) {
    issuals = issuals
      .addForeignKeyConstraint('issuals_promotion_fk', ['org_id', 'promotion_id'], 'promotions', [
        'org_id',
        'id',
      ])
      .addForeignKeyConstraint('issuals_customer_fk', ['org_id', 'customer_id'], 'customers', [
        'org_id',
        'id',
      ]);
  }
  await issuals.execute();
  await copyAndSwap(db, 'issuals', ISSUAL_COLUMNS);
  await issualIndexes(db);
}

async function copyAndSwap(db: Kysely<any>, table: string, columns: readonly string[]): Promise<void> {
  const list = sql.join(columns.map((c) => sql.id(c)));
  await sql`insert into ${sql.id(`${table}_rebuild`)} (${list}) select ${list} from ${sql.id(table)}`.execute(
    db,
  );
  await db.schema.dropTable(table).execute();
  await db.schema.alterTable(`${table}_rebuild`).renameTo(table).execute();
}

async function issualIndexes(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('issuals_active_uq')
    .on('issuals')
    .columns(['org_id', 'promotion_id', 'customer_id'])
    .unique()
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('issuals_customer_idx')
    .on('issuals')
    .columns(['org_id', 'promotion_id', 'customer_id'])
    .execute();
  await db.schema
    .createIndex('issuals_report_idx')
    .on('issuals')
    .columns(['org_id', 'promotion_id', 'id'])
    .execute();
}

async function earnIndexes(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('earns_customer_idx')
    .on('earns')
    .columns(['org_id', 'promotion_id', 'customer_id'])
    .execute();
  await db.schema.createIndex('earns_issual_idx').on('earns').columns(['org_id', 'issual_id']).execute();
}

export async function up(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return rebuildSqlite(db, false);
  await db.schema.alterTable('earns').dropConstraint('earns_issual_fk').execute();
  await db.schema.alterTable('issuals').dropConstraint('issuals_promotion_fk').execute();
  await db.schema.alterTable('issuals').dropConstraint('issuals_customer_fk').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return rebuildSqlite(db, true);
  await db.schema
    .alterTable('issuals')
    .addForeignKeyConstraint('issuals_promotion_fk', ['org_id', 'promotion_id'], 'promotions', [
      'org_id',
      'id',
    ])
    .execute();
  await db.schema
    .alterTable('issuals')
    .addForeignKeyConstraint('issuals_customer_fk', ['org_id', 'customer_id'], 'customers', ['org_id', 'id'])
    .execute();
  await db.schema
    .alterTable('earns')
    .addForeignKeyConstraint('earns_issual_fk', ['org_id', 'issual_id'], 'issuals', ['org_id', 'id'])
    .execute();
}
