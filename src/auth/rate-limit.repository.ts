import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** Where every process counts a credential's requests in a window: PostgreSQL, or Redis. */
export interface RateLimitRepository {
  /** Adds `n` to the credential's count in the window; answers the count after adding. */
  add(orgId: number, credential: string, windowStart: number, n: number): Promise<number>;
  /** Forgets the counts of windows that began before `windowStart`. */
  deleteBefore(windowStart: number): Promise<void>;
}

/** The shared request counters of credentials in PostgreSQL, one row per credential and window. */
export function createRateLimitRepository(db: Db): RateLimitRepository {
  return {
    async add(orgId: number, credential: string, windowStart: number, n: number): Promise<number> {
      const row = await db
        .insertInto('rate_limits')
        .values({ org_id: orgId, credential, window_start: windowStart, count: n })
        .onConflict((oc) =>
          oc
            .columns(['org_id', 'credential', 'window_start'])
            .doUpdateSet({ count: sql<number>`rate_limits.count + excluded.count` }),
        )
        .returning('count')
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async deleteBefore(windowStart: number): Promise<void> {
      await db.deleteFrom('rate_limits').where('window_start', '<', windowStart).execute();
    },
  };
}
