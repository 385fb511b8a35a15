/**
 * An RFC 4180 CSV reader that takes text in pieces and hands out whole records, so that a file of any
 * size is read in constant memory: commas separate fields, a field may be quoted, a quoted field may
 * hold commas, line breaks and doubled quotes, and records end with CRLF, LF or CR.
 *
 * It is strict where a spreadsheet would guess (a quote inside an unquoted field, text after a closing
 * quote, a quote never closed): a list of customers read wrongly would reward the wrong people.
 */

/** One record, numbered as a spreadsheet numbers its rows (the header, if any, is row 1). */
export interface CsvRecord {
  fields: string[];
  /** 1-based record number. */
  row: number;
  /** 1-based line on which the record starts (differs from `row` after a quoted line break). */
  line: number;
}

/** The input is not valid CSV; the message names the row. */
export class CsvError extends Error {
  constructor(
    readonly row: number,
    readonly line: number,
    problem: string,
  ) {
    super(`row ${row}${line !== row ? ` (line ${line})` : ''}: ${problem}`);
    this.name = 'CsvError';
  }
}

export interface CsvLimits {
  /** Longest field, in characters; bounds memory when a quote is never closed. Default 4,096. */
  maxFieldLength?: number;
  /** Most fields in a record. Default 256. */
  maxFields?: number;
}

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** Inside a quoted field, just after a quote: a second quote is an escaped one, else the field ended. */
const QUOTE_IN_QUOTED = 3;
type State = typeof FIELD_START | typeof UNQUOTED | typeof QUOTED | typeof QUOTE_IN_QUOTED;

export class CsvParser {
  readonly #maxFieldLength: number;
  readonly #maxFields: number;
  #state: State = FIELD_START;
  #field = '';
  #fields: string[] = [];
  /** The previous piece ended on CR: an LF that starts the next piece belongs to that line break. */
  #afterCr = false;
  #quotedCr = false;
  #started = false;
  #row = 1;
  #line = 1;
  #recordLine = 1;
  #quoteLine = 1;
  /** Whether the current record has any content yet (so that a final line break adds no record). */
  #inRecord = false;

  constructor(limits: CsvLimits = {}) {
    this.#maxFieldLength = limits.maxFieldLength ?? 4096;
    this.#maxFields = limits.maxFields ?? 256;
  }

  /** Parses the next piece of text; answers the records it completed. */
  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let start = 0;
    if (!this.#started) {
      this.#started = text.length > 0;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    for (let i = start; i < text.length; i++) {
      const c = text[i] as string;
      if (this.#afterCr) {
        this.#afterCr = false;
        if (c === '\n') continue;
      }
      switch (this.#state) {
        case FIELD_START:
          if (c === '"') {
            this.#state = QUOTED;
            this.#quoteLine = this.#line;
            this.#inRecord = true;
          } else if (c === ',') {
            this.#inRecord = true;
            this.#endField();
          } else if (c === '\r' || c === '\n') {
            this.#endRecord(out, c);
          } else {
            this.#inRecord = true;
            this.#state = UNQUOTED;
            this.#append(c);
          }
          break;
        case UNQUOTED:
          if (c === ',') {
            this.#endField();
            this.#state = FIELD_START;
          } else if (c === '\r' || c === '\n') {
            this.#endRecord(out, c);
          } else if (c === '"') {
            throw this.#error(
              'a quote (") inside a field that does not start with one; quote the whole field and double the quote',
            );
          } else {
            this.#append(c);
          }
          break;
        case QUOTED:
          if (c === '"') this.#state = QUOTE_IN_QUOTED;
          else {
            // A line break inside a quoted field: CRLF counts as one line, wherever a piece ends.
            if (c === '\r' || (c === '\n' && !this.#quotedCr)) this.#line += 1;
            this.#quotedCr = c === '\r';
            this.#append(c);
          }
          break;
        case QUOTE_IN_QUOTED:
          if (c === '"') {
            this.#append('"');
            this.#state = QUOTED;
          } else if (c === ',') {
            this.#endField();
            this.#state = FIELD_START;
          } else if (c === '\r' || c === '\n') {
            this.#endRecord(out, c);
          } else {
            throw this.#error('text after the closing quote of a field');
          }
          break;
      }
    }
    return out;
  }

  /** Ends the input; answers the last record if the text did not end with a line break. */
  end(): CsvRecord[] {
    if (this.#state === QUOTED) {
      throw this.#error(`a quoted field opened on line ${this.#quoteLine} is never closed`);
    }
    const out: CsvRecord[] = [];
    if (this.#inRecord || this.#fields.length > 0) this.#endRecord(out, '');
    return out;
  }

  #append(c: string): void {
    if (this.#field.length >= this.#maxFieldLength) {
      throw this.#error(
        `a field is longer than ${this.#maxFieldLength} characters${this.#state === QUOTED ? ` (is the quote opened on line ${this.#quoteLine} closed?)` : ''}`,
      );
    }
    this.#field += c;
  }

  #endField(): void {
    if (this.#fields.length >= this.#maxFields - 1) throw this.#error(`more than ${this.#maxFields} fields`);
    this.#fields.push(this.#field);
    this.#field = '';
  }

  #endRecord(out: CsvRecord[], lineBreak: string): void {
    this.#fields.push(this.#field);
    out.push({ fields: this.#fields, row: this.#row, line: this.#recordLine });
    this.#fields = [];
    this.#field = '';
    this.#state = FIELD_START;
    this.#inRecord = false;
    this.#row += 1;
    if (lineBreak !== '') this.#line += 1;
    this.#recordLine = this.#line;
    if (lineBreak === '\r') this.#afterCr = true;
  }

  #error(problem: string): CsvError {
    return new CsvError(this.#row, this.#recordLine, problem);
  }
}

/** Reads records from pieces of text (e.g. a decoded file stream) one at a time. */
export async function* readCsv(pieces: AsyncIterable<string>, limits?: CsvLimits): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser(limits);
  for await (const piece of pieces) yield* parser.push(piece);
  yield* parser.end();
}

/** A field as CSV writes it: quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string | number | undefined | null): string {
  const text = value === undefined || value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line, CRLF-terminated as RFC 4180 has it. */
export function csvLine(fields: readonly (string | number | undefined | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
