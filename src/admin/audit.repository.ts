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

export interface AuditRepositoryFilter {
  orgId?: number | undefined;
  who?: string | undefined;
  action?: string | undefined;
  /** Milliseconds since the epoch, inclusive. */
  from?: number | undefined;
  to?: number | undefined;
  desc?: boolean | undefined;
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

    /**
     * A page of entries, oldest first after `afterId` (or newest first before it, `desc`), of one org
     * when `orgId` is given, narrowed to one person (`who`, by the (org_id, who, id) index), one action
     * and a time window. Ids grow with time, so a page is a range of the key.
     */
    async page(filter: AuditRepositoryFilter, afterId: number, limit: number): Promise<StoredAuditEntry[]> {
      const { orgId, who, action, from, to, desc } = filter;
      const rows = await db
        .selectFrom('audit_log')
        .select(['org_id', 'id', 'at', 'who', 'action', 'target', 'status', 'request_id'])
        .$if(orgId !== undefined, (qb) => qb.where('org_id', '=', orgId as number))
        .$if(who !== undefined, (qb) => qb.where('who', '=', who as string))
        .$if(action !== undefined, (qb) => qb.where('action', '=', action as string))
        .$if(from !== undefined, (qb) => qb.where('at', '>=', from as number))
        .$if(to !== undefined, (qb) => qb.where('at', '<=', to as number))
        .$if(!desc, (qb) => qb.where('id', '>', afterId))
        .$if(desc === true && afterId > 0, (qb) => qb.where('id', '<', afterId))
        .orderBy('id', desc ? 'desc' : 'asc')
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
