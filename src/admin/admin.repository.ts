import type { Insertable, Selectable, Updateable } from 'kysely';
import { sql } from 'kysely';
import { lockKind, type Store, type Trx, writeTransaction } from '../db/database.js';
import { advanceSequence, allocateIds, type SequenceName } from '../db/id-sequences.js';
import type { CustomersTable, PromotionsTable } from '../db/schema.js';
import { refreshStatistics } from '../db/statistics.js';
import { toPromotion } from '../promotions/promotion.mapper.js';
import type { Promotion } from '../promotions/promotion.model.js';
import {
  EARN_COLUMNS,
  type EarnRecord,
  ISSUAL_COLUMNS,
  type IssualRecord,
  toEarnRecord,
  toIssualRecord,
} from '../promotions/record.mapper.js';

// Both stores cap the number of bound parameters of one statement; rows are inserted in chunks of this.
const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The fields a customer is written with (created, or changed by a PATCH or an import). */
export interface CustomerInsert {
  id: number;
  mobile: string | null;
  email: string | null;
  externalId: string | null;
  sources: string[];
  programIds: number[];
}

/** A promotion as the management API keeps it: the domain record and when it was made and changed. */
export interface StoredPromotion extends Promotion {
  createdAt: number;
  updatedAt: number;
}

export type PromotionChanges = Partial<Omit<StoredPromotion, 'id' | 'programId' | 'createdAt'>>;

// The domain part is the promotions' own row mapper; the management API adds the timestamps.
function promotionFromRow(row: Selectable<PromotionsTable>): StoredPromotion {
  return { ...toPromotion(row), createdAt: row.created_at, updatedAt: row.updated_at };
}

const PROMOTION_COLUMN_OF = {
  promoIdentifier: 'promo_identifier',
  name: 'name',
  type: 'type',
  active: 'active',
  startAt: 'start_at',
  endAt: 'end_at',
  maxIssualsPerCustomer: 'max_issuals_per_customer',
  maxEarnsPerCustomer: 'max_earns_per_customer',
  updatedAt: 'updated_at',
} as const satisfies Record<keyof PromotionChanges, keyof PromotionsTable>;

function promotionChangesToRow(changes: PromotionChanges): Updateable<PromotionsTable> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    row[PROMOTION_COLUMN_OF[key as keyof PromotionChanges]] =
      typeof value === 'boolean' ? Number(value) : value;
  }
  return row as Updateable<PromotionsTable>;
}

export type { EarnRecord, IssualRecord } from '../promotions/record.mapper.js';

const CUSTOMER_COLUMN_OF = { mobile: 'mobile', email: 'email', externalId: 'external_id' } as const;
export type CustomerUniqueKey = keyof typeof CUSTOMER_COLUMN_OF;

export type AdminQueries = ReturnType<typeof queries>;
export type AdminRepository = ReturnType<typeof createAdminRepository>;

/** The management API's SQL, over the store or over one of its transactions. */
export function createAdminRepository(store: Store) {
  return {
    ...queries(store, store.db),
    /** After a bulk import: fresh planner statistics for the tables it grew (PostgreSQL). */
    refreshStatistics: () => refreshStatistics(store),
    transaction<T>(fn: (repo: AdminQueries) => Promise<T>): Promise<T> {
      return writeTransaction(store, (trx) => fn(queries(store, trx)));
    },
  };
}

/** The queries over the store or one of its transactions (the directory's transactions share them). */
export function queries(store: Store, db: Trx) {
  const { dialect } = store;

  return {
    async nextIds(name: SequenceName, count: number): Promise<number[]> {
      return (await allocateIds(db, dialect, { [name]: count }))[name];
    },

    advanceSequence(name: SequenceName, maxId: number): Promise<void> {
      return advanceSequence(db, dialect, name, maxId);
    },

    /** Serialises writers of one kind of deployment-wide name (ids given by an operator, logins). */
    lockKind(kind: string): Promise<void> {
      return lockKind(db, dialect, kind);
    },

    async orgExists(orgId: number): Promise<boolean> {
      return (
        (await db.selectFrom('orgs').select('org_id').where('org_id', '=', orgId).executeTakeFirst()) !==
        undefined
      );
    },

    async insertOrg(orgId: number, name: string, at: number): Promise<void> {
      await db.insertInto('orgs').values({ org_id: orgId, name, created_at: at }).execute();
    },

    /** Which of these ids some record of the table holds already, in any org. */
    async takenIds(table: 'programs' | 'promotions' | 'customers', ids: number[]): Promise<number[]> {
      const taken: number[] = [];
      for (const part of chunks(ids)) {
        const rows = await db.selectFrom(table).select('id').where('id', 'in', part).execute();
        taken.push(...rows.map((r) => r.id));
      }
      return taken;
    },

    async programExists(orgId: number, programId: number): Promise<boolean> {
      const row = await db
        .selectFrom('programs')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', '=', programId)
        .executeTakeFirst();
      return row !== undefined;
    },

    async existingProgramIds(orgId: number, ids: number[]): Promise<Set<number>> {
      if (ids.length === 0) return new Set();
      const rows = await db
        .selectFrom('programs')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', 'in', ids)
        .execute();
      return new Set(rows.map((r) => r.id));
    },

    async insertProgram(orgId: number, id: number, name: string, at: number): Promise<void> {
      await db.insertInto('programs').values({ org_id: orgId, id, name, created_at: at }).execute();
    },

    async findPromotion(orgId: number, id: number): Promise<StoredPromotion | undefined> {
      const row = await db
        .selectFrom('promotions')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && promotionFromRow(row);
    },

    async promoIdentifierOwner(orgId: number, promoIdentifier: string): Promise<number | undefined> {
      const row = await db
        .selectFrom('promotions')
        .select('id')
        .where('org_id', '=', orgId)
        .where('promo_identifier', '=', promoIdentifier)
        .executeTakeFirst();
      return row?.id;
    },

    async insertPromotion(orgId: number, promotion: StoredPromotion): Promise<void> {
      const { id, programId, createdAt, ...rest } = promotion;
      await db
        .insertInto('promotions')
        .values({
          org_id: orgId,
          id,
          program_id: programId,
          created_at: createdAt,
          ...promotionChangesToRow(rest),
        } as Insertable<PromotionsTable>)
        .execute();
    },

    async updatePromotion(orgId: number, id: number, changes: PromotionChanges): Promise<void> {
      await db
        .updateTable('promotions')
        .set(promotionChangesToRow(changes))
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute();
    },

    /** Values of one identifier column that customers of the org hold already. */
    async takenCustomerValues(orgId: number, key: CustomerUniqueKey, values: string[]): Promise<string[]> {
      const column = CUSTOMER_COLUMN_OF[key];
      const taken: string[] = [];
      for (const part of chunks(values)) {
        const rows = await db
          .selectFrom('customers')
          .select(column)
          .where('org_id', '=', orgId)
          .where(column, 'in', part)
          .execute();
        for (const row of rows) {
          const value = (row as Record<string, unknown>)[column];
          if (typeof value === 'string') taken.push(value);
        }
      }
      return taken;
    },

    async insertCustomers(orgId: number, customers: CustomerInsert[], at: number): Promise<void> {
      for (const part of chunks(customers)) {
        const rows: Insertable<CustomersTable>[] = part.map((c) => ({
          org_id: orgId,
          id: c.id,
          mobile: c.mobile,
          email: c.email,
          external_id: c.externalId,
          created_at: at,
        }));
        await db.insertInto('customers').values(rows).execute();
      }
      const sources = customers.flatMap((c) =>
        c.sources.map((source) => ({ org_id: orgId, customer_id: c.id, source })),
      );
      for (const part of chunks(sources)) await db.insertInto('customer_sources').values(part).execute();
      const members = customers.flatMap((c) =>
        c.programIds.map((programId) => ({ org_id: orgId, program_id: programId, customer_id: c.id })),
      );
      for (const part of chunks(members)) await db.insertInto('program_members').values(part).execute();
    },

    /** One page of a promotion's issuals, oldest first, after the issual id `after`. */
    async issualPage(
      orgId: number,
      promotionId: number,
      after: number,
      limit: number,
    ): Promise<IssualRecord[]> {
      const rows = await db
        .selectFrom('issuals')
        .select(ISSUAL_COLUMNS)
        .where('org_id', '=', orgId)
        .where('promotion_id', '=', promotionId)
        .where('id', '>', after)
        // The condition of the partial issuals_report_idx, written as a literal so that every plan,
        // generic ones too, may use that index; the bulk path never names it (migration 2026-11-30-0001).
        .where('id', '>', sql.lit(0))
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toIssualRecord);
    },

    async earnsOfIssuals(orgId: number, issualIds: number[]): Promise<EarnRecord[]> {
      if (issualIds.length === 0) return [];
      const rows = await db
        .selectFrom('earns')
        .select(EARN_COLUMNS)
        .where(dialect.keyedRows('earns', 'earns', orgId, 'issual_id', issualIds))
        .execute();
      // Sorted here: ORDER BY id made SQLite without statistics walk the org's earns in id order.
      rows.sort((a, b) => a.id - b.id);
      return rows.map(toEarnRecord);
    },

    /** Is there any org at all? (The demo data goes only into an empty database.) */
    async isEmpty(): Promise<boolean> {
      return (await db.selectFrom('orgs').select('org_id').limit(1).executeTakeFirst()) === undefined;
    },
  };
}
