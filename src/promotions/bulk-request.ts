import {
  ANY_SOURCE,
  BULK_SOURCES,
  type BulkAction,
  CUSTOMER_IDENTIFIER_NAMES,
  type CustomerIdentifierName,
  IDENTIFIER_NAMES,
  isOneOf,
  type PromotionType,
  SOURCES,
  type Source,
} from '../contract/enums.contract.js';
import { type ApiCode, AppError } from '../errors.js';
import type { ResultNaming } from './bulk-item.js';
import { hasNul, normalizeIdentifier, parsePositiveInt } from './identifiers.js';

/**
 * What one bulk endpoint accepts, as its Capillary page documents it: its actions (with the names
 * older versions of the page use, and what a missing bulkAction means), the promotion types it
 * serves, the messages its page words differently from the seed's, and how its results name the
 * promotion.
 */
export interface BulkEndpoint {
  actions: readonly BulkAction[];
  /** The action of a request without bulkAction; absent, such a request is refused (8902). */
  defaultAction?: BulkAction;
  /** Other names of the actions, as older versions of the page send them. */
  aliases?: Readonly<Record<string, BulkAction>>;
  /** The promotion types served, when fewer than the actions support. */
  types?: readonly PromotionType[];
  /** The page's own wording of a code, where it differs from the seed page's. */
  messages?: Readonly<Partial<Record<ApiCode, string>>>;
  /** Results name the promotion as the request did (the family's pages), not as the seed does. */
  namesAsRequested?: boolean;
  /** A reached limit answers the page's 8890 and no ids (directEarn's and issue's pages). */
  pageLimits?: boolean;
}

/** The endpoint's refusal with `code`, in its page's words. */
export function refusal(endpoint: BulkEndpoint, code: ApiCode): AppError {
  return new AppError(code, endpoint.messages?.[code]);
}

export const MAX_CUSTOMERS_PER_REQUEST = 100;
// Longer identifier values or sources than this cannot be valid; they are not worth normalising.
const MAX_VALUE_LENGTH = 320;
/** The management API refuses longer promoIdentifiers, so a longer one can name no promotion. */
export const MAX_PROMO_IDENTIFIER_LENGTH = 100;

/** How the promotion was named: by id, by external identifier, or both (which must agree). */
export interface PromotionRef {
  /** `null` when not given; `'invalid'` when given but not a positive integer (it matches nothing). */
  promotionId: number | null | 'invalid';
  promoIdentifier: string | null;
}

/** A bulk request after its whole-request checks: what the service acts on (the wire shape is BulkRequest). */
export interface ParsedBulkRequest extends PromotionRef {
  action: BulkAction;
  programId: number;
  identifierName: CustomerIdentifierName;
  customers: CustomerRef[];
}

/** How the request's results name the promotion, on an endpoint that names it as requested. */
export function namingOf(request: PromotionRef, endpoint: BulkEndpoint): ResultNaming | undefined {
  if (!endpoint.namesAsRequested) return undefined;
  return { promotionId: request.promotionId !== null, promoIdentifier: request.promoIdentifier !== null };
}

/** One customer of the request after its own checks: either a lookup key or the error it already has. */
export type CustomerRef =
  | {
      kind: 'lookup';
      key: string | number;
      source: Source | typeof ANY_SOURCE;
      /** REVOKE_EARN only: the earns to revoke (absent: all active ones); 'invalid' when malformed. */
      earnIds?: number[] | 'invalid';
      /**
       * Set only by a bulk job's undo, never from the wire: the issual the undone job made, the only
       * one the row may revoke (REVOKE_ENROL), or the implicit one to revoke with its earns (REVOKE_EARN).
       */
      issualId?: number;
    }
  | { kind: 'malformed'; source: Source | typeof ANY_SOURCE }
  | { kind: 'error'; code: 11013 | 8003 };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isGiven(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Applies the whole-request checks of contract section 2 in their order and throws the first that
 * fails; then classifies each customer without touching the store.
 */
export function parseBulkRequest(body: unknown, endpoint: BulkEndpoint): ParsedBulkRequest {
  const input = isObject(body) ? body : {};

  if (input.type !== 'CUSTOMER') throw refusal(endpoint, input.type === 'USERGROUP2' ? 8899 : 8901);

  const action = actionOf(input.bulkAction, endpoint);
  if (action === undefined) throw refusal(endpoint, 8902);

  const promotion = parsePromotionDetails(input.promotionDetails);
  if (!promotion) throw refusal(endpoint, 8881);

  const identifierName = input.identifierName;
  if (identifierName === undefined || identifierName === null || identifierName === '') {
    throw refusal(endpoint, 11013);
  }
  if (!isOneOf(IDENTIFIER_NAMES, identifierName)) {
    throw refusal(endpoint, 8013);
  }

  const customers = input.customers;
  if (!Array.isArray(customers) || customers.length === 0) throw refusal(endpoint, 11013);
  if (customers.length > MAX_CUSTOMERS_PER_REQUEST) throw refusal(endpoint, 1060);

  return {
    action,
    ...promotion,
    identifierName,
    customers: customers.map((c) => parseCustomer(c, identifierName)),
  };
}

/** The query string of `issue`, as it arrives (a parameter given twice is an array). */
export interface IssueQuery {
  identifierName?: unknown;
  identifierValue?: unknown;
  source?: unknown;
  type?: unknown;
  accountId?: unknown;
}

const given = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/**
 * `issue`'s checks, in the order of its pages' error table: the entity type (1212), the customer's
 * query parameters (11013, 8013, 8003), then the body (8881); the program, the promotion and the
 * customer follow as in a bulk request. The action is EARN until the promotion's type is known.
 */
export function parseIssueRequest(query: IssueQuery, body: unknown): ParsedBulkRequest {
  const { identifierName, identifierValue, source, type } = query ?? {};
  if (type !== undefined && type !== 'CUSTOMER') throw new AppError(1212);
  if (!given(identifierName) || !given(identifierValue) || !given(source)) throw new AppError(11013);
  if (!isOneOf(CUSTOMER_IDENTIFIER_NAMES, identifierName)) throw new AppError(8013);
  const customer = parseCustomer({ identifierValue, source }, identifierName, SOURCES);
  if (customer.kind === 'error') throw new AppError(customer.code);
  const promotion = parsePromotionDetails(body);
  if (!promotion) throw new AppError(8881);
  return { action: 'EARN', ...promotion, identifierName, customers: [customer] };
}

/** The action a bulkAction names on this endpoint (its own name or an alias), else undefined. */
function actionOf(value: unknown, endpoint: BulkEndpoint): BulkAction | undefined {
  if (value === undefined && endpoint.defaultAction) return endpoint.defaultAction;
  if (isOneOf(endpoint.actions, value)) return value;
  const { aliases } = endpoint;
  return typeof value === 'string' && aliases && Object.hasOwn(aliases, value) ? aliases[value] : undefined;
}

/**
 * `{programId, promotionId | promoIdentifier}` (a bulk request's promotionDetails, or issue's body):
 * undefined when the program or both promotion names are missing (8881).
 */
export function parsePromotionDetails(value: unknown): (PromotionRef & { programId: number }) | undefined {
  const details = isObject(value) ? value : {};
  const programId = parsePositiveInt(details.programId);
  const hasPromotionId = isGiven(details.promotionId);
  const hasIdentifier = isGiven(details.promoIdentifier);
  if (programId === undefined || (!hasPromotionId && !hasIdentifier)) return undefined;
  const promoIdentifier = hasIdentifier ? asText(details.promoIdentifier) : undefined;
  return {
    programId,
    promotionId: hasPromotionId ? (parsePositiveInt(details.promotionId) ?? 'invalid') : null,
    // A promoIdentifier of the wrong type, or too long, matches no promotion; nor does the empty string.
    promoIdentifier: hasIdentifier
      ? promoIdentifier !== undefined &&
        promoIdentifier.length <= MAX_PROMO_IDENTIFIER_LENGTH &&
        !hasNul(promoIdentifier)
        ? promoIdentifier
        : ''
      : null,
  };
}

/**
 * One customer of a request. `sources` are those its page lists (the bulk pages: the ten of
 * BULK_SOURCES); `ALL` is taken everywhere.
 */
export function parseCustomer(
  item: unknown,
  identifierName: CustomerIdentifierName,
  sources: readonly Source[] = BULK_SOURCES,
): CustomerRef {
  const fields = isObject(item) ? item : {};
  const value = asText(fields.identifierValue)?.trim();
  const source = typeof fields.source === 'string' ? fields.source.trim() : undefined;
  if (!value || !source) return { kind: 'error', code: 11013 };
  const upperSource = source.toUpperCase();
  const parsedSource =
    upperSource === ANY_SOURCE ? ANY_SOURCE : isOneOf(sources, upperSource) ? upperSource : undefined;
  if (parsedSource === undefined) return { kind: 'error', code: 8003 };
  const key = value.length <= MAX_VALUE_LENGTH ? normalizeIdentifier(identifierName, value) : undefined;
  if (key === undefined) return { kind: 'malformed', source: parsedSource };
  // The revoke pages spell the field both ways (earnIDs in a table, earnIds in examples): both count.
  const earnIds = mergeEarnIds(parseEarnIds(fields.earnIds), parseEarnIds(fields.earnIDs));
  return { kind: 'lookup', key, source: parsedSource, ...(earnIds === undefined ? {} : { earnIds }) };
}

function parseEarnIds(value: unknown): number[] | 'invalid' | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000) return 'invalid';
  const ids = value.map(parsePositiveInt);
  return ids.every((id) => id !== undefined) ? [...new Set(ids as number[])] : 'invalid';
}

function mergeEarnIds(
  a: number[] | 'invalid' | undefined,
  b: number[] | 'invalid' | undefined,
): number[] | 'invalid' | undefined {
  if (a === 'invalid' || b === 'invalid') return 'invalid';
  if (a === undefined || b === undefined) return a ?? b;
  const ids = [...new Set([...a, ...b])];
  return ids.length > 1000 ? 'invalid' : ids;
}
