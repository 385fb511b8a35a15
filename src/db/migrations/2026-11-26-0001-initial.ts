import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Ids that the store assigns, one counter per kind. PostgreSQL has real sequences; SQLite keeps a
// counter row per kind, which is safe there because SQLite runs one write transaction at a time.
const SEQUENCES = ['orgs', 'programs', 'promotions', 'customers', 'issuals', 'earns', 'audit'] as const;

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

// Ids given by an operator must be unique across the deployment, not just the org; this non-unique
// index lets the management API check that without a scan. Keys and unique indexes lead with org_id.
async function globalIdIndex(db: Kysely<any>, table: string): Promise<void> {
  await db.schema.createIndex(`${table}_id_idx`).on(table).column('id').execute();
}

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const bigint = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('orgs')
    .addColumn('org_id', bigint, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('programs')
    .addColumn('org_id', bigint, (c) => c.notNull().references('orgs.org_id'))
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('programs_pk', ['org_id', 'id'])
    .execute();

  await db.schema
    .createTable('promotions')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('program_id', bigint, (c) => c.notNull())
    .addColumn('promo_identifier', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('start_at', bigint)
    .addColumn('end_at', bigint)
    .addColumn('max_issuals_per_customer', 'integer')
    .addColumn('max_earns_per_customer', 'integer')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('promotions_pk', ['org_id', 'id'])
    .addForeignKeyConstraint('promotions_program_fk', ['org_id', 'program_id'], 'programs', ['org_id', 'id'])
    .addCheckConstraint('promotions_type_ck', sql`type in ('ENROL_AND_ISSUE', 'DIRECT', 'GENERIC')`)
    .execute();
  await globalIdIndex(db, 'programs');
  await globalIdIndex(db, 'promotions');
  await db.schema
    .createIndex('promotions_identifier_uq')
    .on('promotions')
    .columns(['org_id', 'promo_identifier'])
    .unique()
    .execute();

  await db.schema
    .createTable('customers')
    .addColumn('org_id', bigint, (c) => c.notNull().references('orgs.org_id'))
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('mobile', 'text')
    .addColumn('email', 'text')
    .addColumn('external_id', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('customers_pk', ['org_id', 'id'])
    .execute();
  await globalIdIndex(db, 'customers');
  for (const column of ['mobile', 'email', 'external_id']) {
    await db.schema
      .createIndex(`customers_${column}_uq`)
      .on('customers')
      .columns(['org_id', column])
      .unique()
      .execute();
  }

  await db.schema
    .createTable('customer_sources')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('customer_id', bigint, (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('customer_sources_pk', ['org_id', 'customer_id', 'source'])
    .addForeignKeyConstraint('customer_sources_customer_fk', ['org_id', 'customer_id'], 'customers', [
      'org_id',
      'id',
    ])
    .execute();

  await db.schema
    .createTable('program_members')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('program_id', bigint, (c) => c.notNull())
    .addColumn('customer_id', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('program_members_pk', ['org_id', 'program_id', 'customer_id'])
    .addForeignKeyConstraint('program_members_program_fk', ['org_id', 'program_id'], 'programs', [
      'org_id',
      'id',
    ])
    .addForeignKeyConstraint('program_members_customer_fk', ['org_id', 'customer_id'], 'customers', [
      'org_id',
      'id',
    ])
    .execute();

  for (const [table, keyColumn] of [
    ['tills', 'username'],
    ['api_clients', 'client_key'],
  ] as const) {
    let builder = db.schema
      .createTable(table)
      .addColumn('org_id', bigint, (c) => c.notNull().references('orgs.org_id'))
      .addColumn(keyColumn, 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('customer_access', 'text', (c) => c.notNull())
      .addColumn('disabled_at', bigint)
      // Requests a minute this credential may make; null falls back to the server's setting.
      .addColumn('rate_limit_per_minute', 'integer')
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addColumn('updated_at', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['org_id', keyColumn])
      .addCheckConstraint(`${table}_access_ck`, sql`customer_access in ('NONE', 'READ', 'WRITE')`);
    if (table === 'api_clients') {
      builder = builder.addColumn('token_ttl_seconds', 'integer', (c) => c.notNull().defaultTo(300));
    }
    await builder.execute();
    // A login names no org, so it is found by its name alone; the admin service keeps names unique.
    await db.schema.createIndex(`${table}_${keyColumn}_idx`).on(table).column(keyColumn).execute();
  }

  // Keys that sign an org's OAuth tokens when the operator configures none: kept in the store so that
  // tokens survive restarts and every server process of a deployment accepts them.
  await db.schema
    .createTable('oauth_keys')
    .addColumn('org_id', bigint, (c) => c.notNull().references('orgs.org_id'))
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_keys_pk', ['org_id', 'kid'])
    .execute();

  await db.schema
    .createTable('issuals')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('promotion_id', bigint, (c) => c.notNull())
    .addColumn('customer_id', bigint, (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('revoked_at', bigint)
    .addColumn('revoked_by', 'text')
    .addPrimaryKeyConstraint('issuals_pk', ['org_id', 'id'])
    .addForeignKeyConstraint('issuals_promotion_fk', ['org_id', 'promotion_id'], 'promotions', [
      'org_id',
      'id',
    ])
    .addForeignKeyConstraint('issuals_customer_fk', ['org_id', 'customer_id'], 'customers', ['org_id', 'id'])
    .execute();
  // The rule "at most one active issual per customer and promotion", enforced by the store itself.
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

  await db.schema
    .createTable('earns')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('issual_id', bigint, (c) => c.notNull())
    .addColumn('promotion_id', bigint, (c) => c.notNull())
    .addColumn('customer_id', bigint, (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('revoked_at', bigint)
    .addColumn('revoked_by', 'text')
    .addPrimaryKeyConstraint('earns_pk', ['org_id', 'id'])
    .addForeignKeyConstraint('earns_issual_fk', ['org_id', 'issual_id'], 'issuals', ['org_id', 'id'])
    .execute();
  await db.schema
    .createIndex('earns_customer_idx')
    .on('earns')
    .columns(['org_id', 'promotion_id', 'customer_id'])
    .execute();
  await db.schema.createIndex('earns_issual_idx').on('earns').columns(['org_id', 'issual_id']).execute();

  // Responses kept for replay: a retry with the same Idempotency-Key gets the first answer back.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['org_id', 'credential', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_created_idx')
    .on('idempotency_keys')
    .columns(['org_id', 'created_at'])
    .execute();

  // Every management action: who, what, when. org_id 0 marks actions on the deployment itself.
  await db.schema
    .createTable('audit_log')
    .addColumn('org_id', bigint, (c) => c.notNull())
    .addColumn('id', bigint, (c) => c.notNull())
    .addColumn('at', bigint, (c) => c.notNull())
    .addColumn('who', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_log_pk', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('audit_log_id_idx').on('audit_log').column('id').execute();

  if (pg) {
    for (const name of SEQUENCES) await sql`create sequence ${sql.id(`${name}_id_seq`)}`.execute(db);
  } else {
    await db.schema
      .createTable('id_sequences')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'integer', (c) => c.notNull())
      .execute();
    await db
      .insertInto('id_sequences')
      .values(SEQUENCES.map((name) => ({ name, value: 0 })))
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    for (const name of SEQUENCES) await sql`drop sequence if exists ${sql.id(`${name}_id_seq`)}`.execute(db);
  } else {
    await db.schema.dropTable('id_sequences').ifExists().execute();
  }
  for (const table of [
    'audit_log',
    'idempotency_keys',
    'earns',
    'issuals',
    'oauth_keys',
    'api_clients',
    'tills',
    'program_members',
    'customer_sources',
    'customers',
    'promotions',
    'programs',
    'orgs',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
