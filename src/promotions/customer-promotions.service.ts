import type { RequestContext } from '../auth/actor.js';
import type { CustomerPromotion, PromotionDataResponse, PromotionRestriction } from '../client/types.js';
import type { Clock } from '../clock.js';
import {
  CUSTOMER_IDENTIFIER_NAMES,
  type CustomerPromotionStatus,
  isOneOf,
  LOOKUP_IDENTIFIER_NAMES,
  LOOKUP_SOURCE_TYPES,
  CUSTOMER_PROMOTION_STATUSES as STATUSES,
} from '../contract/enums.contract.js';
import { AppError } from '../errors.js';
import type { CustomerPromotionsRepository, CustomerRecords } from './customer-promotions.repository.js';
import { normalizeIdentifier, parsePositiveInt } from './identifiers.js';
import {
  ANY_SOURCE,
  isLive,
  POINTS_OFFER_TYPE,
  type Promotion,
  parsePromotionType,
  parseSource,
} from './promotion.model.js';

export const MAX_LOOKUP_LIMIT = 100;
const DEFAULT_LOOKUP_LIMIT = 10;

export interface PromotionDataQuery {
  identifierName?: string;
  identifierValue?: string;
  source?: string;
  promotionStatusForCustomer?: string;
  promotionType?: string;
  programs?: string;
  fetchAllUsage?: string;
  sourceType?: string;
  limit?: string;
  offset?: string;
}

export type { CustomerPromotion } from '../client/types.js';

const QUERY_FIELDS = [
  'identifierName',
  'identifierValue',
  'source',
  'promotionStatusForCustomer',
  'promotionType',
  'programs',
  'fetchAllUsage',
  'sourceType',
  'limit',
  'offset',
] as const satisfies readonly (keyof PromotionDataQuery)[];

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What the customer holds in one promotion. */
interface Usage {
  /** Every issual, revoked ones included (what the issual limit counts). */
  issuals: number;
  /** Unrevoked issuals, oldest first, each with its unrevoked earns. */
  active: { id: number; createdAt: number; earns: { id: number; createdAt: number }[] }[];
  /** Unrevoked earns (what the earn limit counts). */
  earns: number;
}

function usageOf(promotion: Promotion, records: CustomerRecords): Usage {
  const issuals = records.issuals.filter((i) => i.promotionId === promotion.id);
  const earns = records.earns.filter((e) => e.promotionId === promotion.id);
  const active = issuals
    .filter((i) => i.revokedAt === null)
    .map((i) => ({
      id: i.id,
      createdAt: i.createdAt,
      earns: earns.filter((e) => e.issualId === i.id).map((e) => ({ id: e.id, createdAt: e.createdAt })),
    }));
  return { issuals: issuals.length, active, earns: earns.length };
}

/**
 * Is the promotion in `status` for this customer (the page's promotionStatusForCustomer)? A
 * promotion may be in several: enrolled and earned, it is both to earn (again) and to redeem.
 */
export function inStatus(
  status: CustomerPromotionStatus,
  promotion: Promotion,
  usage: Pick<Usage, 'issuals' | 'earns'> & { enrolled: boolean },
  now: number,
): boolean {
  if (status === 'EXPIRED') return promotion.endAt !== null && now > promotion.endAt;
  if (!isLive(promotion, now)) return false;
  const issualRoom =
    promotion.maxIssualsPerCustomer === null || usage.issuals < promotion.maxIssualsPerCustomer;
  const earnRoom = promotion.maxEarnsPerCustomer === null || usage.earns < promotion.maxEarnsPerCustomer;
  switch (status) {
    case 'AVAILABLE_TO_ENROL':
      return promotion.type === 'ENROL_AND_ISSUE' && !usage.enrolled && issualRoom;
    case 'AVAILABLE_TO_EARN':
      if (promotion.type === 'GENERIC' || !earnRoom) return false;
      return usage.enrolled || (promotion.type === 'DIRECT' && issualRoom);
    case 'AVAILABLE_TO_REDEEM':
      return promotion.type === 'GENERIC' || usage.earns > 0;
  }
}

/** One restriction; an unset limit is left out, or shown as "-1" with fetchAllUsage. */
function restriction(
  kpi: PromotionRestriction['kpi'],
  max: number | null,
  used: number,
  all: boolean,
): PromotionRestriction[] {
  if (max === null && !all) return [];
  return [{ kpi, maxLimit: String(max ?? -1), currentCustomerUsage: String(used), limitOn: 'CUSTOMER' }];
}

/** A promotion in the page's shape (docs/api.md maps each field to our records). */
export function toCustomerPromotion(
  promotion: Promotion,
  usage: Usage,
  fetchAllUsage: boolean,
): CustomerPromotion {
  const generic = promotion.type === 'GENERIC';
  const expiry = iso(promotion.endAt);
  return {
    promotionId: promotion.id,
    promotionName: promotion.name,
    programId: promotion.programId,
    startDate: iso(promotion.startAt),
    endDate: expiry,
    identifier: promotion.promoIdentifier,
    description: '',
    active: promotion.active,
    // We keep no points: "0" is the pages' own value for a limit that is not set.
    limits: {
      maxPointsPerEvent: '0',
      pointsPerCustomer: '0',
      numberOFTimesPerCustomer: 0,
      totalPointsInPromotion: '0',
    },
    customerUsage: {
      currentPointsPerCustomer: '0',
      currentNumberOfTimesPerCustomer: usage.earns,
      currentTotalPointsInPromotion: '0',
    },
    pointsOfferType: POINTS_OFFER_TYPE[promotion.type],
    promotionRestriction: {
      issualRestrictions: generic
        ? []
        : restriction('NUMBER_OF_ISSUALS', promotion.maxIssualsPerCustomer, usage.issuals, fetchAllUsage),
      earnRestrictions: generic
        ? []
        : restriction('NUMBER_OF_EARNS', promotion.maxEarnsPerCustomer, usage.earns, fetchAllUsage),
      redemptionRestrictions: [],
    },
    ...(generic
      ? {}
      : {
          customerPromotionTimelines: usage.active.map((issual) => ({
            enrollmentDate: new Date(issual.createdAt).toISOString(),
            enrollmentExpiryDate: expiry,
            enrollmentId: issual.id,
            issuedDetails: issual.earns.map((earn) => ({
              issualId: earn.id,
              issualDate: new Date(earn.createdAt).toISOString(),
              issualExpiryDate: expiry,
              redeemedCount: 0,
            })),
          })),
        }),
  };
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

/** `programs`: comma-separated program ids (at most 100). */
function parsePrograms(value: string | undefined): number[] | undefined {
  if (value === undefined || value === '') return undefined;
  const ids = value.split(',').map((id) => parsePositiveInt(id.trim()));
  if (ids.length > 100 || ids.some((id) => id === undefined))
    throw new AppError(400, 'programs must be comma-separated program ids');
  return [...new Set(ids as number[])];
}

function parseOptionalEnum<T extends string>(
  value: string | undefined,
  name: string,
  list: readonly T[],
): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isOneOf(list, value)) throw new AppError(400, `${name} must be one of ${list.join(', ')}`);
  return value;
}

export type CustomerPromotionsService = ReturnType<typeof createCustomerPromotionsService>;

export function createCustomerPromotionsService({
  repository,
  clock,
}: {
  repository: CustomerPromotionsRepository;
  clock: Clock;
}) {
  /**
   * A customer's promotions as Capillary's get-promotion-data page answers them, filtered (by
   * status, type, programs) and paged; a constant number of statements.
   */
  async function promotionData(
    ctx: RequestContext,
    query: PromotionDataQuery,
  ): Promise<PromotionDataResponse> {
    // A parameter given twice arrives as an array: refuse it rather than fail on it.
    for (const name of QUERY_FIELDS) {
      const value: unknown = query[name];
      if (value !== undefined && typeof value !== 'string')
        throw new AppError(400, `${name} must be given once`);
    }
    const { identifierName, identifierValue, source } = query;
    if (!identifierName) throw new AppError(11013);
    if (!isOneOf(LOOKUP_IDENTIFIER_NAMES, identifierName)) throw new AppError(8013);
    if (!identifierValue?.trim() || !source?.trim()) throw new AppError(11013);
    const upperSource = source.trim().toUpperCase();
    if (upperSource !== ANY_SOURCE && parseSource(upperSource) === undefined) throw new AppError(8003);
    const status = parseOptionalEnum(
      query.promotionStatusForCustomer,
      'promotionStatusForCustomer',
      STATUSES,
    );
    const type = query.promotionType ? parsePromotionType(query.promotionType) : undefined;
    if (query.promotionType && !type) throw new AppError(400, 'promotionType is not a promotion type');
    const programs = parsePrograms(query.programs);
    const fetchAllUsage =
      parseOptionalEnum(query.fetchAllUsage, 'fetchAllUsage', ['true', 'false']) === 'true';
    parseOptionalEnum(query.sourceType, 'sourceType', LOOKUP_SOURCE_TYPES);
    const limit = parseWhole(query.limit, 'limit', DEFAULT_LOOKUP_LIMIT, 0, MAX_LOOKUP_LIMIT);
    const offset = parseWhole(query.offset, 'offset', 0, 0, 1_000_000);

    const { orgId } = ctx.actor;
    // A cuid is Capillary's own customer key, which no customer here has.
    const key = isOneOf(CUSTOMER_IDENTIFIER_NAMES, identifierName)
      ? normalizeIdentifier(identifierName, identifierValue)
      : undefined;
    const customer =
      key === undefined || !isOneOf(CUSTOMER_IDENTIFIER_NAMES, identifierName)
        ? undefined
        : await repository.findCustomer(orgId, identifierName, key);
    if (!customer || (upperSource !== ANY_SOURCE && !customer.sources.has(upperSource)))
      throw new AppError(8015);

    const promotions = await repository.promotionsOf(orgId, customer.id, type, programs);
    const records = await repository.recordsOf(
      orgId,
      customer.id,
      promotions.map((p) => p.id),
    );
    const now = clock.now();
    const all = promotions.flatMap((promotion) => {
      const usage = usageOf(promotion, records);
      const counts = { issuals: usage.issuals, earns: usage.earns, enrolled: usage.active.length > 0 };
      return !status || inStatus(status, promotion, counts, now) ? [{ promotion, usage }] : [];
    });
    return {
      pageDetails: {
        pageNumber: limit > 0 ? Math.floor(offset / limit) : 0,
        pageSize: limit,
        totalEntries: all.length,
        pageCount: limit > 0 ? Math.ceil(all.length / limit) : 0,
      },
      customerId: customer.id,
      promotions: all
        .slice(offset, offset + limit)
        .map(({ promotion, usage }) => toCustomerPromotion(promotion, usage, fetchAllUsage)),
      warnings: [],
    };
  }

  return { promotionData };
}
