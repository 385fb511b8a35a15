import { ISO_DATE_TIME_PATTERN } from '../contract/admin.contract.js';
import { badRequest } from '../errors.js';
import { parsePositiveInt } from '../promotions/identifiers.js';

const ISO_DATE_TIME = new RegExp(ISO_DATE_TIME_PATTERN);

/** Epoch milliseconds of a real ISO 8601 date-time with an offset; no 30 February rolled into March. */
export function parseDateTime(text: string): number | undefined {
  const m = ISO_DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = m.slice(1, 6).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = Number(m[6] ?? 0);
  const millis = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offset = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset;
}

/** An integer of the contract's `Id`/`Count` shape (a number, or its digits) as a number, naming `field`. */
export function toInt(
  value: number | string,
  field: string,
  range: { min?: number; max?: number } = {},
): number {
  const n = parsePositiveInt(value);
  if (n === undefined) throw badRequest(field, `${field} must be a positive integer`);
  // The schema bounds the number form; the digits form is bounded here.
  if (n < (range.min ?? 1) || n > (range.max ?? Number.MAX_SAFE_INTEGER)) {
    throw badRequest(
      field,
      `${field} must be from ${range.min ?? 1} to ${range.max ?? Number.MAX_SAFE_INTEGER}`,
    );
  }
  return n;
}

/** The same for an optional or clearable one: absent stays absent, null stays null. */
export function toOptionalInt<T extends null | undefined>(
  value: number | string | T,
  field: string,
  range?: { min?: number; max?: number },
): number | T {
  return value === null || value === undefined ? (value as T) : toInt(value, field, range);
}
