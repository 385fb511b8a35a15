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

/** Is `value` one of `list`? (A type guard, so that a checked string narrows to the enum.) */
export function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

/** The JSON schema of an enumeration, typed as its union. */
export const enumSchema = <const T extends readonly string[]>(list: T, description?: string) =>
  Type.Enum([...list] as [...T], description ? { description } : {});

/** What a console user may do: viewer reads; operator also runs jobs, enrols, revokes and edits promotions; admin also manages credentials, webhooks and users. */
export const CONSOLE_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];
