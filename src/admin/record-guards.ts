import { isUniqueViolation } from '../db/store-errors.js';
import { AppError } from '../errors.js';
import type { AdminQueries } from './admin.repository.js';

/** The rules every management write shares: the org exists, ids are claimed once, races are 409s. */
export async function requireOrg(repo: AdminQueries, orgId: number): Promise<void> {
  if (!(await repo.orgExists(orgId))) throw new AppError('not_found', `org ${orgId} does not exist`);
}

/** An explicit id if given and free across the deployment, else a fresh one. */
export async function claimId(
  repo: AdminQueries,
  table: 'programs' | 'promotions' | 'customers',
  id: number | undefined,
): Promise<number> {
  if (id === undefined) return (await repo.nextIds(table, 1))[0] as number;
  await repo.lockKind(table);
  if ((await repo.takenIds(table, [id])).length > 0) {
    throw new AppError('conflict', `${table.slice(0, -1)} id ${id} is taken`, 'id');
  }
  await repo.advanceSequence(table, id);
  return id;
}

/** Turns a unique-index refusal that slipped past the checks (a concurrent writer) into a 409. */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError('conflict', 'a record with the same key was created meanwhile');
    throw err;
  }
}
