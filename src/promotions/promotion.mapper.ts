import type { Selectable } from 'kysely';
import type { CustomerIdentifierName } from '../contract/enums.contract.js';
import type { PromotionsTable } from '../db/schema.js';
import type { Promotion } from './promotion.model.js';

/** Every column of a promotion, named (a named prepared statement must not select `*`). */
export const PROMOTION_COLUMNS = [
  'org_id',
  'id',
  'program_id',
  'promo_identifier',
  'name',
  'type',
  'active',
  'start_at',
  'end_at',
  'max_issuals_per_customer',
  'max_earns_per_customer',
  'created_at',
  'updated_at',
] as const;

/** The one mapping of a stored promotion row to the domain's Promotion. */
export function toPromotion(row: Selectable<PromotionsTable>): Promotion {
  return {
    id: row.id,
    programId: row.program_id,
    promoIdentifier: row.promo_identifier,
    name: row.name,
    type: row.type,
    active: row.active === 1,
    startAt: row.start_at,
    endAt: row.end_at,
    maxIssualsPerCustomer: row.max_issuals_per_customer,
    maxEarnsPerCustomer: row.max_earns_per_customer,
  };
}

/** The customers column that holds each identifier (customers aliased `c`). */
export const IDENTIFIER_COLUMNS: Readonly<
  Record<CustomerIdentifierName, 'c.id' | 'c.mobile' | 'c.email' | 'c.external_id'>
> = {
  id: 'c.id',
  mobile: 'c.mobile',
  email: 'c.email',
  externalId: 'c.external_id',
};
