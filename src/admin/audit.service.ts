import type { Clock } from '../clock.js';
import type { AuditFilter, AuditPage } from '../contract/admin.contract.js';
import type { AuditRepository } from './audit.repository.js';
import { cutPage, parsePage } from './page.js';

export interface ChangeMade {
  /** The org the change belongs to; 0 when none can be told. */
  orgId: number;
  /** Who made it, as the log shows them (never a secret). */
  who: string;
  method: string;
  route: string;
  params: Record<string, unknown>;
  status: number;
  requestId: string;
}

export type AuditService = ReturnType<typeof createAuditService>;

/** The log of management changes: written once per change that succeeded, read a page at a time. */
export function createAuditService(repository: AuditRepository, clock: Clock) {
  return {
    record(change: ChangeMade): Promise<void> {
      return repository.append({
        orgId: Number.isSafeInteger(change.orgId) ? change.orgId : 0,
        at: clock.now(),
        who: change.who,
        action: `${change.method} ${change.route}`,
        // As the URL spelled them, whatever type validation read them as.
        target: Object.fromEntries(Object.entries(change.params).map(([k, v]) => [k, String(v)])),
        status: change.status,
        requestId: change.requestId,
      });
    },

    async page(query: AuditFilter): Promise<AuditPage> {
      const page = parsePage(query);
      const time = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
      const filter = {
        orgId: query.orgId,
        who: query.who,
        action: query.action,
        from: time(query.from),
        to: time(query.to),
        desc: query.order === 'desc',
      };
      const rows = await repository.page(filter, page.after, page.limit + 1);
      const { items, nextCursor } = cutPage(rows, page, (r) => r.id);
      return {
        entries: items.map(({ id, at, ...entry }) => ({
          ...entry,
          id: String(id),
          at: new Date(at).toISOString(),
        })),
        nextCursor,
      };
    },
  };
}
