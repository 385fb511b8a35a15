import type { BulkItem, BulkResult } from '../client/types.js';
import { apiMessage } from '../errors.js';
import type { Promotion } from './promotion.model.js';

/** The codes that fail one customer of a bulk request rather than the whole request. */
export type ItemError = 11013 | 8003 | 8015 | 8896 | 8903 | 2305 | 8905;

/**
 * A request's customer as planning sees it, in request order: the error found while resolving it,
 * or the customer of the org it names, with the source it was named in and any earns it names.
 */
export type PlanCustomer =
  | ItemError
  | { id: number; source: string; earnIds?: number[] | 'invalid'; issualId?: number };

/**
 * How a result names its promotion. The seed page (enrolAndEarn) always gives promotionId, and
 * promoIdentifier when the promotion has one; the family's pages name it as the request did.
 */
export interface ResultNaming {
  promotionId: boolean;
  promoIdentifier: boolean;
}

export function failedItem(code: ItemError): BulkItem {
  return { errors: [apiMessage(code)], warnings: [] };
}

export function baseResult(promotion: Promotion, customerId: number, naming?: ResultNaming): BulkResult {
  const withId = naming ? naming.promotionId : true;
  const withIdentifier = naming ? naming.promoIdentifier : true;
  return {
    entityType: 'CUSTOMER',
    entityId: customerId,
    ...(withId ? { promotionId: promotion.id } : {}),
    ...(withIdentifier && promotion.promoIdentifier !== null
      ? { promoIdentifier: promotion.promoIdentifier }
      : {}),
    programId: promotion.programId,
  };
}
