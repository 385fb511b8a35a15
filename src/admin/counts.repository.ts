import type { ExpressionBuilder } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Database } from '../db/schema.js';

export interface CounterSums {
  issuals: number;
  issualsRevoked: number;
  earns: number;
  earnsRevoked: number;
  customers: number;
}

/** The counters, each summed over the rows (shards, and days) read. */
const sums = (eb: ExpressionBuilder<Database, 'promotion_day_counts'>) => [
  eb.fn.sum<number>('issuals').as('issuals'),
  eb.fn.sum<number>('issuals_revoked').as('issuals_revoked'),
  eb.fn.sum<number>('earns').as('earns'),
  eb.fn.sum<number>('earns_revoked').as('earns_revoked'),
  eb.fn.sum<number>('customers').as('customers'),
];

type SumRow = Partial<
  Record<'issuals' | 'issuals_revoked' | 'earns' | 'earns_revoked' | 'customers', unknown>
>;

/** Sums as numbers (PostgreSQL answers a bigint sum as digits); none read is zero. */
function toSums(row: SumRow | undefined): CounterSums {
  return {
    issuals: Number(row?.issuals ?? 0),
    issualsRevoked: Number(row?.issuals_revoked ?? 0),
    earns: Number(row?.earns ?? 0),
    earnsRevoked: Number(row?.earns_revoked ?? 0),
    customers: Number(row?.customers ?? 0),
  };
}

/** A promotion's counters (promotion_day_counts): a row per day and shard, never its issuals. */
export function countQueries(db: Trx) {
  return {
    /** The counters of a promotion: its days and shards summed (a range of promotion_day_counts_pk). */
    async counts(orgId: number, promotionId: number): Promise<CounterSums> {
      const row = await db
        .selectFrom('promotion_day_counts')
        .select(sums)
        .where('org_id', '=', orgId)
        .where('promotion_id', '=', promotionId)
        .executeTakeFirst();
      return toSums(row);
    },

    /**
     * The counters of several promotions of an org, in one statement: each promotion's days and shards
     * summed, as `counts` does (rows in proportion to the days it ran, never to its customers).
     */
    async countsOf(orgId: number, promotionIds: readonly number[]) {
      if (promotionIds.length === 0) return [];
      const rows = await db
        .selectFrom('promotion_day_counts')
        .select((eb) => ['promotion_id', ...sums(eb)])
        .where('org_id', '=', orgId)
        .where('promotion_id', 'in', promotionIds)
        .groupBy('promotion_id')
        .execute();
      return rows.map((r) => ({ promotionId: Number(r.promotion_id), ...toSums(r) }));
    },

    /** The counters of each day from `fromDay` to `toDay` (days since the epoch) that has any. */
    async dayCounts(orgId: number, promotionId: number, fromDay: number, toDay: number) {
      const rows = await db
        .selectFrom('promotion_day_counts')
        .select((eb) => ['day', ...sums(eb)])
        .where('org_id', '=', orgId)
        .where('promotion_id', '=', promotionId)
        .where('day', '>=', fromDay)
        .where('day', '<=', toDay)
        .groupBy('day')
        .orderBy('day')
        .execute();
      return rows.map((r) => ({ day: Number(r.day), ...toSums(r) }));
    },
  };
}
