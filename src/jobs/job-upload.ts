import { StringDecoder } from 'node:string_decoder';
import { BulkInputError } from '../bulk/bulk-options.js';
import { CsvError, CsvParser, type CsvRecord } from '../bulk/csv-reader.js';
import { layoutOf } from '../bulk/customer-rows.js';
import type { IdentifierName } from '../contract/enums.contract.js';
import { AppError } from '../errors.js';

/** One uploaded row as the store keeps it: its row number, identifier, source, and earnIds (REVOKE_EARN). */
export type StoredRow = [
  row: number,
  identifierValue: string,
  source: string,
  earnIds?: string,
  /** An undo's REVOKE_ENROL: the issual the undone job made, the only one it may revoke. */
  issualId?: number,
];

export const CHUNK_ROWS = 100;

const normalize = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
const isBlank = (record: CsvRecord) => record.fields.length === 1 && record.fields[0]?.trim() === '';

/** A refusal of the whole upload: the file is not one `loyalty bulk` would read. */
function badFile(message: string): AppError {
  return new AppError(400, message);
}

/**
 * The rows of an uploaded CSV (the format `loyalty bulk` reads), `CHUNK_ROWS` at a time, in constant
 * memory. What `loyalty bulk` refuses before sending anything (broken quoting, a header without an
 * identifier column, a row with another number of fields) refuses the upload; a row's own problem (an
 * empty or malformed identifier, a bad source) is the row's outcome, as in a 100-customer request.
 */
export async function* uploadChunks(
  body: AsyncIterable<Buffer | string>,
  options: { identifierName: IdentifierName; defaultSource: string; maxBytes: number },
): AsyncGenerator<StoredRow[]> {
  const parser = new CsvParser();
  const decoder = new StringDecoder('utf8');
  let bytes = 0;
  let layout: ReturnType<typeof layoutOf> | undefined;
  let earnIdsColumn: number | undefined;
  let chunk: StoredRow[] = [];

  const take = (record: CsvRecord): StoredRow | undefined => {
    if (isBlank(record)) return undefined;
    if (!layout) {
      try {
        layout = layoutOf(record, options.identifierName);
      } catch (err) {
        if (err instanceof BulkInputError) throw badFile(err.message);
        throw err;
      }
      if (layout.header) {
        const index = record.fields.findIndex((f) => normalize(f) === 'earnids');
        earnIdsColumn = index >= 0 ? index : undefined;
        return undefined;
      }
    }
    if (record.fields.length !== layout.width) {
      throw badFile(
        `row ${record.row}: ${record.fields.length} field(s), but the ${layout.header ? 'header' : 'first row'} has ${layout.width}`,
      );
    }
    const value = (record.fields[layout.identifierColumn] ?? '').trim();
    const source = layout.sourceColumn === undefined ? '' : (record.fields[layout.sourceColumn] ?? '').trim();
    const earnIds = earnIdsColumn === undefined ? '' : (record.fields[earnIdsColumn] ?? '').trim();
    const row: StoredRow = [record.row, value, source === '' ? options.defaultSource : source];
    if (earnIds !== '') row.push(earnIds);
    return row;
  };

  try {
    for await (const piece of body) {
      if (typeof piece === 'string') {
        bytes += Buffer.byteLength(piece);
      } else {
        bytes += piece.length;
      }
      if (bytes > options.maxBytes) throw new AppError(413);
      const text = typeof piece === 'string' ? piece : decoder.write(piece);
      for (const record of parser.push(text)) {
        const row = take(record);
        if (!row) continue;
        chunk.push(row);
        if (chunk.length === CHUNK_ROWS) {
          yield chunk;
          chunk = [];
        }
      }
    }
    for (const record of [...parser.push(decoder.end()), ...parser.end()]) {
      const row = take(record);
      if (row) chunk.push(row);
    }
  } catch (err) {
    if (err instanceof CsvError) throw badFile(err.message);
    throw err;
  }
  if (chunk.length > 0) yield chunk;
  if (!layout) throw badFile('the file is empty: it holds no customers');
}
