import {
  ANY_SOURCE,
  type BulkAction,
  type IdentifierName,
  type PointsOfferType,
  PROMOTION_TYPES,
  type PromotionType,
  SOURCES,
  type Source,
} from '../contract/enums.contract.js';

export type { BulkAction, IdentifierName, PromotionType, Source };
// The enumerations are the contract's; they are re-exported here for the code that reads the model.
export { ANY_SOURCE, PROMOTION_TYPES, SOURCES };

// The backend names that Capillary's API and UI also use for the same types.
const TYPE_ALIASES: Readonly<Record<string, PromotionType>> = {
  ENROL_AND_ISSUE: 'ENROL_AND_ISSUE',
  LOYALTY_EARNING: 'ENROL_AND_ISSUE',
  ISSUE_AND_EARN: 'ENROL_AND_ISSUE',
  DIRECT: 'DIRECT',
  LOYALTY: 'DIRECT',
  DIRECT_EARN: 'DIRECT',
  DIRECT_ISSUE: 'DIRECT',
  GENERIC: 'GENERIC',
};

/** The canonical type for a type name or one of its aliases (case-insensitive), else undefined. */
export function parsePromotionType(value: unknown): PromotionType | undefined {
  return typeof value === 'string' ? TYPE_ALIASES[value.trim().toUpperCase()] : undefined;
}

const SOURCE_SET: ReadonlySet<string> = new Set(SOURCES);

/** The canonical source (upper case) for a registered source name, else undefined. */
export function parseSource(value: string): Source | undefined {
  const upper = value.trim().toUpperCase();
  return SOURCE_SET.has(upper) ? (upper as Source) : undefined;
}

/** Capillary's backend name of a type (promotionData's `pointsOfferType`). */
export const POINTS_OFFER_TYPE: Readonly<Record<PromotionType, PointsOfferType>> = {
  ENROL_AND_ISSUE: 'LOYALTY_EARNING',
  DIRECT: 'LOYALTY',
  GENERIC: 'GENERIC',
};

/** Does the action apply to a promotion of this type (contract section 1)? */
export function actionSupported(action: BulkAction, type: PromotionType): boolean {
  if (type === 'GENERIC') return false;
  return action === 'EARN' || action === 'REVOKE_EARN' || type === 'ENROL_AND_ISSUE';
}

export interface Promotion {
  id: number;
  programId: number;
  promoIdentifier: string | null;
  name: string;
  type: PromotionType;
  active: boolean;
  startAt: number | null;
  endAt: number | null;
  maxIssualsPerCustomer: number | null;
  maxEarnsPerCustomer: number | null;
}

/** Live: active, and now within [start, end] with either end open. */
export function isLive(promotion: Promotion, now: number): boolean {
  return (
    promotion.active &&
    (promotion.startAt === null || now >= promotion.startAt) &&
    (promotion.endAt === null || now <= promotion.endAt)
  );
}
