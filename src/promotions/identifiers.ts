import type { CustomerIdentifierName } from '../contract/enums.contract.js';

/** A positive integer that a double holds exactly, given as a number or a string of digits. */
export function parsePositiveInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value === 'string' && /^[0-9]{1,16}$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  }
  return undefined;
}

const MOBILE_NOISE = /[\s\-+()]/g;

/** Digits only, with spaces, dashes, plus signs and brackets dropped; undefined if anything else is left. */
export function normalizeMobile(value: string): string | undefined {
  const digits = value.replace(MOBILE_NOISE, '');
  return /^[0-9]{1,20}$/.test(digits) ? digits : undefined;
}

/** Trimmed and lower-cased; undefined for something that cannot be an address. */
export function normalizeEmail(value: string): string | undefined {
  const email = value.trim().toLowerCase();
  return email.length > 0 && email.length <= 320 && email.includes('@') && !hasNul(email) ? email : undefined;
}

/** Trimmed and compared exactly (leading zeros are part of it); undefined when it cannot be one. */
export function normalizeExternalId(value: string): string | undefined {
  const id = value.trim();
  return id.length > 0 && id.length <= 100 && !hasNul(id) ? id : undefined;
}

/** PostgreSQL cannot hold U+0000 in text, so no stored value has one: such input matches nothing. */
export function hasNul(value: string): boolean {
  return value.includes('\u0000');
}

/**
 * The stored form of a customer identifier as the store keeps it, or undefined when the value is
 * malformed (a malformed identifier finds nobody).
 */
export function normalizeIdentifier(
  name: CustomerIdentifierName,
  value: string,
): string | number | undefined {
  switch (name) {
    case 'id':
      return parsePositiveInt(value.trim());
    case 'mobile':
      return normalizeMobile(value);
    case 'email':
      return normalizeEmail(value);
    case 'externalId':
      return normalizeExternalId(value);
  }
}
