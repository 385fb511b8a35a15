/**
 * Every enumeration of the wire contract, declared once as a const array: the TypeScript type, the
 * JSON schema (`Type.Enum`) and the server's own checks all read the same list.
 */
import { Type } from 'typebox';

/** How a bulk request names its customers (the bulk pages list these three). */
export const IDENTIFIER_NAMES = ['id', 'mobile', 'email'] as const;
export type IdentifierName = (typeof IDENTIFIER_NAMES)[number];
/** How `issue` names its customer: the bulk names and the customer's external id. */
export const CUSTOMER_IDENTIFIER_NAMES = [...IDENTIFIER_NAMES, 'externalId'] as const;
export type CustomerIdentifierName = (typeof CUSTOMER_IDENTIFIER_NAMES)[number];
/** How promotionData names its customer: `cuid` is documented by Capillary and matches nobody here. */
export const LOOKUP_IDENTIFIER_NAMES = [...CUSTOMER_IDENTIFIER_NAMES, 'cuid'] as const;

/** Actions of `enrolAndEarn` and `directEarn`. */
export const GRANT_ACTIONS = ['ENROL', 'EARN'] as const;
export type GrantAction = (typeof GRANT_ACTIONS)[number];
/** Actions of `revokeEnrolAndEarn` and `revokeDirectEarn`. */
export const REVOKE_ACTIONS = ['REVOKE_ENROL', 'REVOKE_EARN'] as const;
export type RevokeAction = (typeof REVOKE_ACTIONS)[number];
export const BULK_ACTIONS = [...GRANT_ACTIONS, ...REVOKE_ACTIONS] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** Canonical promotion types (the aliases the API also takes on input live with the model). */
export const PROMOTION_TYPES = ['ENROL_AND_ISSUE', 'DIRECT', 'GENERIC'] as const;
export type PromotionType = (typeof PROMOTION_TYPES)[number];

/** The sources the bulk pages list. */
export const BULK_SOURCES = [
  'FACEBOOK',
  'WEB_ENGAGE',
  'INSTORE',
  'MARTJACK',
  'TMALL',
  'TAOBAO',
  'JD',
  'ECOMMERCE',
  'WEBSITE',
  'LINE',
] as const;
/** Sources a customer can be registered in: the bulk list, and those `issue`'s pages add. */
export const SOURCES = [...BULK_SOURCES, 'MOBILE_APP', 'WECHAT'] as const;
export type Source = (typeof SOURCES)[number];
/** A request may name this instead of a source: it matches a customer registered in any. */
export const ANY_SOURCE = 'ALL';

/** A till's or API client's access to the CUSTOMER resource. */
export const ACCESS_LEVELS = ['NONE', 'READ', 'WRITE'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** The statuses promotionData filters on (`promotionStatusForCustomer`); a promotion may be in several. */
export const CUSTOMER_PROMOTION_STATUSES = [
  'AVAILABLE_TO_ENROL',
  'AVAILABLE_TO_EARN',
  'AVAILABLE_TO_REDEEM',
  'EXPIRED',
] as const;
export type CustomerPromotionStatus = (typeof CUSTOMER_PROMOTION_STATUSES)[number];

/** promotionData's `promotionType` names (with the aliases the model takes). */
export const LOOKUP_PROMOTION_TYPES = ['GENERIC', 'DIRECT_ISSUE', 'ENROL_AND_ISSUE'] as const;
/** promotionData's `sourceType`: accepted, not applied (no promotion source is kept). */
export const LOOKUP_SOURCE_TYPES = ['UI', 'API', 'CAMPAIGN'] as const;
/** Capillary's backend name of each promotion type, as promotionData's `pointsOfferType`. */
export const POINTS_OFFER_TYPES = ['LOYALTY_EARNING', 'LOYALTY', 'GENERIC'] as const;
export type PointsOfferType = (typeof POINTS_OFFER_TYPES)[number];

/** What happened to an issual or an earn: the events of the outbox, the feed and the webhooks. */
export const EVENT_TYPES = [
  'promotion.enrolled',
  'promotion.earned',
  'promotion.enrolment_revoked',
  'promotion.earn_revoked',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What became of one webhook delivery attempt. */
export const DELIVERY_OUTCOMES = ['delivered', 'retrying', 'failed', 'disabled'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** Is `value` one of `list`? (A type guard, so that a checked string narrows to the enum.) */
export function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

/** The JSON schema of an enumeration, typed as its union. */
export const enumSchema = <const T extends readonly string[]>(list: T, description?: string) =>
  Type.Enum([...list] as [...T], description ? { description } : {});

/** Where a promotion stands now (see docs/management-api.md for each definition). */
export const PROMOTION_STATES = ['live', 'upcoming', 'paused', 'ended'] as const;
export type PromotionState = (typeof PROMOTION_STATES)[number];

/** A customer import: only new customers, or new ones and changes to existing ones. */
export const IMPORT_MODES = ['create', 'upsert'] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];
export const IMPORT_OUTCOMES = ['created', 'updated', 'unchanged', 'refused'] as const;
export type ImportOutcome = (typeof IMPORT_OUTCOMES)[number];

/** What a console user may do: viewer reads; operator also runs jobs, enrols, revokes and edits promotions; admin also manages credentials, webhooks and users. */
export const CONSOLE_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];
