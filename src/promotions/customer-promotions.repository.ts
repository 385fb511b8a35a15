import type { CustomerIdentifierName } from '../contract/enums.contract.js';
import type { Db } from '../db/database.js';
import { IDENTIFIER_COLUMNS, PROMOTION_COLUMNS, toPromotion } from './promotion.mapper.js';
import type { Promotion, PromotionType } from './promotion.model.js';
import {
  EARN_COLUMNS,
  type EarnRecord,
  ISSUAL_COLUMNS,
  type IssualRecord,
  toEarnRecord,
  toIssualRecord,
} from './record.mapper.js';

export interface CustomerRecords {
  issuals: IssualRecord[];
  earns: EarnRecord[];
}

export type CustomerPromotionsRepository = ReturnType<typeof createCustomerPromotionsRepository>;

/** The reads behind `GET /v2/customers/lookup/promotionData`. */
export function createCustomerPromotionsRepository(db: Db) {
  return {
    /** The customer with this identifier in the org, and the sources it is registered in. */
    async findCustomer(
      orgId: number,
      identifierName: CustomerIdentifierName,
      key: string | number,
    ): Promise<{ id: number; sources: Set<string> } | undefined> {
      const column = IDENTIFIER_COLUMNS[identifierName];
      const rows = await db
        .selectFrom('customers as c')
        .leftJoin('customer_sources as s', (join) =>
          join.onRef('s.org_id', '=', 'c.org_id').onRef('s.customer_id', '=', 'c.id'),
        )
        .select(['c.id', 's.source'])
        .where('c.org_id', '=', orgId)
        .where(column, '=', key as never)
        .execute();
      const first = rows[0];
      if (!first) return undefined;
      return { id: first.id, sources: new Set(rows.flatMap((r) => (r.source === null ? [] : [r.source]))) };
    },

    /**
     * Promotions of every program the customer is a member of (of one type, and within some
     * programs, when asked), newest id first as the page's examples list them.
     */
    async promotionsOf(
      orgId: number,
      customerId: number,
      type: PromotionType | undefined,
      programIds: readonly number[] | undefined,
    ): Promise<Promotion[]> {
      const rows = await db
        .selectFrom('promotions as p')
        .innerJoin('program_members as m', (join) =>
          join.onRef('m.org_id', '=', 'p.org_id').onRef('m.program_id', '=', 'p.program_id'),
        )
        .select(PROMOTION_COLUMNS.map((c) => `p.${c}` as const))
        .where('m.org_id', '=', orgId)
        .where('m.customer_id', '=', customerId)
        .$if(type !== undefined, (qb) => qb.where('p.type', '=', type as PromotionType))
        .$if(programIds !== undefined, (qb) => qb.where('p.program_id', 'in', programIds as number[]))
        .orderBy('p.id', 'desc')
        .execute();
      return rows.map(toPromotion);
    },

    /** The customer's issuals (revoked ones too) and active earns in these promotions. */
    async recordsOf(orgId: number, customerId: number, promotionIds: number[]): Promise<CustomerRecords> {
      if (promotionIds.length === 0) return { issuals: [], earns: [] };
      const issuals = await db
        .selectFrom('issuals')
        .select(ISSUAL_COLUMNS)
        .where('org_id', '=', orgId)
        .where('promotion_id', 'in', promotionIds)
        .where('customer_id', '=', customerId)
        .orderBy('id')
        .execute();
      const earns = await db
        .selectFrom('earns')
        .select(EARN_COLUMNS)
        .where('org_id', '=', orgId)
        .where('promotion_id', 'in', promotionIds)
        .where('customer_id', '=', customerId)
        .where('revoked_at', 'is', null)
        .orderBy('id')
        .execute();
      return { issuals: issuals.map(toIssualRecord), earns: earns.map(toEarnRecord) };
    },
  };
}
