import { type CompiledQuery, type RawBuilder, type Selectable, sql } from 'kysely';
import type { CustomerIdentifierName } from '../contract/enums.contract.js';
import { type Store, type Trx, writeTransaction } from '../db/database.js';
import type { SourceColumn } from '../db/dialect/store-dialect.js';
import { runFixed } from '../db/fixed-statement.js';
import { allocateIds } from '../db/id-sequences.js';
import type { PromotionsTable } from '../db/schema.js';
import type { NewEvent } from '../events/event.model.js';
import { createOutbox } from '../events/outbox.repository.js';
import type { PromotionRef } from './bulk-request.js';
import { findReplay, type IdempotencyKey, type StoredReplay, saveReplay } from './idempotency.repository.js';
import { IDENTIFIER_COLUMNS, PROMOTION_COLUMNS, toPromotion } from './promotion.mapper.js';
import type { Promotion } from './promotion.model.js';
import type { CountDelta } from './promotion-counts.plan.js';
import { promotionCountsUpsert } from './promotion-counts.repository.js';

export interface CustomerMatch {
  id: number;
  /** The identifier value as stored, which the request's normalised value matched. */
  key: string | number;
  member: boolean;
  /** Its registered sources (a few at most, so a list rather than a set a customer). */
  sources: readonly string[];
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

/** The statements of one bulk request, all inside one write transaction. */
export interface EnrolmentTx {
  /**
   * The customers the keys name, each locked in the promotion until this transaction ends: a
   * concurrent request for the same customers of the promotion waits here, before reading their states.
   */
  findCustomers(
    orgId: number,
    programId: number,
    identifierName: CustomerIdentifierName,
    keys: (string | number)[],
    promotionId: number,
  ): Promise<CustomerMatch[]>;
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
  /** Marks issuals and earns revoked, with when and by whom; nothing is deleted. */
  revoke(stamp: WriteStamp, issualIds: number[], earnIds: number[]): Promise<void>;
  /**
   * What the request writes once planned, sent together (StoreDialect.runWrites: one statement and
   * one round trip on PostgreSQL): its new records, their events into the outbox, and its promotion's
   * counters (the management API's counts).
   */
  write(stamp: WriteStamp, promotionId: number, writes: RequestWrites): Promise<void>;
}

/** A request's writes after its plan; any part may be empty. */
export interface RequestWrites {
  issuals: readonly NewIssual[];
  earns: readonly NewEarn[];
  events: readonly NewEvent[];
  /** Added to the promotion's counters of the day; null when the request changed none. */
  counts: CountDelta | null;
}

export interface ActiveEarn {
  id: number;
  issualId: number;
  customerId: number;
}

export type EnrolmentRepository = ReturnType<typeof createEnrolmentRepository>;

const ISSUAL_SOURCE: readonly SourceColumn[] = [
  { name: 'id', type: 'bigint' },
  { name: 'promotion_id', type: 'bigint' },
  { name: 'customer_id', type: 'bigint' },
  { name: 'source', type: 'text' },
];
const EARN_SOURCE: readonly SourceColumn[] = [
  { name: 'id', type: 'bigint' },
  { name: 'issual_id', type: 'bigint' },
  { name: 'promotion_id', type: 'bigint' },
  { name: 'customer_id', type: 'bigint' },
  { name: 'source', type: 'text' },
];

// The promotion's columns, null when the program has no such promotion (a left join).
type PromotionRow = { [K in keyof Selectable<PromotionsTable>]: Selectable<PromotionsTable>[K] | null };
const PROMOTION_SELECT = sql.raw(PROMOTION_COLUMNS.map((c) => `pr.${c}`).join(', '));
const NO_MATCH = sql` and false`;

/**
 * The join condition that picks the promotion `ref` names (by id, identifier or both): its shape, its
 * values, and the condition itself (built only when its shape is first compiled).
 */
function promotionMatch(ref: PromotionRef): {
  shape: string;
  values: unknown[];
  match: () => RawBuilder<unknown>;
} {
  const { promotionId: id, promoIdentifier: identifier } = ref;
  if (id === 'invalid') return { shape: 'none', values: [], match: () => NO_MATCH };
  return {
    shape: `${id !== null} ${identifier !== null}`,
    values: [id, identifier].filter((v) => v !== null),
    match: () => {
      const byId = id === null ? sql`` : sql` and pr.id = ${id}`;
      const byIdentifier = identifier === null ? sql`` : sql` and pr.promo_identifier = ${identifier}`;
      return sql`${byId}${byIdentifier}`;
    },
  };
}

export function createEnrolmentRepository(store: Store) {
  const { db, dialect } = store;
  const outbox = createOutbox(dialect);

  function tx(trx: Trx): EnrolmentTx {
    return {
      async findCustomers(orgId, programId, identifierName, keys, promotionId) {
        if (keys.length === 0) return [];
        const rows = await dialect.findCustomers(
          trx,
          orgId,
          programId,
          IDENTIFIER_COLUMNS[identifierName],
          keys,
          promotionId,
        );
        return rows.map((row) => ({
          id: row.id,
          key: row.key,
          member: row.member === true || Number(row.member) === 1,
          sources: row.sources ? row.sources.split(',') : [],
        }));
      },

      async customerStates(orgId, promotionId, customerIds, countEarns) {
        const states = new Map<number, CustomerState>();
        if (customerIds.length === 0) return states;
        for (const id of customerIds)
          states.set(id, { totalIssuals: 0, activeIssualId: null, activeEarns: 0 });
        const rows = await dialect.customerStates(trx, orgId, promotionId, customerIds, countEarns);
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
          .where(dialect.oneOf('customer_id', customerIds))
          .where('revoked_at', 'is', null)
          .orderBy('id')
          .execute();
        return rows.map((r) => ({ id: r.id, issualId: r.issual_id, customerId: r.customer_id }));
      },

      async revoke(stamp, issualIds, earnIds) {
        const revoked = { revoked_at: stamp.at, revoked_by: stamp.by };
        for (const [table, ids] of [
          ['issuals', issualIds],
          ['earns', earnIds],
        ] as const) {
          if (ids.length === 0) continue;
          await trx
            .updateTable(table)
            .set(revoked)
            .where('org_id', '=', stamp.orgId)
            .where(dialect.oneOf('id', ids))
            .where('revoked_at', 'is', null)
            .execute();
        }
      },

      async allocateIds(issuals, earns) {
        return allocateIds(trx, dialect, { issuals, earns });
      },

      async write(stamp, promotionId, { issuals, earns, events, counts }) {
        // All of a request's rows in one statement a table, of a shape that does not change with
        // their count (the dialect's rowsInsert), which the store compiles once.
        const fixed = [
          { name: 'org_id', value: stamp.orgId },
          { name: 'created_at', value: stamp.at },
          { name: 'created_by', value: stamp.by },
          { name: 'request_id', value: stamp.requestId },
        ];
        const queries: CompiledQuery[] = [];
        if (issuals.length > 0) {
          const rows = issuals.map((i) => [i.id, i.promotionId, i.customerId, i.source]);
          queries.push(...dialect.rowsInsert(trx, 'issuals', fixed, ISSUAL_SOURCE, rows));
        }
        if (earns.length > 0) {
          const rows = earns.map((e) => [e.id, e.issualId, e.promotionId, e.customerId, e.source]);
          queries.push(...dialect.rowsInsert(trx, 'earns', fixed, EARN_SOURCE, rows));
        }
        queries.push(...outbox.queries(stamp.orgId, stamp.at, events));
        // Last: on PostgreSQL the counter row stays locked until the commit, and requests share its shards.
        if (counts) queries.push(promotionCountsUpsert(trx, stamp, promotionId, counts));
        await dialect.runWrites(trx, queries);
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
      // A raw statement of one of four shapes: the query builder took about 25 µs a request to build it.
      const { shape, values, match } = promotionMatch(ref);
      const rows = await runFixed<PromotionRow>(
        db,
        `findPromotion ${shape}`,
        [...values, orgId, programId],
        () => sql`select ${PROMOTION_SELECT}
        from programs as p left join promotions as pr on pr.org_id = p.org_id and pr.program_id = p.id${match()}
        where p.org_id = ${orgId} and p.id = ${programId}`,
      );
      const program = rows[0];
      if (!program) return { programExists: false, promotion: null };
      if (program.id === null) return { programExists: true, promotion: null };
      return { programExists: true, promotion: toPromotion(program as Selectable<PromotionsTable>) };
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

    /** The statements of a bulk request inside a transaction the caller holds (a job's chunk). */
    within(trx: Trx): EnrolmentTx {
      return tx(trx);
    },
  };
}
