import type { BulkItem } from '../client/types.js';
import { baseResult, failedItem, type PlanCustomer, type ResultNaming } from './bulk-item.js';
import type { ActiveEarn, CustomerState } from './enrolment.repository.js';
import type { Promotion } from './promotion.model.js';

/** What REVOKE_ENROL or REVOKE_EARN decided: each customer's answer, and the records to mark revoked. */
export interface RevokePlan {
  items: BulkItem[];
  issualIds: number[];
  earnIds: number[];
}

/**
 * REVOKE_ENROL revokes the customer's active issual, once its earns are revoked (Capillary: "the
 * issual … must be revoked before they can be unenrolled"): a customer with active earns fails with
 * our 8905 and keeps everything. REVOKE_EARN revokes the earns named (all active ones when none
 * are). Nothing to revoke is 2305. Customers are planned in request order against what the earlier
 * ones revoked, so a customer named twice finds nothing left the second time. Pure: the caller reads
 * the active issuals and earns and writes the revocations.
 */
export function planRevoke(
  action: 'REVOKE_ENROL' | 'REVOKE_EARN',
  promotion: Promotion,
  customers: readonly PlanCustomer[],
  stored: ReadonlyMap<number, Pick<CustomerState, 'activeIssualId'>>,
  activeEarns: readonly ActiveEarn[],
  naming?: ResultNaming,
): RevokePlan {
  const active = new Map([...stored].map(([id, state]) => [id, state.activeIssualId]));
  const earnsOf = new Map<number, number[]>();
  for (const earn of activeEarns)
    earnsOf.set(earn.customerId, [...(earnsOf.get(earn.customerId) ?? []), earn.id]);
  const plan: RevokePlan = { items: [], issualIds: [], earnIds: [] };

  for (const customer of customers) {
    if (typeof customer === 'number') {
      plan.items.push(failedItem(customer));
      continue;
    }
    const current = earnsOf.get(customer.id) ?? [];
    const result = baseResult(promotion, customer.id, naming);
    const issualId = active.get(customer.id) ?? null;
    if (action === 'REVOKE_ENROL') {
      // An undo names the issual its job made: one made since by anyone else is not the undo's to revoke.
      if (!issualId || (customer.issualId !== undefined && issualId !== customer.issualId)) {
        plan.items.push(failedItem(2305));
        continue;
      }
      if (current.length > 0) {
        plan.items.push(failedItem(8905));
        continue;
      }
      active.set(customer.id, null);
      plan.issualIds.push(issualId);
      // The page's example names it issualId (a string), its table revokedIssualId (an integer).
      result.issualId = String(issualId);
      result.revokedIssualId = issualId;
      plan.items.push({ result, errors: [], warnings: [] });
      continue;
    }
    const wanted = customer.earnIds;
    if (wanted === 'invalid' || (wanted && !wanted.every((id) => current.includes(id)))) {
      plan.items.push(failedItem(8903));
      continue;
    }
    if (!wanted && current.length === 0) {
      plan.items.push(failedItem(2305));
      continue;
    }
    const chosen = wanted ?? current;
    const left = current.filter((id) => !chosen.includes(id));
    earnsOf.set(customer.id, left);
    plan.earnIds.push(...chosen);
    // The undo of a DIRECT earn also revokes the issual that earn made implicitly, unless an earn
    // made by someone else since still stands on it (revoking it would revoke that earn too).
    if (issualId && issualId === customer.issualId && left.length === 0) {
      active.set(customer.id, null);
      plan.issualIds.push(issualId);
      result.revokedIssualId = issualId;
    }
    result.revokedEarnIds = chosen;
    plan.items.push({ result, errors: [], warnings: [] });
  }
  return plan;
}
