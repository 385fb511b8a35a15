import type { CustomerState, NewEarn, NewIssual } from './enrolment.repository.js';

/** What one request adds to a promotion's counters (see promotion-counts.repository.ts). */
export interface CountDelta {
  issuals: number;
  issualsRevoked: number;
  earns: number;
  earnsRevoked: number;
  /** Customers whose first issual in the promotion this request made. */
  customers: number;
}

export const NO_COUNTS: CountDelta = {
  issuals: 0,
  issualsRevoked: 0,
  earns: 0,
  earnsRevoked: 0,
  customers: 0,
};

/** Counter rows per promotion (and day) that concurrent requests spread over; a read sums them. */
export const COUNTER_SHARDS = 8;

export const MS_PER_DAY = 86_400_000;

/** The counts of new issuals and earns; a customer is new when it had no issual before the request. */
export function grantCounts(
  issuals: readonly NewIssual[],
  earns: readonly NewEarn[],
  stored: ReadonlyMap<number, Pick<CustomerState, 'totalIssuals'>>,
): CountDelta {
  const fresh = new Set(
    issuals.filter((i) => (stored.get(i.customerId)?.totalIssuals ?? 0) === 0).map((i) => i.customerId),
  );
  return { ...NO_COUNTS, issuals: issuals.length, earns: earns.length, customers: fresh.size };
}

/** The counts of revocations: the plan names only records it read as active in the same transaction. */
export function revokeCounts(issualIds: readonly number[], earnIds: readonly number[]): CountDelta {
  return { ...NO_COUNTS, issualsRevoked: issualIds.length, earnsRevoked: earnIds.length };
}

export function isNoChange(delta: CountDelta): boolean {
  return Object.values(delta).every((n) => n === 0);
}

/** The shard a request adds to: spread by time, so that concurrent requests rarely share a row. */
export function shardOf(at: number, requestId: string): number {
  let hash = at;
  for (let i = 0; i < requestId.length; i++) hash = (hash * 31 + requestId.charCodeAt(i)) % 1_000_003;
  return hash % COUNTER_SHARDS;
}
