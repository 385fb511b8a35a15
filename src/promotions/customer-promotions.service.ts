import type { RequestContext } from '../auth/actor.js';
import type { CustomerPromotion } from '../client/types.js';
import type { Clock } from '../clock.js';
import {
  type CustomerPromotionStatus as CustomerStatus,
  FILTERABLE_STATUSES as FILTERABLE,
  IDENTIFIER_NAMES,
  isOneOf,
} from '../contract/enums.contract.js';
import { AppError } from '../errors.js';
import type { CustomerPromotionsRepository } from './customer-promotions.repository.js';
import { normalizeIdentifier } from './identifiers.js';
import {
  ANY_SOURCE,
  type IdentifierName,
  isLive,
  type Promotion,
  parsePromotionType,
  parseSource,
} from './promotion.model.js';

export {
  CUSTOMER_PROMOTION_STATUSES as CUSTOMER_STATUSES,
  type CustomerPromotionStatus as CustomerStatus,
} from '../contract/enums.contract.js';
export const MAX_LOOKUP_LIMIT = 100;

export interface PromotionDataQuery {
  identifierName?: string;
  identifierValue?: string;
  source?: string;
  promotionStatusForCustomer?: string;
  promotionType?: string;
  limit?: string;
  offset?: string;
}

export type { CustomerPromotion, PromotionLimit as Limit } from '../client/types.js';

const QUERY_FIELDS = [
  'identifierName',
  'identifierValue',
  'source',
  'promotionStatusForCustomer',
  'promotionType',
  'limit',
  'offset',
] as const satisfies readonly (keyof PromotionDataQuery)[];

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Where the customer stands in a promotion, given its usage so far. */
export function statusFor(
  promotion: Promotion,
  now: number,
  issuals: number,
  enrolled: boolean,
  earns: number,
): CustomerStatus {
  if (promotion.endAt !== null && now > promotion.endAt) return 'EXPIRED';
  if (!isLive(promotion, now) || promotion.type === 'GENERIC') return 'NOT_AVAILABLE';
  const canEnrol = promotion.maxIssualsPerCustomer === null || issuals < promotion.maxIssualsPerCustomer;
  const canEarn = promotion.maxEarnsPerCustomer === null || earns < promotion.maxEarnsPerCustomer;
  if (promotion.type === 'ENROL_AND_ISSUE' && !enrolled)
    return canEnrol ? 'AVAILABLE_TO_ENROL' : 'NOT_AVAILABLE';
  return (enrolled || canEnrol) && canEarn ? 'AVAILABLE_TO_EARN' : 'NOT_AVAILABLE';
}

function parseWhole(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new AppError(400, `${name} must be an integer from ${min} to ${max}`);
  return n;
}

export type CustomerPromotionsService = ReturnType<typeof createCustomerPromotionsService>;

export function createCustomerPromotionsService({
  repository,
  clock,
}: {
  repository: CustomerPromotionsRepository;
  clock: Clock;
}) {
  /** A customer's promotions, with enrolment, earns and limits, filtered and paged. */
  async function promotionData(ctx: RequestContext, query: PromotionDataQuery) {
    // A parameter given twice arrives as an array: refuse it rather than fail on it (a 500, before).
    for (const name of QUERY_FIELDS) {
      const value: unknown = query[name];
      if (value !== undefined && typeof value !== 'string')
        throw new AppError(400, `${name} must be given once`);
    }
    const { identifierName, identifierValue, source } = query;
    if (!identifierName) throw new AppError(11013);
    if (!isOneOf(IDENTIFIER_NAMES, identifierName)) throw new AppError(8013);
    if (!identifierValue?.trim() || !source?.trim()) throw new AppError(11013);
    const upperSource = source.trim().toUpperCase();
    if (upperSource !== ANY_SOURCE && parseSource(upperSource) === undefined) throw new AppError(8003);
    const status = query.promotionStatusForCustomer;
    if (status !== undefined && status !== '' && !isOneOf(FILTERABLE, status)) {
      throw new AppError(400, `promotionStatusForCustomer must be one of ${FILTERABLE.join(', ')}`);
    }
    const type = query.promotionType ? parsePromotionType(query.promotionType) : undefined;
    if (query.promotionType && !type) throw new AppError(400, 'promotionType is not a promotion type');
    const limit = parseWhole(query.limit, 'limit', 20, 1, MAX_LOOKUP_LIMIT);
    const offset = parseWhole(query.offset, 'offset', 0, 0, 1_000_000);

    const { orgId } = ctx.actor;
    const key = normalizeIdentifier(identifierName as IdentifierName, identifierValue);
    const customer =
      key === undefined
        ? undefined
        : await repository.findCustomer(orgId, identifierName as IdentifierName, key);
    if (!customer || (upperSource !== ANY_SOURCE && !customer.sources.has(upperSource)))
      throw new AppError(8015);

    const promotions = await repository.promotionsOf(orgId, customer.id, type);
    const records = await repository.recordsOf(
      orgId,
      customer.id,
      promotions.map((p) => p.id),
    );
    const now = clock.now();
    const all = promotions.map((promotion): CustomerPromotion => {
      const issuals = records.issuals.filter((i) => i.promotionId === promotion.id);
      const active = issuals.find((i) => i.revokedAt === null);
      const earns = records.earns.filter((e) => e.promotionId === promotion.id);
      return {
        programId: promotion.programId,
        promotionId: promotion.id,
        ...(promotion.promoIdentifier !== null ? { promoIdentifier: promotion.promoIdentifier } : {}),
        name: promotion.name,
        type: promotion.type,
        startDate: iso(promotion.startAt),
        endDate: iso(promotion.endAt),
        statusForCustomer: statusFor(promotion, now, issuals.length, active !== undefined, earns.length),
        issual: active
          ? { issualId: String(active.id), createdAt: new Date(active.createdAt).toISOString() }
          : null,
        earns: earns.map((e) => ({
          earnedId: String(e.id),
          issualId: String(e.issualId),
          createdAt: new Date(e.createdAt).toISOString(),
        })),
        limits: [
          { kpi: 'ISSUALS', maxLimit: promotion.maxIssualsPerCustomer, currentCustomerUsage: issuals.length },
          { kpi: 'EARNS', maxLimit: promotion.maxEarnsPerCustomer, currentCustomerUsage: earns.length },
        ],
      };
    });
    const filtered = status ? all.filter((p) => p.statusForCustomer === status) : all;
    return {
      data: {
        customer: { entityType: 'CUSTOMER', entityId: customer.id },
        promotions: filtered.slice(offset, offset + limit),
        pagination: { limit, offset, total: filtered.length },
      },
      warnings: [],
      errors: [],
    };
  }

  return { promotionData };
}
