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
