import type { Dialect, Trx } from './database.js';
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
