import type { Selectable } from 'kysely';
import type { EarnsTable, IssualsTable } from '../db/schema.js';

// Issuals and earns as every read of them takes them (the management API's reports and customer view,
// the /v2 lookup): one column list per table and one shape, whatever the read needs of it.

export const ISSUAL_COLUMNS = ['id', 'promotion_id', 'customer_id', 'created_at', 'revoked_at'] as const;
export const EARN_COLUMNS = [
  'id',
  'promotion_id',
  'issual_id',
  'customer_id',
  'created_at',
  'revoked_at',
] as const;

/** An issual: a customer's enrolment in a promotion, revoked or not. */
export interface IssualRecord {
  id: number;
  promotionId: number;
  customerId: number;
  createdAt: number;
  revokedAt: number | null;
}

/** An earn, with the issual it was earned on. */
export interface EarnRecord extends IssualRecord {
  issualId: number;
}

export function toIssualRecord(
  row: Pick<Selectable<IssualsTable>, (typeof ISSUAL_COLUMNS)[number]>,
): IssualRecord {
  return {
    id: row.id,
    promotionId: row.promotion_id,
    customerId: row.customer_id,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export function toEarnRecord(row: Pick<Selectable<EarnsTable>, (typeof EARN_COLUMNS)[number]>): EarnRecord {
  return { ...toIssualRecord(row), issualId: row.issual_id };
}
