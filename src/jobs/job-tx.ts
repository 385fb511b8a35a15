import type { CustomerState, EnrolmentTx } from '../promotions/enrolment.repository.js';

/**
 * What a dry run would have written so far: the later chunks read the store through it, so that a row
 * repeated further down is predicted as the real run will answer it. It holds a few numbers per
 * customer the dry run touched, in memory.
 */
export interface DryOverlay {
  issuals: Map<number, { added: number; active: number }>;
  earns: Map<number, number>;
  revokedIssuals: Set<number>;
  revokedEarns: Set<number>;
  nextPlaceholder: number;
}

export function newOverlay(): DryOverlay {
  return {
    issuals: new Map(),
    earns: new Map(),
    revokedIssuals: new Set(),
    revokedEarns: new Set(),
    nextPlaceholder: -1,
  };
}

/** Ids given to records a dry run would create: negative, so that results show them as to be made. */
export const isPlaceholder = (id: string | undefined) => id?.startsWith('-') === true;

/**
 * The enrolment statements of a dry run: reads go to the store (seen through the overlay), writes go
 * to the overlay. The service runs its usual path on it, so a dry run plans exactly as a real one.
 */
export function dryRunTx(tx: EnrolmentTx, overlay: DryOverlay): EnrolmentTx {
  const placeholders = (n: number) =>
    Array.from({ length: n }, () => {
      const id = overlay.nextPlaceholder;
      overlay.nextPlaceholder -= 1;
      return id;
    });
  return {
    findCustomers: (...args) => tx.findCustomers(...args),
    async customerStates(orgId, promotionId, customerIds, countEarns) {
      const states = await tx.customerStates(orgId, promotionId, customerIds, countEarns);
      for (const id of customerIds) {
        const state: CustomerState = states.get(id) ?? {
          totalIssuals: 0,
          activeIssualId: null,
          activeEarns: 0,
        };
        const added = overlay.issuals.get(id);
        if (added) {
          state.totalIssuals += added.added;
          state.activeIssualId = added.active;
        }
        if (state.activeIssualId !== null && overlay.revokedIssuals.has(state.activeIssualId)) {
          state.activeIssualId = null;
        }
        if (countEarns) state.activeEarns += overlay.earns.get(id) ?? 0;
        states.set(id, state);
      }
      return states;
    },
    async activeEarns(orgId, promotionId, customerIds) {
      const earns = await tx.activeEarns(orgId, promotionId, customerIds);
      return earns.filter((earn) => !overlay.revokedEarns.has(earn.id));
    },
    async allocateIds(issuals, earns) {
      return { issuals: placeholders(issuals), earns: placeholders(earns) };
    },
    // A dry run writes nothing (counters and events included: it tells no other system of anything),
    // and remembers the records it would have made.
    async write(_stamp, _promotionId, { issuals, earns }) {
      for (const issual of issuals) {
        const added = overlay.issuals.get(issual.customerId);
        overlay.issuals.set(issual.customerId, { added: (added?.added ?? 0) + 1, active: issual.id });
      }
      for (const earn of earns)
        overlay.earns.set(earn.customerId, (overlay.earns.get(earn.customerId) ?? 0) + 1);
    },
    async revoke(_stamp, issualIds, earnIds) {
      for (const id of issualIds) overlay.revokedIssuals.add(id);
      for (const id of earnIds) overlay.revokedEarns.add(id);
    },
  };
}
