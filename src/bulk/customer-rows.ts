import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { IdentifierName } from '../client/types.js';
import { BulkInputError } from './bulk-options.js';
import { CsvError, type CsvRecord, readCsv } from './csv-reader.js';

/** One customer of the input: its row number (as a spreadsheet shows it), identifier and source. */
export interface CustomerRow {
  row: number;
  identifier: string;
  /** The row's own source; absent means the run's default. */
  source: string | undefined;
}

/** Where the columns are: decided by the first non-blank record. */
export interface Layout {
  header: boolean;
  identifierColumn: number;
  sourceColumn: number | undefined;
  /** Fields every record must have. */
  width: number;
}

/** What a first read of the whole file found. */
export interface Scan {
  /** SHA-256 of the file's bytes: names the run (its Idempotency-Keys and journal). */
  sha256: string;
  customers: number;
  layout: Layout;
  size: number;
  mtimeMs: number;
}

const normalize = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Column names, in order of preference, that hold the identifier. */
function identifierNames(identifierName: IdentifierName): string[] {
  return [
    identifierName,
    'identifiervalue',
    'identifier',
    ...(identifierName === 'id' ? ['customerid'] : []),
  ];
}

/** The first record is a header when it names a column this command knows. */
export function layoutOf(first: CsvRecord, identifierName: IdentifierName): Layout {
  const names = first.fields.map((f) => normalize(f.trim()));
  const wanted = identifierNames(identifierName);
  const sourceIndex = names.indexOf('source');
  const known = new Set([
    ...identifierNames('id'),
    ...identifierNames('mobile'),
    ...identifierNames('email'),
  ]);
  const header = sourceIndex >= 0 || names.some((n) => known.has(n));
  if (!header) {
    return {
      header: false,
      identifierColumn: 0,
      sourceColumn: first.fields.length > 1 ? 1 : undefined,
      width: first.fields.length,
    };
  }
  const identifierColumn = wanted.map((w) => names.indexOf(w)).find((i) => i >= 0);
  if (identifierColumn === undefined) {
    throw new BulkInputError(
      `row ${first.row}: the header (${first.fields.join(',')}) has no ${identifierName} column: ` +
        `name it "${identifierName}" or "identifierValue"`,
    );
  }
  return {
    header: true,
    identifierColumn,
    sourceColumn: sourceIndex >= 0 ? sourceIndex : undefined,
    width: first.fields.length,
  };
}

const isBlank = (record: CsvRecord) => record.fields.length === 1 && record.fields[0]?.trim() === '';

/**
 * The customers of a file, one at a time, in constant memory. Blank lines are skipped; every other
 * record must have as many fields as the first and a non-empty identifier.
 */
export async function* customerRows(
  records: AsyncIterable<CsvRecord>,
  identifierName: IdentifierName,
  onLayout?: (layout: Layout) => void,
): AsyncGenerator<CustomerRow> {
  let layout: Layout | undefined;
  for await (const record of records) {
    if (isBlank(record)) continue;
    if (!layout) {
      layout = layoutOf(record, identifierName);
      onLayout?.(layout);
      if (layout.header) continue;
    }
    if (record.fields.length !== layout.width) {
      throw new BulkInputError(
        `row ${record.row}: ${record.fields.length} field(s), but the ${layout.header ? 'header' : 'first row'} has ${layout.width}`,
      );
    }
    const identifier = (record.fields[layout.identifierColumn] ?? '').trim();
    if (identifier === '') throw new BulkInputError(`row ${record.row}: the identifier is empty`);
    const source =
      layout.sourceColumn === undefined ? undefined : (record.fields[layout.sourceColumn] ?? '').trim();
    yield { row: record.row, identifier, source: source === '' ? undefined : source };
  }
}

/** The file's text in pieces, feeding each byte read to `onBytes` first. */
async function* decoded(file: string, onBytes?: (bytes: Buffer) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  for await (const bytes of stream as AsyncIterable<Buffer>) {
    onBytes?.(bytes);
    yield decoder.write(bytes);
  }
  yield decoder.end();
}

/** Turns a CSV syntax error into an input error, which names the file as well as the row. */
async function* withFileErrors<T>(file: string, rows: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* rows;
  } catch (err) {
    if (err instanceof CsvError || err instanceof BulkInputError)
      throw new BulkInputError(`${file}: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
      throw new BulkInputError(`cannot read ${file}: ${(err as Error).message}`);
    }
    throw err;
  }
}

/** Reads the customers of a CSV file. */
export function readCustomers(
  file: string,
  identifierName: IdentifierName,
  onBytes?: (bytes: Buffer) => void,
): AsyncGenerator<CustomerRow> {
  return withFileErrors(file, customerRows(readCsv(decoded(file, onBytes)), identifierName));
}

/**
 * Reads the whole file once before anything is sent: a bad row anywhere stops the run before the
 * first call, and the count and hash give the progress bar its total and the run its name.
 */
export async function scanCustomers(
  file: string,
  identifierName: IdentifierName,
  stat: { size: number; mtimeMs: number },
): Promise<Scan> {
  const hash = createHash('sha256');
  let layout: Layout | undefined;
  let customers = 0;
  const rows = withFileErrors(
    file,
    customerRows(readCsv(decoded(file, (bytes) => hash.update(bytes))), identifierName, (found) => {
      layout = found;
    }),
  );
  for await (const _ of rows) customers += 1;
  if (!layout) throw new BulkInputError(`${file}: the file is empty: it holds no customers`);
  if (customers === 0) throw new BulkInputError(`${file}: row 1 is a header, and no customer rows follow it`);
  return { sha256: hash.digest('hex'), customers, layout, size: stat.size, mtimeMs: stat.mtimeMs };
}
