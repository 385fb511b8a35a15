import { type CompiledQuery, sql } from 'kysely';
import type { Db, Trx } from '../db/database.js';
import { fixedQuery } from '../db/fixed-statement.js';
import { type CountDelta, MS_PER_DAY, shardOf } from './promotion-counts.plan.js';

/** Who wrote and when, as the enrolment repository stamps its records. */
interface Stamp {
  orgId: number;
  at: number;
  requestId: string;
}

const ADD = sql`issuals = t.issuals + excluded.issuals, issuals_revoked = t.issuals_revoked + excluded.issuals_revoked,
  earns = t.earns + excluded.earns, earns_revoked = t.earns_revoked + excluded.earns_revoked,
  customers = t.customers + excluded.customers`;

/**
 * The statement that adds a request's counts to its promotion's counters of the day, sent in the
 * request's own transaction (StoreDialect.runWrites): one, whatever the number of customers (a
 * promotion's totals are the sum of its days). Both stores speak this upsert alike.
 */
export function promotionCountsUpsert(
  db: Db | Trx,
  stamp: Stamp,
  promotionId: number,
  d: CountDelta,
): CompiledQuery {
  const values = [
    stamp.orgId,
    promotionId,
    Math.floor(stamp.at / MS_PER_DAY),
    shardOf(stamp.at, stamp.requestId),
    d.issuals,
    d.issualsRevoked,
    d.earns,
    d.earnsRevoked,
    d.customers,
  ];
  return fixedQuery(
    db,
    'add promotion counts',
    values,
    () => sql`insert into promotion_day_counts as t (org_id, promotion_id, day, shard, issuals, issuals_revoked, earns, earns_revoked, customers)
    values (${sql.join(values)}) on conflict (org_id, promotion_id, day, shard) do update set ${ADD}`,
  );
}
