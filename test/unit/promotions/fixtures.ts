import type { BulkResult } from '../../../src/client/types.js';
import type { CustomerState } from '../../../src/promotions/enrolment.repository.js';
import type { Promotion } from '../../../src/promotions/promotion.model.js';

export function promotion(overrides: Partial<Promotion> = {}): Promotion {
  return {
    id: 70,
    programId: 5,
    promoIdentifier: 'SPRING',
    name: 'Spring',
    type: 'ENROL_AND_ISSUE',
    active: true,
    startAt: null,
    endAt: null,
    maxIssualsPerCustomer: null,
    maxEarnsPerCustomer: null,
    ...overrides,
  };
}

export function states(entries: Record<number, Partial<CustomerState>> = {}): Map<number, CustomerState> {
  return new Map(
    Object.entries(entries).map(([id, state]) => [
      Number(id),
      { totalIssuals: 0, activeIssualId: null, activeEarns: 0, ...state },
    ]),
  );
}

export const customer = (id: number, source = 'INSTORE') => ({ id, source });

/** A success item of the promotion of `promotion()`, for customer `entityId`, with the given ids. */
export function success(entityId: number, ids: Partial<BulkResult> = {}) {
  const result = {
    entityType: 'CUSTOMER',
    entityId,
    promotionId: 70,
    promoIdentifier: 'SPRING',
    programId: 5,
    ...ids,
  };
  return { result, errors: [], warnings: [] };
}

/** One active issual per customer: customer 1 holds issual 40 (and customer 2 issual 41 when asked). */
export const enrolled = (both = false) =>
  states(both ? { 1: { activeIssualId: 40 }, 2: { activeIssualId: 41 } } : { 1: { activeIssualId: 40 } });
