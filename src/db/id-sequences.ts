import type { Db, Dialect, Trx } from './database.js';
import type { SequenceName } from './dialect/store-dialect.js';

export type { SequenceName } from './dialect/store-dialect.js';

/**
 * Takes `counts[name]` fresh ids from each named sequence in one statement, whatever the counts.
 * Ids are unique across the deployment; on PostgreSQL they come from real sequences, so concurrent
 * transactions never wait on each other for them.
 */
export async function allocateIds(
  trx: Trx,
  dialect: Dialect,
  counts: Partial<Record<SequenceName, number>>,
): Promise<Record<SequenceName, number[]>> {
  const result: Record<SequenceName, number[]> = {
    orgs: [],
    programs: [],
    promotions: [],
    customers: [],
    issuals: [],
    earns: [],
    audit: [],
    jobs: [],
  };
  const wanted = (Object.entries(counts) as [SequenceName, number][]).filter(([, n]) => n > 0);
  if (wanted.length === 0) return result;
  for (const [name, id] of await dialect.nextIds(trx, wanted)) result[name].push(id);
  return result;
}

/** After records were inserted with ids of their own, moves the sequence past the largest of them. */
export function advanceSequence(
  trx: Trx,
  dialect: Dialect,
  name: SequenceName,
  maxId: number,
): Promise<void> {
  return dialect.advanceSequence(trx, name, maxId);
}

/**
 * Sequences whose counter stands past `ceiling`: only a store that took given ids above the ceiling
 * (before the ceiling existed) has any, and they run out of exact ids first. Checked at start-up and
 * by `loyalty migrate`, which name them and the fix.
 */
export async function sequencesPast(
  db: Db,
  dialect: Dialect,
  ceiling: number,
): Promise<{ name: string; value: string }[]> {
  const counters = await dialect.sequenceCounters(db);
  return counters.filter((c) => BigInt(c.value) > BigInt(ceiling));
}

/** The operator's message for sequencesPast's answer. */
export function describeSequencesPast(past: readonly { name: string; value: string }[]): string {
  return (
    `id sequences past the ceiling of given ids: ${past.map((p) => `${p.name} at ${p.value}`).join(', ')}. ` +
    'New records of these kinds fail with 503 once the counter passes 2^53-1; ' +
    'see "Id ceilings" in docs/reliability-and-security.md for the fix'
  );
}
