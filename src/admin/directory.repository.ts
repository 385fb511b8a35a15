import { sql } from 'kysely';
import {
  CREDENTIAL_COLUMNS,
  CREDENTIAL_TABLES,
  type CredentialKind,
  toCredential,
} from '../auth/credential.repository.js';
import type { PromotionState } from '../contract/enums.contract.js';
import { type Dialect, type Store, type Trx, writeTransaction } from '../db/database.js';
import type { PromotionType } from '../db/schema.js';
import { toPromotion } from '../promotions/promotion.mapper.js';
import { ISSUAL_COLUMNS, type IssualRecord, toIssualRecord } from '../promotions/record.mapper.js';
import {
  type AdminQueries,
  queries as adminQueries,
  type CustomerInsert,
  type StoredPromotion,
} from './admin.repository.js';
import { countQueries } from './counts.repository.js';

/** A row of a list: its key and what the list shows. */
export interface NamedRecord {
  id: number;
  name: string;
  createdAt: number;
}

export interface PromotionFilter {
  programId?: number | undefined;
  type?: PromotionType | undefined;
  state?: PromotionState | undefined;
  /** Lower-cased part of the name. */
  name?: string | undefined;
  now: number;
}

/** A customer as the directory shows it: its fields, and when it was made (and deleted). */
export interface StoredCustomer extends CustomerInsert {
  createdAt: number;
  deletedAt: number | null;
}

export type CustomerLookup = 'id' | 'mobile' | 'email' | 'externalId';
const LOOKUP_COLUMN = { id: 'id', mobile: 'mobile', email: 'email', externalId: 'external_id' } as const;

const split = (text: string | null): string[] => (text ? text.split(',') : []);
const like = (part: string) => `%${part.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export type DirectoryQueries = ReturnType<typeof directoryQueries>;
/** A customer changed between a chunk's read and its write: the chunk is rolled back and run again. */
export class ConcurrentChange extends Error {
  constructor() {
    super('a customer changed while this change was written');
  }
}

export type DirectoryRepository = ReturnType<typeof createDirectoryRepository>;

/** The SQL of the management API's lists, searches, changes and counts. Key-set pages on the key. */
export function createDirectoryRepository(store: Store) {
  return {
    ...directoryQueries(store.db, store.dialect),
    /** One write transaction, with the admin repository's queries over it too. */
    transaction<T>(fn: (repo: DirectoryQueries, admin: AdminQueries) => Promise<T>): Promise<T> {
      return writeTransaction(store, (trx) =>
        fn(directoryQueries(trx, store.dialect), adminQueries(store, trx)),
      );
    },
  };
}

export function directoryQueries(db: Trx, dialect: Dialect) {
  return {
    async orgs(after: number, limit: number): Promise<NamedRecord[]> {
      const rows = await db
        .selectFrom('orgs')
        .select(['org_id', 'name', 'created_at'])
        .where('org_id', '>', after)
        .orderBy('org_id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.org_id, name: r.name, createdAt: r.created_at }));
    },

    async renameOrg(orgId: number, name: string): Promise<boolean> {
      const res = await db.updateTable('orgs').set({ name }).where('org_id', '=', orgId).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },

    async programs(orgId: number, after: number, limit: number, only?: number): Promise<NamedRecord[]> {
      const rows = await db
        .selectFrom('programs')
        .select(['id', 'name', 'created_at'])
        .where('org_id', '=', orgId)
        .where('id', '>', after)
        .$if(only !== undefined, (q) => q.where('id', '=', only as number))
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
    },

    async renameProgram(orgId: number, programId: number, name: string): Promise<boolean> {
      const res = await db
        .updateTable('programs')
        .set({ name })
        .where('org_id', '=', orgId)
        .where('id', '=', programId)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },

    /** A page of promotions; the state is the one of `filter.now` (see docs/management-api.md). */
    async promotions(
      orgId: number,
      f: PromotionFilter,
      after: number,
      limit: number,
    ): Promise<StoredPromotion[]> {
      const now = f.now;
      const ended = sql<boolean>`(end_at is not null and end_at < ${now})`;
      const state = {
        ended,
        paused: sql<boolean>`(not ${ended} and active = 0)`,
        upcoming: sql<boolean>`(not ${ended} and active = 1 and start_at is not null and start_at > ${now})`,
        live: sql<boolean>`(not ${ended} and active = 1 and (start_at is null or start_at <= ${now}))`,
      };
      const rows = await db
        .selectFrom('promotions')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '>', after)
        .$if(f.programId !== undefined, (q) => q.where('program_id', '=', f.programId as number))
        .$if(f.type !== undefined, (q) => q.where('type', '=', f.type as PromotionType))
        .$if(f.state !== undefined, (q) => q.where(state[f.state as PromotionState]))
        .$if(f.name !== undefined, (q) =>
          q.where(sql<boolean>`lower(name) like ${like(f.name as string)} escape '\\'`),
        )
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        ...toPromotion(row),
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      }));
    },

    async credentials(kind: CredentialKind, orgId: number, after: string, limit: number, only?: string) {
      const { table, name } = CREDENTIAL_TABLES[kind];
      let q = db
        .selectFrom(table)
        .select([`${name} as name`, ...CREDENTIAL_COLUMNS] as never[])
        .$if(kind === 'apiClient', (qb) => qb.select('token_ttl_seconds' as never))
        .where('org_id' as never, '=', orgId as never)
        .where(name as never, '>', after as never);
      if (only !== undefined) q = q.where(name as never, '=', only as never);
      const rows = (await q
        .orderBy(name as never)
        .limit(limit)
        .execute()) as Record<string, unknown>[];
      // Without its secret: the directory never reads it.
      return rows.map((row) => toCredential({ ...row, org_id: orgId, secret_hash: '' }));
    },

    /** A page of the org's customers (deleted ones are not among them), ids ascending. */
    async customerIds(orgId: number, after: number, limit: number): Promise<number[]> {
      const rows = await db
        .selectFrom('customers')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', '>', after)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },

    /** The customer holding an identifier (normalised as stored), one index probe. */
    async findCustomerId(
      orgId: number,
      by: CustomerLookup,
      value: string | number,
    ): Promise<number | undefined> {
      const row = await db
        .selectFrom('customers')
        .select('id')
        .where('org_id', '=', orgId)
        .where(LOOKUP_COLUMN[by], '=', value as never)
        .executeTakeFirst();
      return row?.id;
    },

    /** Customers with their sources and programs, in the order of `ids`; unknown ids are left out. */
    async customers(orgId: number, ids: readonly number[]): Promise<StoredCustomer[]> {
      if (ids.length === 0) return [];
      const sources = dialect.textList(
        's.source',
        sql`from customer_sources s where s.org_id = c.org_id and s.customer_id = c.id`,
      );
      const programs = dialect.textList(
        'm.program_id',
        sql`from program_members m where m.org_id = c.org_id and m.customer_id = c.id`,
      );
      const rows = await db
        .selectFrom('customers as c')
        .select(['c.id', 'c.mobile', 'c.email', 'c.external_id', 'c.created_at'])
        .select([sources.as('sources'), programs.as('programs')])
        .where(dialect.keyedRows('customers', 'c', orgId, 'id', ids))
        .execute();
      const byId = new Map(
        rows.map((r) => [
          r.id,
          {
            id: r.id,
            mobile: r.mobile,
            email: r.email,
            externalId: r.external_id,
            sources: split(r.sources).sort(),
            programIds: split(r.programs)
              .map(Number)
              .sort((a, b) => a - b),
            createdAt: r.created_at,
            deletedAt: null,
          },
        ]),
      );
      return ids.flatMap((id) => byId.get(id) ?? []);
    },

    async deletedCustomer(orgId: number, id: number): Promise<StoredCustomer | undefined> {
      const r = await db
        .selectFrom('deleted_customers')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!r) return undefined;
      return {
        id: r.id,
        mobile: r.mobile,
        email: r.email,
        externalId: r.external_id,
        sources: split(r.sources),
        programIds: split(r.program_ids).map(Number),
        createdAt: r.created_at,
        deletedAt: r.deleted_at,
      };
    },

    /** Moves a customer to deleted_customers: no lookup finds it, its identifiers are free again. */
    async softDeleteCustomer(orgId: number, customer: StoredCustomer, at: number): Promise<void> {
      await db
        .insertInto('deleted_customers')
        .values({
          org_id: orgId,
          id: customer.id,
          mobile: customer.mobile,
          email: customer.email,
          external_id: customer.externalId,
          sources: customer.sources.join(','),
          program_ids: customer.programIds.join(','),
          created_at: customer.createdAt,
          deleted_at: at,
        })
        .execute();
      await db
        .deleteFrom('customer_sources')
        .where('org_id', '=', orgId)
        .where('customer_id', '=', customer.id)
        .execute();
      await db
        .deleteFrom('program_members')
        .where('org_id', '=', orgId)
        .where('customer_id', '=', customer.id)
        .execute();
      await db.deleteFrom('customers').where('org_id', '=', orgId).where('id', '=', customer.id).execute();
    },

    /** Sets each customer's identifiers and replaces its sources and programs: five statements in all. */
    async updateCustomers(orgId: number, customers: readonly CustomerInsert[]): Promise<void> {
      if (customers.length === 0) return;
      const ids = customers.map((c) => c.id);
      const pick = (column: 'mobile' | 'email' | 'externalId') =>
        sql`case ${sql.join(
          customers.map((c) => sql`when id = ${c.id} then ${c[column]}`),
          sql` `,
        )} end`;
      const updated = await db
        .updateTable('customers')
        .set({ mobile: pick('mobile'), email: pick('email'), external_id: pick('externalId') } as never)
        .where(dialect.keyedRows('customers', 'customers', orgId, 'id', ids))
        .executeTakeFirst();
      // On PostgreSQL the rows are found by their address: a customer another transaction changed since
      // this statement's snapshot has a new one and is skipped, so a short count means a lost write.
      if (Number(updated.numUpdatedRows) !== customers.length) throw new ConcurrentChange();
      for (const table of ['customer_sources', 'program_members'] as const) {
        await db
          .deleteFrom(table)
          .where(dialect.keyedRows(table, table, orgId, 'customer_id', ids))
          .execute();
      }
      const sources = customers.flatMap((c) =>
        c.sources.map((source) => ({ org_id: orgId, customer_id: c.id, source })),
      );
      if (sources.length > 0) await db.insertInto('customer_sources').values(sources).execute();
      const members = customers.flatMap((c) =>
        c.programIds.map((program_id) => ({ org_id: orgId, program_id, customer_id: c.id })),
      );
      if (members.length > 0) await db.insertInto('program_members').values(members).execute();
    },

    /** Who holds these identifier values in the org, as `key:value` -> customer id. */
    async holders(orgId: number, key: 'mobile' | 'email' | 'externalId', values: readonly string[]) {
      const out = new Map<string, number>();
      if (values.length === 0) return out;
      const column = LOOKUP_COLUMN[key];
      const rows = await db
        .selectFrom('customers')
        .select(['id', `${column} as value`] as never[])
        .where(dialect.keyedRows('customers', 'customers', orgId, column, values))
        .execute();
      for (const r of rows as { id: number; value: string }[]) out.set(`${key}:${r.value}`, r.id);
      return out;
    },

    /** Which of these ids a deleted customer holds (ids stay unique across the deployment). */
    async deletedIds(ids: readonly number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      const rows = await db
        .selectFrom('deleted_customers')
        .select('id')
        .where('id', 'in', ids as number[])
        .execute();
      return rows.map((r) => r.id);
    },

    /** The customer's issuals in every promotion, oldest first (issuals_customer_id_idx, partial on id > 0). */
    async issualsOfCustomer(orgId: number, customerId: number): Promise<IssualRecord[]> {
      const rows = await db
        .selectFrom('issuals')
        .select(ISSUAL_COLUMNS)
        .where('org_id', '=', orgId)
        .where('customer_id', '=', customerId)
        .where('id', '>', sql.lit(0))
        .orderBy('id')
        .execute();
      return rows.map(toIssualRecord);
    },

    ...countQueries(db),
  };
}
