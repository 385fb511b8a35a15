import type { BulkItem } from '../client/types.js';
import { type ApiMessage, apiMessage, MESSAGES } from '../errors.js';
import { baseResult, failedItem, type ItemError, type PlanCustomer, type ResultNaming } from './bulk-item.js';
import type { CustomerState, NewEarn, NewIssual } from './enrolment.repository.js';
import type { Promotion } from './promotion.model.js';

/** An issual or earn: one the store holds (by id), or the n-th new one of this plan. */
export type RecordRef = { stored: number } | { planned: number };

/** One customer's answer, before the new records have ids. */
export type PlannedItem =
  | { error: ItemError }
  | { customerId: number; issual: RecordRef | null; earn: RecordRef | null; warning?: ApiMessage };

/** What ENROL or EARN decided: each customer's answer, and the issuals and earns to write. */
export interface GrantPlan {
  items: PlannedItem[];
  issuals: { customerId: number; source: string }[];
  earns: { customerId: number; source: string; issual: RecordRef }[];
}

export interface GrantOptions {
  /**
   * A reached limit answers as directEarn's and issue's pages show it: warning 8890 in their words and
   * no ids. Without it, as contract section 2 says for enrolAndEarn: our words, and the issualId of an
   * earn limit.
   */
  pageLimits?: boolean;
}

/**
 * ENROL and EARN (contract section 2): plans every customer in request order against what the store
 * held and what the earlier customers of the request added, so that a customer named twice is
 * enrolled or earns as if in two requests. Pure: the caller reads the states and writes the records.
 */
export function planGrant(
  action: 'ENROL' | 'EARN',
  promotion: Promotion,
  customers: readonly PlanCustomer[],
  stored: ReadonlyMap<number, CustomerState>,
  options: GrantOptions = {},
): GrantPlan {
  const plan: GrantPlan = { items: [], issuals: [], earns: [] };
  const states = new Map<number, { totalIssuals: number; active: RecordRef | null; activeEarns: number }>();
  const stateOf = (customerId: number) => {
    let state = states.get(customerId);
    if (!state) {
      const held = stored.get(customerId);
      state = {
        totalIssuals: held?.totalIssuals ?? 0,
        active: held?.activeIssualId ? { stored: held.activeIssualId } : null,
        activeEarns: held?.activeEarns ?? 0,
      };
      states.set(customerId, state);
    }
    return state;
  };
  const pageLimit = options.pageLimits ? apiMessage(8890, MESSAGES.notIssuedLimits) : undefined;
  const issualLimit = pageLimit ?? apiMessage(8890, MESSAGES.issualLimitReached);
  const earnLimit = pageLimit ?? apiMessage(8890, MESSAGES.earnLimitReached);

  for (const customer of customers) {
    if (typeof customer === 'number') {
      plan.items.push({ error: customer });
      continue;
    }
    const state = stateOf(customer.id);
    const ok = (issual: RecordRef | null, earn: RecordRef | null, warning?: ApiMessage) =>
      plan.items.push({ customerId: customer.id, issual, earn, ...(warning ? { warning } : {}) });
    const enrol = (): RecordRef | null => {
      const limit = promotion.maxIssualsPerCustomer;
      if (limit !== null && state.totalIssuals >= limit) return null;
      const issual = { planned: plan.issuals.length };
      plan.issuals.push({ customerId: customer.id, source: customer.source });
      state.totalIssuals += 1;
      state.active = issual;
      return issual;
    };

    if (action === 'ENROL') {
      if (state.active) ok(state.active, null, apiMessage(8890));
      else {
        const issual = enrol();
        if (issual) ok(issual, null);
        else ok(null, null, issualLimit);
      }
      continue;
    }

    let issual = state.active;
    if (!issual) {
      // A DIRECT promotion enrols implicitly on the first earn; the others need an ENROL first.
      if (promotion.type !== 'DIRECT') {
        plan.items.push({ error: 8896 });
        continue;
      }
      issual = enrol();
      if (!issual) {
        ok(null, null, issualLimit);
        continue;
      }
    }
    const maxEarns = promotion.maxEarnsPerCustomer;
    if (maxEarns !== null && state.activeEarns >= maxEarns) {
      ok(pageLimit ? null : issual, null, earnLimit);
      continue;
    }
    const earn = { planned: plan.earns.length };
    plan.earns.push({ customerId: customer.id, source: customer.source, issual });
    state.activeEarns += 1;
    ok(issual, earn);
  }
  return plan;
}

/** The plan with the ids allocated for its new records: the answer items and the records to insert. */
export function completeGrant(
  plan: GrantPlan,
  promotion: Promotion,
  ids: { issuals: readonly number[]; earns: readonly number[] },
  naming?: ResultNaming,
): { items: BulkItem[]; issuals: NewIssual[]; earns: NewEarn[] } {
  const idOf = (ref: RecordRef, planned: readonly number[]) =>
    'stored' in ref ? ref.stored : (planned[ref.planned] as number);
  const issuals = plan.issuals.map((issual, i) => ({
    id: ids.issuals[i] as number,
    promotionId: promotion.id,
    ...issual,
  }));
  const earns = plan.earns.map((earn, i) => ({
    id: ids.earns[i] as number,
    promotionId: promotion.id,
    customerId: earn.customerId,
    source: earn.source,
    issualId: idOf(earn.issual, ids.issuals),
  }));
  const items = plan.items.map((item): BulkItem => {
    if ('error' in item) return failedItem(item.error);
    const result = baseResult(promotion, item.customerId, naming);
    if (item.issual) result.issualId = String(idOf(item.issual, ids.issuals));
    if (item.earn) result.earnedId = String(idOf(item.earn, ids.earns));
    return { result, errors: [], warnings: item.warning ? [item.warning] : [] };
  });
  return { items, issuals, earns };
}
