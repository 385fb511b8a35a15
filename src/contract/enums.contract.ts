/**
 * Every enumeration of the wire contract, declared once as a const array: the TypeScript type, the
 * JSON schema (`Type.Enum`) and the server's own checks all read the same list.
 */
import { Type } from 'typebox';

/** How a request names its customers. */
export const IDENTIFIER_NAMES = ['id', 'mobile', 'email'] as const;
export type IdentifierName = (typeof IDENTIFIER_NAMES)[number];

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

/** Sources a customer can be registered in. */
export const SOURCES = [
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
export type Source = (typeof SOURCES)[number];
/** A request may name this instead of a source: it matches a customer registered in any. */
export const ANY_SOURCE = 'ALL';

/** A till's or API client's access to the CUSTOMER resource. */
export const ACCESS_LEVELS = ['NONE', 'READ', 'WRITE'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** What a customer may do with a promotion, as promotionData reports it. */
export const CUSTOMER_PROMOTION_STATUSES = [
  'AVAILABLE_TO_ENROL',
  'AVAILABLE_TO_EARN',
  'EXPIRED',
  'NOT_AVAILABLE',
] as const;
export type CustomerPromotionStatus = (typeof CUSTOMER_PROMOTION_STATUSES)[number];
/** The statuses promotionData can filter on. */
export const FILTERABLE_STATUSES = ['AVAILABLE_TO_ENROL', 'AVAILABLE_TO_EARN', 'EXPIRED'] as const;
export type FilterableStatus = (typeof FILTERABLE_STATUSES)[number];

/** The usage counters of a promotion's limits. */
export const LIMIT_KPIS = ['ISSUALS', 'EARNS'] as const;

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
