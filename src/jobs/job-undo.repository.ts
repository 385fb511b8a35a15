import type { Db } from '../db/database.js';

/**
 * What an undo reads: the records a job wrote, found by the request id stamped on them
 * (`job:<id>`), still active, a page at a time by id.
 */
export function undoQueries(db: Db) {
  return {
    /** Active issuals a job wrote (stamped with its request id), after `afterId`, by id. */
    async issualsMadeBy(
      orgId: number,
      promotionId: number,
      requestId: string,
      afterId: number,
      limit: number,
    ): Promise<{ id: number; customer_id: number }[]> {
      return db
        .selectFrom('issuals')
        .select(['id', 'customer_id'])
        .where('org_id', '=', orgId)
        .where('promotion_id', '=', promotionId)
        .where('request_id', '=', requestId)
        .where('revoked_at', 'is', null)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
    },

    /**
     * Active earns a job wrote, after `afterId`, by id, each with its issual when the same job made
     * that issual too (a DIRECT promotion's implicit one), so that an undo revokes both.
     */
    async earnsMadeBy(
      orgId: number,
      promotionId: number,
      requestId: string,
      afterId: number,
      limit: number,
    ): Promise<{ id: number; customer_id: number; made_issual_id: number | null }[]> {
      return db
        .selectFrom('earns as e')
        .leftJoin('issuals as i', (join) =>
          join
            .onRef('i.org_id', '=', 'e.org_id')
            .onRef('i.id', '=', 'e.issual_id')
            .on('i.request_id', '=', requestId),
        )
        .select(['e.id', 'e.customer_id', 'i.id as made_issual_id'])
        .where('e.org_id', '=', orgId)
        .where('e.promotion_id', '=', promotionId)
        .where('e.request_id', '=', requestId)
        .where('e.revoked_at', 'is', null)
        .where('e.id', '>', afterId)
        .orderBy('e.id')
        .limit(limit)
        .execute();
    },
  };
}
