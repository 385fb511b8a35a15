import { CompiledQuery } from 'kysely';

// Rows go as a VALUES list of their count rounded up to a hundred, the unused rows null and left out
// by a where on a column never null in a real row: a handful of statement shapes in all, each made
// (and on PostgreSQL prepared) once. Both dialects write their bulk rows this way where it pays:
// SQLite every insert of the bulk path, PostgreSQL the events (see postgres.dialect.ts).
const ROWS_ROUNDED_TO = 100;
// Under SQLite's 32,766 parameters a statement and PostgreSQL's 65,535; a bulk request writes at most
// 200 rows a table.
const MOST_ROWS = 2_000;

const texts = new Map<string, string>();

/** The statement `make(rows)` for `rows` padded rows, made once for each `name` and row count. */
export function paddedText(name: string, rows: number, make: (rows: number) => string): string {
  const key = `${name} ${rows}`;
  let text = texts.get(key);
  if (text === undefined) {
    text = make(rows);
    texts.set(key, text);
  }
  return text;
}

/**
 * The statements that insert `count` rows, as few as MOST_ROWS allows (one for any bulk request):
 * `text(rows)` is the statement for that many rows (a multiple of a hundred, cached by the dialect);
 * its parameters are `before`, then each row's `width` values (`row(i)` is the i-th row; the padding
 * rows are nulls).
 */
export function paddedInserts(
  count: number,
  width: number,
  before: readonly unknown[],
  row: (i: number) => readonly unknown[],
  text: (rows: number) => string,
): CompiledQuery[] {
  const queries: CompiledQuery[] = [];
  for (let from = 0; from < count; from += MOST_ROWS) {
    const rows = Math.min(Math.ceil((count - from) / ROWS_ROUNDED_TO) * ROWS_ROUNDED_TO, MOST_ROWS);
    const parameters = [...before];
    for (let i = from; i < from + rows; i++) {
      if (i < count) parameters.push(...row(i));
      else for (let c = 0; c < width; c++) parameters.push(null);
    }
    queries.push(CompiledQuery.raw(text(rows), parameters));
  }
  return queries;
}
