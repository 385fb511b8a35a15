import type { BulkItem, BulkResult } from '../client/types.js';
import { apiMessage } from '../errors.js';
import type { Promotion } from './promotion.model.js';

/** The codes that fail one customer of a bulk request rather than the whole request. */
export type ItemError = 11013 | 8003 | 8015 | 8896 | 8903 | 8904;

/**
 * A request's customer as planning sees it, in request order: the error found while resolving it,
 * or the customer of the org it names, with the source it was named in and any earns it names.
 */
export type PlanCustomer =
  | ItemError
  | { id: number; source: string; earnIds?: number[] | 'invalid'; issualId?: number };

export function failedItem(code: ItemError): BulkItem {
  return { errors: [apiMessage(code)], warnings: [] };
}

export function baseResult(promotion: Promotion, customerId: number): BulkResult {
  return {
    entityType: 'CUSTOMER',
    entityId: customerId,
    promotionId: promotion.id,
    ...(promotion.promoIdentifier !== null ? { promoIdentifier: promotion.promoIdentifier } : {}),
    programId: promotion.programId,
  };
}
