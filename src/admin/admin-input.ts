import { badRequest } from '../errors.js';
import { parsePositiveInt } from '../promotions/identifiers.js';

/** Reads the fields of one JSON object of a management request, naming the field in every error. */
export class Fields {
  private constructor(
    private readonly value: Record<string, unknown>,
    private readonly path: string,
  ) {}

  /** The object at `path`, refusing anything else and any field not in `allowed`. */
  static of(value: unknown, path: string, allowed: readonly string[]): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest(path || 'body', `${path || 'body'} must be a JSON object`);
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) throw badRequest(join(path, key), `unknown field ${join(path, key)}`);
    }
    return new Fields(value as Record<string, unknown>, path);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.value[key];
  }

  field(key: string): string {
    return join(this.path, key);
  }

  string(key: string, opts: { required: true; max?: number }): string;
  string(key: string, opts?: { required?: false; max?: number }): string | undefined;
  string(key: string, { required = false, max = 200 }: { required?: boolean; max?: number } = {}) {
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) throw badRequest(this.field(key), `${this.field(key)} is required`);
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      throw badRequest(this.field(key), `${this.field(key)} must be a non-empty string`);
    }
    if (v.length > max)
      throw badRequest(this.field(key), `${this.field(key)} is longer than ${max} characters`);
    if (v.includes('\u0000')) throw badRequest(this.field(key), `${this.field(key)} holds a NUL character`);
    return v;
  }

  /** A positive integer (a string of digits also does); `null` passes only with `nullable`. */
  id(key: string, opts: { required: true }): number;
  id(key: string, opts?: { required?: false; nullable?: boolean }): number | null | undefined;
  id(key: string, { required = false, nullable = false }: { required?: boolean; nullable?: boolean } = {}) {
    const v = this.value[key];
    if (v === undefined || (v === null && !required && nullable)) {
      if (required) throw badRequest(this.field(key), `${this.field(key)} is required`);
      return v === null ? null : undefined;
    }
    const n = parsePositiveInt(v);
    if (n === undefined) throw badRequest(this.field(key), `${this.field(key)} must be a positive integer`);
    return n;
  }

  boolean(key: string): boolean | undefined {
    const v = this.value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw badRequest(this.field(key), `${this.field(key)} must be true or false`);
    return v;
  }

  /** An ISO 8601 date-time with an offset (or Z), as epoch milliseconds; null clears it. */
  dateTime(key: string): number | null | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return v;
    const ms = typeof v === 'string' ? parseDateTime(v) : undefined;
    if (ms === undefined) {
      throw badRequest(
        this.field(key),
        `${this.field(key)} must be an ISO 8601 date-time with an offset, like 2026-01-31T23:59:59+05:30`,
      );
    }
    return ms;
  }

  array(key: string, { max, required = false }: { max: number; required?: boolean }): unknown[] | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) throw badRequest(this.field(key), `${this.field(key)} is required`);
      return undefined;
    }
    if (!Array.isArray(v)) throw badRequest(this.field(key), `${this.field(key)} must be an array`);
    if (v.length > max) throw badRequest(this.field(key), `${this.field(key)} holds more than ${max} items`);
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], opts: { required: true }): T;
  oneOf<T extends string>(key: string, values: readonly T[], opts?: { required?: false }): T | undefined;
  oneOf<T extends string>(
    key: string,
    values: readonly T[],
    { required = false }: { required?: boolean } = {},
  ) {
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) throw badRequest(this.field(key), `${this.field(key)} is required`);
      return undefined;
    }
    if (typeof v !== 'string' || !values.includes(v as T)) {
      throw badRequest(this.field(key), `${this.field(key)} must be one of ${values.join(', ')}`);
    }
    return v as T;
  }
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))$/;

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

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A path parameter that must be a positive integer id. */
export function pathId(value: string, name: string): number {
  const n = parsePositiveInt(value);
  if (n === undefined) throw badRequest(name, `${name} must be a positive integer`);
  return n;
}
