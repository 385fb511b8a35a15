import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import { oneOf, type Store, type Trx, writeTransaction } from '../db/database.js';
import { allocateIds } from '../db/id-sequences.js';
import type { PromotionsTable } from '../db/schema.js';
import type { PromotionRef } from './bulk-request.js';
import { findReplay, type IdempotencyKey, type StoredReplay, saveReplay } from './idempotency.repository.js';
import type { IdentifierName, Promotion } from './promotion.model.js';

export interface CustomerMatch {
  id: number;
  /** The identifier value as stored, which the request's normalised value matched. */
  key: string | number;
  member: boolean;
  sources: Set<string>;
}

export interface CustomerState {
  /** Every issual the customer ever had in the promotion, revoked ones included. */
  totalIssuals: number;
  activeIssualId: number | null;
  /** Unrevoked earns in the promotion; counted only when asked for (0 otherwise). */
  activeEarns: number;
}

interface RecordBase {
  id: number;
  promotionId: number;
  customerId: number;
  source: string;
}
export type NewIssual = RecordBase;
export interface NewEarn extends RecordBase {
  issualId: number;
}

/** Who wrote a record and when: stored on every issual and earn. */
export interface WriteStamp {
  orgId: number;
  at: number;
  by: string;
  requestId: string;
}

const IDENTIFIER_COLUMNS = { id: 'c.id', mobile: 'c.mobile', email: 'c.email' } as const;

/** Every column of a promotion, named (a named prepared statement must not select `*`). */
export const PROMOTION_COLUMNS = [
  'org_id',
  'id',
  'program_id',
  'promo_identifier',
  'name',
  'type',
  'active',
  'start_at',
  'end_at',
  'max_issuals_per_customer',
  'max_earns_per_customer',
  'created_at',
  'updated_at',
] as const;

export function toPromotion(row: Selectable<PromotionsTable>): Promotion {
  return {
    id: row.id,
    programId: row.program_id,
    promoIdentifier: row.promo_identifier,
    name: row.name,
    type: row.type,
    active: row.active === 1,
    startAt: row.start_at,
    endAt: row.end_at,
    maxIssualsPerCustomer: row.max_issuals_per_customer,
    maxEarnsPerCustomer: row.max_earns_per_customer,
  };
}

/** The statements of one bulk request, all inside one write transaction. */
export interface EnrolmentTx {
  findCustomers(
    orgId: number,
    programId: number,
    identifierName: IdentifierName,
    keys: (string | number)[],
  ): Promise<CustomerMatch[]>;
  /** Serialises concurrent requests for the same customers of a promotion until this transaction ends. */
  lockCustomers(promotionId: number, customerIds: number[]): Promise<void>;
  /** Each customer's issuals in the promotion, and with `countEarns` their active earns, in one statement. */
  customerStates(
    orgId: number,
    promotionId: number,
    customerIds: number[],
    countEarns: boolean,
  ): Promise<Map<number, CustomerState>>;
  /** The customers' active (unrevoked) earns in the promotion, oldest first. */
  activeEarns(orgId: number, promotionId: number, customerIds: number[]): Promise<ActiveEarn[]>;
  allocateIds(issuals: number, earns: number): Promise<{ issuals: number[]; earns: number[] }>;
  insert(stamp: WriteStamp, issuals: NewIssual[], earns: NewEarn[]): Promise<void>;
  /** Marks issuals and earns revoked, with when and by whom; nothing is deleted. */
  revoke(stamp: WriteStamp, issualIds: number[], earnIds: number[]): Promise<void>;
}

export interface ActiveEarn {
  id: number;
  issualId: number;
  customerId: number;
}

export type EnrolmentRepository = ReturnType<typeof createEnrolmentRepository>;

function lockKey(promotionId: number, customerId: number): bigint {
  return BigInt.asIntN(64, (BigInt(promotionId) << 32n) ^ BigInt(customerId));
}

interface StateRow {
  customer_id: number;
  total: number | null;
  active_id: number | null;
  active_earns: number | null;
}

type StatesQuery = (
  trx: Trx,
  orgId: number,
  promotionId: number,
  customerIds: number[],
  countEarns: boolean,
) => Promise<StateRow[]>;

/**
 * One row a customer, one statement: a lateral subquery reads the count and the active id in one
 * index probe, and the earns are counted beside it. Probes per customer rather than a join, so that
 * no statistics can turn it into a scan of the promotion's issuals (see findCustomers).
 */
const postgresStates: StatesQuery = async (trx, orgId, promotionId, customerIds, countEarns) => {
  const earns = countEarns
    ? sql`(select count(*) from earns e where e.org_id = ${orgId} and e.promotion_id = ${promotionId}
        and e.customer_id = k.customer_id and e.revoked_at is null)`
    : sql`null`;
  const { rows } = await sql<StateRow>`
    select k.customer_id, s.total, s.active_id, ${earns} as active_earns
    from unnest(${customerIds}::bigint[]) as k(customer_id)
    cross join lateral (select count(*) as total, max(i.id) filter (where i.revoked_at is null) as active_id
      from issuals i where i.org_id = ${orgId} and i.promotion_id = ${promotionId}
        and i.customer_id = k.customer_id) s`.execute(trx);
  return rows;
};

/**
 * SQLite's statements cost no round trip, only their own work, and there grouping the customers'
 * index entries costs less than a correlated probe per customer (about 190 against 250 µs for 100):
 * a row for each customer who has issuals (or earns); the caller fills in the rest.
 */
const sqliteStates: StatesQuery = async (trx, orgId, promotionId, customerIds, countEarns) => {
  const ids = JSON.stringify(customerIds);
  const { rows } = await sql<StateRow>`
    select customer_id, count(*) as total, max(case when revoked_at is null then id end) as active_id,
      null as active_earns
    from issuals where org_id = ${orgId} and promotion_id = ${promotionId}
      and customer_id in (select value from json_each(${ids}))
    group by customer_id`.execute(trx);
  if (!countEarns) return rows;
  const earns = await sql<StateRow>`
    select customer_id, null as total, null as active_id, count(*) as active_earns
    from earns where org_id = ${orgId} and promotion_id = ${promotionId} and revoked_at is null
      and customer_id in (select value from json_each(${ids}))
    group by customer_id`.execute(trx);
  return [...rows, ...earns.rows];
};

export function createEnrolmentRepository(store: Store) {
  const { db, dialect } = store;

  function tx(trx: Trx): EnrolmentTx {
    return {
      async findCustomers(orgId, programId, identifierName, keys) {
        if (keys.length === 0) return [];
        const column = IDENTIFIER_COLUMNS[identifierName];
        // Membership and sources are correlated subqueries, not joins: whatever the statistics say,
        // each is a few index probes per customer, never a scan of the org's members.
        const sources =
          dialect === 'postgres'
            ? sql<string | null>`array_to_string(array(select s.source from customer_sources s
                where s.org_id = c.org_id and s.customer_id = c.id), ',')`
            : sql<string | null>`(select group_concat(s.source, ',') from customer_sources s
                where s.org_id = c.org_id and s.customer_id = c.id)`;
        // A raw statement: this runs on every request, and building it with the query builder cost
        // more than running it.
        const { rows } = await sql<{
          id: number;
          key: string | number;
          member: unknown;
          sources: string | null;
        }>`
          select c.id, ${sql.ref(column)} as key,
            exists (select 1 from program_members m
              where m.org_id = c.org_id and m.program_id = ${programId} and m.customer_id = c.id) as member,
            ${sources} as sources
          from customers c
          where c.org_id = ${orgId} and ${oneOf(dialect, column, keys)}`.execute(trx);
        return rows.map((row) => ({
          id: row.id,
          key: row.key as string | number,
          member: row.member === true || Number(row.member) === 1,
          sources: new Set(row.sources ? row.sources.split(',') : []),
        }));
      },

      async lockCustomers(promotionId, customerIds) {
        // SQLite needs nothing: the transaction took the database's write lock when it began.
        if (dialect !== 'postgres' || customerIds.length === 0) return;
        // Sorted so that two requests over overlapping customers always lock in the same order.
        const keys = [...new Set(customerIds.map((id) => lockKey(promotionId, id)))]
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
          .map(String);
        await sql`select pg_advisory_xact_lock(k) from unnest(${keys}::bigint[]) as t(k)`.execute(trx);
      },

      async customerStates(orgId, promotionId, customerIds, countEarns) {
        const states = new Map<number, CustomerState>();
        if (customerIds.length === 0) return states;
        for (const id of customerIds)
          states.set(id, { totalIssuals: 0, activeIssualId: null, activeEarns: 0 });
        const rows =
          dialect === 'postgres'
            ? await postgresStates(trx, orgId, promotionId, customerIds, countEarns)
            : await sqliteStates(trx, orgId, promotionId, customerIds, countEarns);
        for (const row of rows) {
          const state = states.get(Number(row.customer_id));
          if (!state) continue;
          if (row.total !== null) state.totalIssuals = Number(row.total);
          if (row.active_id !== null) state.activeIssualId = Number(row.active_id);
          if (row.active_earns !== null) state.activeEarns = Number(row.active_earns);
        }
        return states;
      },

      async activeEarns(orgId, promotionId, customerIds) {
        if (customerIds.length === 0) return [];
        const rows = await trx
          .selectFrom('earns')
          .select(['id', 'issual_id', 'customer_id'])
          .where('org_id', '=', orgId)
          .where('promotion_id', '=', promotionId)
          .where(oneOf(dialect, 'customer_id', customerIds))
          .where('revoked_at', 'is', null)
          .orderBy('id')
          .execute();
        return rows.map((r) => ({ id: r.id, issualId: r.issual_id, customerId: r.customer_id }));
      },

      async revoke(stamp, issualIds, earnIds) {
        const revoked = { revoked_at: stamp.at, revoked_by: stamp.by };
        if (issualIds.length > 0) {
          await trx
            .updateTable('issuals')
            .set(revoked)
            .where('org_id', '=', stamp.orgId)
            .where(oneOf(dialect, 'id', issualIds))
            .where('revoked_at', 'is', null)
            .execute();
        }
        if (earnIds.length > 0) {
          await trx
            .updateTable('earns')
            .set(revoked)
            .where('org_id', '=', stamp.orgId)
            .where(oneOf(dialect, 'id', earnIds))
            .where('revoked_at', 'is', null)
            .execute();
        }
      },

      async allocateIds(issuals, earns) {
        return allocateIds(trx, dialect, { issuals, earns });
      },

      async insert(stamp, issuals, earns) {
        // Rows travel as a few array (PostgreSQL) or one JSON (SQLite) parameters rather than nine
        // parameters a row: one statement shape for any count, which the store compiles once.
        const stampColumns = sql`${stamp.orgId}, ${stamp.at}, ${stamp.by}, ${stamp.requestId}`;
        if (issuals.length > 0) {
          const rows =
            dialect === 'postgres'
              ? sql`select ${stampColumns}, r.id, r.promotion_id, r.customer_id, r.source
                  from unnest(${issuals.map((i) => i.id)}::bigint[], ${issuals.map((i) => i.promotionId)}::bigint[],
                    ${issuals.map((i) => i.customerId)}::bigint[], ${issuals.map((i) => i.source)}::text[])
                    as r(id, promotion_id, customer_id, source)`
              : sql`select ${stampColumns}, value ->> 0, value ->> 1, value ->> 2, value ->> 3
                  from json_each(${JSON.stringify(issuals.map((i) => [i.id, i.promotionId, i.customerId, i.source]))})`;
          await sql`insert into issuals (org_id, created_at, created_by, request_id, id, promotion_id, customer_id, source)
            ${rows}`.execute(trx);
        }
        if (earns.length > 0) {
          const rows =
            dialect === 'postgres'
              ? sql`select ${stampColumns}, r.id, r.issual_id, r.promotion_id, r.customer_id, r.source
                  from unnest(${earns.map((e) => e.id)}::bigint[], ${earns.map((e) => e.issualId)}::bigint[],
                    ${earns.map((e) => e.promotionId)}::bigint[], ${earns.map((e) => e.customerId)}::bigint[],
                    ${earns.map((e) => e.source)}::text[]) as r(id, issual_id, promotion_id, customer_id, source)`
              : sql`select ${stampColumns}, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
                  from json_each(${JSON.stringify(earns.map((e) => [e.id, e.issualId, e.promotionId, e.customerId, e.source]))})`;
          await sql`insert into earns (org_id, created_at, created_by, request_id, id, issual_id, promotion_id, customer_id, source)
            ${rows}`.execute(trx);
        }
      },
    };
  }

  return {
    /** The program (does it exist in the org?) and the promotion the reference names within it. */
    async findPromotion(
      orgId: number,
      programId: number,
      ref: PromotionRef,
    ): Promise<{ programExists: boolean; promotion: Promotion | null }> {
      const program = await db
        .selectFrom('programs as p')
        .leftJoin('promotions as pr', (join) => {
          let on = join.onRef('pr.org_id', '=', 'p.org_id').onRef('pr.program_id', '=', 'p.id');
          if (ref.promotionId === 'invalid') return on.on(sql.lit(false));
          if (ref.promotionId !== null) on = on.on('pr.id', '=', ref.promotionId);
          if (ref.promoIdentifier !== null) on = on.on('pr.promo_identifier', '=', ref.promoIdentifier);
          return on;
        })
        .select(PROMOTION_COLUMNS.map((c) => `pr.${c}` as const))
        .where('p.org_id', '=', orgId)
        .where('p.id', '=', programId)
        .executeTakeFirst();
      if (!program) return { programExists: false, promotion: null };
      if (program.id === null) return { programExists: true, promotion: null };
      return { programExists: true, promotion: toPromotion(program as never) };
    },

    /**
     * Runs `fn` in one write transaction. With an idempotency key, the answer is stored in the same
     * transaction, so it exists exactly when the writes do (IdempotencyRace if a twin stored first).
     */
    transaction<T>(
      fn: (tx: EnrolmentTx) => Promise<T>,
      idempotency?: IdempotencyKey & { now: number },
    ): Promise<T> {
      return writeTransaction(store, async (trx) => {
        const result = await fn(tx(trx));
        if (idempotency) await saveReplay(trx, idempotency, result, idempotency.now);
        return result;
      });
    },

    findReplay(idempotency: IdempotencyKey, now: number): Promise<StoredReplay | undefined> {
      return findReplay(db, idempotency, now);
    },
  };
}
