import type { Readable } from 'node:stream';
import { CsvError, readCsv } from '../bulk/csv-reader.js';
import type { CreateCustomersInput, ImportResult } from '../contract/admin.contract.js';
import type { ImportMode } from '../contract/enums.contract.js';
import { AppError, badRequest } from '../errors.js';
import type { CustomerChange, RowRefusal } from './customer-changes.plan.js';
import type { CustomerDirectoryService } from './customer-directory.service.js';
import { readChange, readCsvRow, readHeader } from './customer-row.mapper.js';

/** Rows per transaction: each chunk commits on its own, and the answer says how many rows did. */
export const IMPORT_CHUNK_ROWS = 250;

/** Counts the bytes that pass, and stops the stream past the limit. */
async function* limited(stream: Readable, maxBytes: number, seen: { bytes: number }): AsyncGenerator<string> {
  stream.setEncoding('utf8');
  // Stopping early leaves the rest of the upload unread rather than destroying the request, so that
  // the answer (with the rows committed so far) still reaches the client.
  for await (const piece of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<string>) {
    seen.bytes += Buffer.byteLength(piece);
    if (seen.bytes > maxBytes)
      throw new AppError('payload_too_large', `the file is larger than ${maxBytes} bytes`);
    yield piece;
  }
}

export type CustomerImportService = ReturnType<typeof createCustomerImportService>;

/** Customer imports, JSON or CSV, each chunk of rows in its own transaction. */
export function createCustomerImportService(customers: CustomerDirectoryService, maxBytes: number) {
  function answer(mode: ImportMode): ImportResult {
    return { mode, rowsCommitted: 0, totals: { created: 0, updated: 0, unchanged: 0, refused: 0 }, rows: [] };
  }

  async function flush(
    orgId: number,
    mode: ImportMode,
    result: ImportResult,
    rows: number[],
    changes: (CustomerChange | RowRefusal)[],
  ) {
    if (changes.length === 0) return;
    const plan = await customers.applyChunk(orgId, mode, changes);
    plan.answers.forEach((a, i) => {
      result.rows.push({ row: rows[i] as number, ...a });
      const totals = result.totals as Record<string, number>;
      totals[a.outcome] = (totals[a.outcome] ?? 0) + 1;
    });
    result.rowsCommitted += changes.length;
    rows.length = 0;
    changes.length = 0;
  }

  async function json(orgId: number, mode: ImportMode, body: CreateCustomersInput): Promise<ImportResult> {
    await customers.list(orgId, { limit: 1 });
    const result = answer(mode);
    for (let start = 0; start < body.customers.length; start += IMPORT_CHUNK_ROWS) {
      const part = body.customers.slice(start, start + IMPORT_CHUNK_ROWS);
      await flush(
        orgId,
        mode,
        result,
        part.map((_, i) => start + i),
        part.map((item) => readChange(item, '')),
      );
    }
    return result;
  }

  /**
   * A CSV file read as it arrives: the header first (a bad one is refused before anything is
   * written), then chunks of rows. A file cut short (too large, or not CSV further on) stops the
   * import; the chunks before it stay committed and the answer says so.
   */
  async function csv(
    orgId: number,
    mode: ImportMode,
    stream: Readable,
    length: number | undefined,
  ): Promise<ImportResult> {
    if (length !== undefined && length > maxBytes)
      throw new AppError('payload_too_large', `the file is larger than ${maxBytes} bytes`);
    await customers.list(orgId, { limit: 1 });
    const result = answer(mode);
    const rows: number[] = [];
    const changes: (CustomerChange | RowRefusal)[] = [];
    let columns: ReturnType<typeof readHeader> | undefined;
    try {
      for await (const record of readCsv(limited(stream, maxBytes, { bytes: 0 }))) {
        if (columns === undefined) {
          columns = readHeader(record.fields);
          if ('error' in columns) throw badRequest('header', columns.error);
          continue;
        }
        if ('error' in columns) break;
        rows.push(record.row);
        changes.push(readCsvRow(columns.columns, record.fields));
        if (changes.length >= IMPORT_CHUNK_ROWS) await flush(orgId, mode, result, rows, changes);
      }
      if (columns === undefined) throw badRequest('header', 'the file is empty: it needs a header');
      await flush(orgId, mode, result, rows, changes);
    } catch (err) {
      const stop =
        err instanceof CsvError
          ? err.message
          : err instanceof AppError && err.code === 'payload_too_large'
            ? err.message
            : undefined;
      if (stop === undefined || result.rowsCommitted === 0) {
        if (err instanceof CsvError) throw badRequest('body', err.message);
        throw err;
      }
      result.error = `${stop}; the rows before it are committed`;
    }
    return result;
  }

  return { json, csv };
}
