import { type Store, writeTransaction } from '../db/database.js';
import { allocateIds } from '../db/id-sequences.js';

export interface AuditEntry {
  orgId: number;
  at: number;
  who: string;
  action: string;
  /** The path parameters of the change, as the URL spelled them. */
  target: Record<string, string>;
  status: number;
  requestId: string;
}

export interface StoredAuditEntry extends AuditEntry {
  id: number;
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;

export function createAuditRepository(store: Store) {
  const { db, dialect } = store;

  return {
    async append(entry: AuditEntry): Promise<void> {
      await writeTransaction(store, async (trx) => {
        const [id] = (await allocateIds(trx, dialect, { audit: 1 })).audit;
        await trx
          .insertInto('audit_log')
          .values({
            org_id: entry.orgId,
            id: id as number,
            at: entry.at,
            who: entry.who,
            action: entry.action,
            target: JSON.stringify(entry.target),
            status: entry.status,
            request_id: entry.requestId,
          })
          .execute();
      });
    },

    /** Entries after `afterId`, oldest first; of one org when `orgId` is given. */
    async page(orgId: number | undefined, afterId: number, limit: number): Promise<StoredAuditEntry[]> {
      const rows = await db
        .selectFrom('audit_log')
        .select(['org_id', 'id', 'at', 'who', 'action', 'target', 'status', 'request_id'])
        .$if(orgId !== undefined, (qb) => qb.where('org_id', '=', orgId as number))
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        orgId: r.org_id,
        at: r.at,
        who: r.who,
        action: r.action,
        target: JSON.parse(r.target) as Record<string, string>,
        status: r.status,
        requestId: r.request_id,
      }));
    },
  };
}
