import {
  ANY_SOURCE,
  type BulkAction,
  IDENTIFIER_NAMES,
  type IdentifierName,
  isOneOf,
  type Source,
} from '../contract/enums.contract.js';
import { AppError } from '../errors.js';
import { hasNul, normalizeIdentifier, parsePositiveInt } from './identifiers.js';
import { parseSource } from './promotion.model.js';

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
  identifierName: IdentifierName;
  customers: CustomerRef[];
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
export function parseBulkRequest(body: unknown, allowedActions: readonly BulkAction[]): ParsedBulkRequest {
  const input = isObject(body) ? body : {};

  if (input.type !== 'CUSTOMER') throw new AppError(input.type === 'USERGROUP2' ? 8899 : 8901);

  const action = input.bulkAction;
  if (!isOneOf(allowedActions, action)) {
    throw new AppError(8902);
  }

  const details = isObject(input.promotionDetails) ? input.promotionDetails : {};
  const programId = parsePositiveInt(details.programId);
  const hasPromotionId = isGiven(details.promotionId);
  const hasIdentifier = isGiven(details.promoIdentifier);
  if (programId === undefined || (!hasPromotionId && !hasIdentifier)) throw new AppError(8881);

  const identifierName = input.identifierName;
  if (identifierName === undefined || identifierName === null || identifierName === '') {
    throw new AppError(11013);
  }
  if (!isOneOf(IDENTIFIER_NAMES, identifierName)) {
    throw new AppError(8013);
  }

  const customers = input.customers;
  if (!Array.isArray(customers) || customers.length === 0) throw new AppError(11013);
  if (customers.length > MAX_CUSTOMERS_PER_REQUEST) throw new AppError(1060);

  const promoIdentifier = hasIdentifier ? asText(details.promoIdentifier) : undefined;
  return {
    action,
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
    identifierName,
    customers: customers.map((c) => parseCustomer(c, identifierName)),
  };
}

function parseCustomer(item: unknown, identifierName: IdentifierName): CustomerRef {
  const fields = isObject(item) ? item : {};
  const value = asText(fields.identifierValue)?.trim();
  const source = typeof fields.source === 'string' ? fields.source.trim() : undefined;
  if (!value || !source) return { kind: 'error', code: 11013 };
  const upperSource = source.toUpperCase();
  const parsedSource = upperSource === ANY_SOURCE ? ANY_SOURCE : parseSource(upperSource);
  if (parsedSource === undefined) return { kind: 'error', code: 8003 };
  const key = value.length <= MAX_VALUE_LENGTH ? normalizeIdentifier(identifierName, value) : undefined;
  if (key === undefined) return { kind: 'malformed', source: parsedSource };
  const earnIds = parseEarnIds(fields.earnIds);
  return { kind: 'lookup', key, source: parsedSource, ...(earnIds === undefined ? {} : { earnIds }) };
}

function parseEarnIds(value: unknown): number[] | 'invalid' | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000) return 'invalid';
  const ids = value.map(parsePositiveInt);
  return ids.every((id) => id !== undefined) ? [...new Set(ids as number[])] : 'invalid';
}
