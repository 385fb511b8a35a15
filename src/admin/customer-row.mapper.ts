import type { CustomerItemInput } from '../contract/admin.contract.js';
import { normalizeEmail, normalizeMobile, parsePositiveInt } from '../promotions/identifiers.js';
import { parseSource, SOURCES } from '../promotions/promotion.model.js';
import type { CustomerChange, RowRefusal } from './customer-changes.plan.js';

/*
 * Customer rows of an import (JSON items or CSV records) and of a PATCH, read into changes. A value
 * that cannot be stored refuses its row, naming the field; the other rows go on.
 */

class Refused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function sourcesOf(list: readonly string[], field: string): string[] {
  return [
    ...new Set(
      list.map((s, i) => {
        const source = parseSource(s);
        if (!source)
          throw new Refused(`${field}[${i}]`, `${field}[${i}] must be one of ${SOURCES.join(', ')}`);
        return source;
      }),
    ),
  ];
}

function programsOf(list: readonly (number | string)[], field: string): number[] {
  return [
    ...new Set(
      list.map((p, i) => {
        const id = parsePositiveInt(p);
        if (id === undefined)
          throw new Refused(`${field}[${i}]`, `${field}[${i}] must be a positive integer`);
        return id;
      }),
    ),
  ];
}

function identifiers(item: Pick<CustomerItemInput, 'mobile' | 'email' | 'externalId'>, at: string) {
  const change: CustomerChange = {};
  if (item.mobile !== undefined) {
    const mobile = item.mobile === null ? null : normalizeMobile(item.mobile);
    if (mobile === undefined) throw new Refused(`${at}mobile`, 'mobile must hold digits only');
    change.mobile = mobile;
  }
  if (item.email !== undefined) {
    const email = item.email === null ? null : normalizeEmail(item.email);
    if (email === undefined) throw new Refused(`${at}email`, 'email is not an email address');
    change.email = email;
  }
  if (item.externalId !== undefined) change.externalId = item.externalId;
  return change;
}

/** A JSON item (its shape checked by the contract): absent keeps the stored value, null clears it. */
export function readChange(item: CustomerItemInput, at: string): CustomerChange | RowRefusal {
  try {
    const change = identifiers(item, at);
    if (item.id !== undefined) {
      const id = parsePositiveInt(item.id);
      if (id === undefined) throw new Refused(`${at}id`, 'id must be a positive integer');
      change.id = id;
    }
    if (item.sources != null) change.sources = sourcesOf(item.sources, `${at}sources`);
    if (item.programIds != null) change.programIds = programsOf(item.programIds, `${at}programIds`);
    return change;
  } catch (err) {
    if (err instanceof Refused) return { refused: err.message, field: err.field };
    throw err;
  }
}

export const CSV_COLUMNS = ['id', 'mobile', 'email', 'externalId', 'sources', 'programIds'] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];

/** The header's columns, or why the file cannot be read at all. */
export function readHeader(fields: readonly string[]): { columns: (CsvColumn | null)[] } | { error: string } {
  const known = new Map(CSV_COLUMNS.map((c) => [c.toLowerCase(), c]));
  const columns = fields.map((f) => known.get(f.trim().toLowerCase()) ?? null);
  const unknown = fields.find((_, i) => columns[i] === null);
  if (unknown !== undefined)
    return { error: `unknown column "${unknown}"; the columns are ${CSV_COLUMNS.join(', ')}` };
  const repeated = columns.find((c, i) => columns.indexOf(c) !== i);
  if (repeated) return { error: `column ${repeated} appears twice` };
  if (!columns.some((c) => c === 'id' || c === 'mobile' || c === 'email' || c === 'externalId')) {
    return { error: 'the header names no identifier column (id, mobile, email or externalId)' };
  }
  return { columns };
}

/** A CSV record: an empty cell keeps the stored value; `sources` and `programIds` are `;`-separated. */
export function readCsvRow(
  columns: readonly (CsvColumn | null)[],
  fields: readonly string[],
): CustomerChange | RowRefusal {
  if (fields.length !== columns.length) {
    return { refused: `the row has ${fields.length} fields, the header ${columns.length}` };
  }
  const item: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    const value = (fields[i] as string).trim();
    if (column === null || value === '') return;
    item[column] =
      column === 'sources' || column === 'programIds' ? value.split(';').map((v) => v.trim()) : value;
  });
  if (Object.keys(item).length === 0) return { refused: 'the row is empty' };
  return readChange(item as CustomerItemInput, '');
}
