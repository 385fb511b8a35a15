import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import { runFixed } from '../db/fixed-statement.js';
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
 * Adds a request's counts to its promotion's counters of the day, in the request's own transaction:
 * one statement, whatever the number of customers (a promotion's totals are the sum of its days).
 * Both stores speak this upsert alike.
 */
export async function addPromotionCounts(
  trx: Trx,
  stamp: Stamp,
  promotionId: number,
  d: CountDelta,
): Promise<void> {
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
  await runFixed(
    trx,
    'add promotion counts',
    values,
    () => sql`insert into promotion_day_counts as t (org_id, promotion_id, day, shard, issuals, issuals_revoked, earns, earns_revoked, customers)
    values (${sql.join(values)}) on conflict (org_id, promotion_id, day, shard) do update set ${ADD}`,
  );
}
