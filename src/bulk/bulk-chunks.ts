import type { BulkItem, BulkResponse } from '../client/types.js';
import { csvLine } from './csv-reader.js';
import type { CustomerRow } from './customer-rows.js';
import type { Counts } from './run-files.js';

// The rows of a CSV in the API's batches, and each batch's answer as lines of the results file: kept
// apart from the run itself so that the command reads as the steps of a run.

/** The API's batch limit. */
export const CHUNK_SIZE = 100;

export interface Chunk {
  index: number;
  rows: CustomerRow[];
}

export interface ChunkResult {
  index: number;
  text: string;
  counts: Counts;
  rows: number;
}

/** A chunk that could not be done: a refusal of the whole request, or retries used up. */
export class ChunkError extends Error {
  constructor(chunk: Chunk, cause: unknown, attempts: number) {
    const first = chunk.rows[0]?.row;
    const last = chunk.rows.at(-1)?.row;
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`rows ${first}-${last}: ${why}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`, { cause });
    this.name = 'ChunkError';
  }
}

export async function* chunksOf(rows: AsyncIterable<CustomerRow>): AsyncGenerator<Chunk> {
  let batch: CustomerRow[] = [];
  let index = 0;
  for await (const row of rows) {
    batch.push(row);
    if (batch.length === CHUNK_SIZE) {
      yield { index: index++, rows: batch };
      batch = [];
    }
  }
  if (batch.length > 0) yield { index, rows: batch };
}

/** A results line per customer, and what they count toward. */
export function resultLines(chunk: Chunk, answer: BulkResponse): { text: string; counts: Counts } {
  const items: unknown = answer?.response;
  if (!Array.isArray(items) || items.length !== chunk.rows.length) {
    throw new Error(
      `the server answered ${Array.isArray(items) ? items.length : 'no'} items for ${chunk.rows.length} customers`,
    );
  }
  const counts = { ok: 0, warning: 0, failed: 0 };
  let text = '';
  chunk.rows.forEach((row, i) => {
    const item = items[i] as BulkItem;
    const errors = item.errors ?? [];
    const warnings = item.warnings ?? [];
    const status = errors.length > 0 ? 'failed' : warnings.length > 0 ? 'warning' : 'ok';
    counts[status] += 1;
    const notes = errors.length > 0 ? errors : warnings;
    const r = item.result;
    text += csvLine([
      row.row,
      row.identifier,
      status,
      r?.entityId,
      r?.issualId ?? r?.revokedIssualId,
      r?.earnedId ?? r?.revokedEarnIds?.join(' '),
      notes.map((n) => n.code).join(' '),
      notes.map((n) => n.message).join('; '),
    ]);
  });
  return { text, counts };
}
