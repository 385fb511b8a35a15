import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BulkInputError } from './bulk-options.js';
import { csvLine } from './csv-reader.js';

/**
 * The two files of a run. The results CSV gets each chunk's rows, in chunk order, and is flushed to
 * disk; only then does the journal record the chunk as done, with the results file's length after
 * it. A crash between the two leaves rows the journal does not know of: a resumed run cuts the
 * results file back to the journal's length and sends that chunk again (under the same
 * Idempotency-Key, so the server answers from its replay). So every row ends up in the results
 * exactly once, and no chunk is rewarded twice.
 */

export const RESULTS_HEADER = [
  'row',
  'identifier',
  'status',
  'entityId',
  'issualId',
  'earnedId',
  'code',
  'message',
] as const;

/** The journal's first line: what run it belongs to. */
export interface JournalHeader {
  journal: 'loyalty-bulk';
  version: 1;
  /** Names the file and the options; a resume with another file or other options is refused. */
  fingerprint: string;
  csv: string;
  customers: number;
  chunks: number;
  credential: string;
  /** Length of the results file's header line. */
  resultsStart: number;
}

/** A line per chunk done. */
export interface JournalEntry {
  chunk: number;
  /** Length of the results file once this chunk's rows were written. */
  end: number;
  ok: number;
  warning: number;
  failed: number;
}

export interface Counts {
  ok: number;
  warning: number;
  failed: number;
}

/** Where a run stands: chunks done and what they counted. */
export interface RunState {
  doneChunks: number;
  counts: Counts;
  /** True when the journal says the run finished. */
  finished: boolean;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems cannot sync a directory; the files themselves are synced regardless.
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Reads a journal; a last line cut short by a crash is ignored (it was never acknowledged). */
async function readJournal(
  file: string,
): Promise<{ header: JournalHeader; entries: JournalEntry[]; finished: boolean; validBytes: number }> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n');
  let validBytes = 0;
  const parsed: unknown[] = [];
  for (const [i, line] of lines.entries()) {
    // Only lines that end with a line break were completely written.
    if (i === lines.length - 1) break;
    try {
      parsed.push(JSON.parse(line));
    } catch {
      break;
    }
    validBytes += Buffer.byteLength(line) + 1;
  }
  const [header, ...rest] = parsed as [JournalHeader | undefined, ...Record<string, unknown>[]];
  if (header?.journal !== 'loyalty-bulk' || header.version !== 1) {
    throw new BulkInputError(`${file} is not a journal of loyalty bulk: remove it, or choose another --out`);
  }
  const entries: JournalEntry[] = [];
  let finished = false;
  for (const entry of rest) {
    if (entry.finished === true) finished = true;
    else if (typeof entry.chunk === 'number' && entry.chunk === entries.length) entries.push(entry as never);
    else throw new BulkInputError(`${file} is damaged (chunk ${String(entry.chunk)} out of order)`);
  }
  return { header, entries, finished, validBytes };
}

export class RunFiles {
  readonly #results: FileHandle;
  readonly #journal: FileHandle;
  #resultsEnd: number;
  #journalEnd: number;

  private constructor(results: FileHandle, journal: FileHandle, resultsEnd: number, journalEnd: number) {
    this.#results = results;
    this.#journal = journal;
    this.#resultsEnd = resultsEnd;
    this.#journalEnd = journalEnd;
  }

  /**
   * Opens the run's files. Without `resume`, starts both afresh, unless a journal of an unfinished
   * run is there (its results would be lost). With `resume`, continues the journal's run, or starts
   * afresh when there is no journal.
   */
  static async open(
    resultsPath: string,
    journalPath: string,
    header: Omit<JournalHeader, 'journal' | 'version' | 'resultsStart'>,
    resume: boolean,
  ): Promise<{ files: RunFiles; state: RunState; resumed: boolean }> {
    const found = (await exists(journalPath)) ? await readJournal(journalPath) : undefined;
    // An unfinished run that got no chunk done has no results to lose; one that did must be resumed.
    if (found && !resume && !found.finished && found.entries.length > 0) {
      throw new BulkInputError(
        `${journalPath} holds an unfinished run: add --resume to continue it, or delete it (and ${resultsPath}) to start over`,
      );
    }
    if (!found || !resume) {
      const files = await RunFiles.#fresh(resultsPath, journalPath, header);
      return {
        files,
        state: { doneChunks: 0, counts: { ok: 0, warning: 0, failed: 0 }, finished: false },
        resumed: false,
      };
    }

    const old = found.header;
    if (old.fingerprint !== header.fingerprint) {
      throw new BulkInputError(
        `${journalPath} belongs to another run (a different file, or different options): ` +
          'resume with the same file and options, or choose another --out',
      );
    }
    if (old.credential !== header.credential) {
      throw new BulkInputError(
        `the run was started as ${old.credential}: resume it with the same credentials, under which the ` +
          'server keeps its Idempotency-Keys',
      );
    }
    const last = found.entries.at(-1);
    const resultsEnd = last ? last.end : old.resultsStart;
    let results: FileHandle;
    try {
      results = await open(resultsPath, 'r+');
    } catch {
      throw new BulkInputError(`${resultsPath} is missing: the journal cannot be resumed without it`);
    }
    if ((await results.stat()).size < resultsEnd) {
      await results.close();
      throw new BulkInputError(`${resultsPath} is shorter than its journal records: it was changed`);
    }
    // Rows written after the journal's last entry belong to a chunk that will be sent again.
    await results.truncate(resultsEnd);
    await results.datasync();
    const journal = await open(journalPath, 'r+');
    await journal.truncate(found.validBytes);
    const counts = { ok: 0, warning: 0, failed: 0 };
    for (const e of found.entries) {
      counts.ok += e.ok;
      counts.warning += e.warning;
      counts.failed += e.failed;
    }
    return {
      files: new RunFiles(results, journal, resultsEnd, found.validBytes),
      state: { doneChunks: found.entries.length, counts, finished: found.finished },
      resumed: true,
    };
  }

  static async #fresh(
    resultsPath: string,
    journalPath: string,
    header: Omit<JournalHeader, 'journal' | 'version' | 'resultsStart'>,
  ): Promise<RunFiles> {
    const results = await open(resultsPath, 'w');
    const head = Buffer.from(csvLine(RESULTS_HEADER));
    await results.write(head, 0, head.length, 0);
    await results.datasync();
    const journal = await open(journalPath, 'w');
    // The new files' names must survive a power cut too, not only their contents.
    await syncDirectory(path.dirname(resultsPath));
    if (path.dirname(journalPath) !== path.dirname(resultsPath))
      await syncDirectory(path.dirname(journalPath));
    const files = new RunFiles(results, journal, head.length, 0);
    await files.#appendJournal({ journal: 'loyalty-bulk', version: 1, ...header, resultsStart: head.length });
    return files;
  }

  /** Writes a chunk's result rows durably, then records the chunk as done. */
  async commitChunk(chunk: number, rows: string, counts: Counts): Promise<void> {
    const bytes = Buffer.from(rows);
    await this.#results.write(bytes, 0, bytes.length, this.#resultsEnd);
    await this.#results.datasync();
    this.#resultsEnd += bytes.length;
    await this.#appendJournal({ chunk, end: this.#resultsEnd, ...counts });
  }

  /** Records that every chunk is done. */
  async finish(): Promise<void> {
    await this.#appendJournal({ finished: true });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#results.close(), this.#journal.close()]);
  }

  async #appendJournal(value: unknown): Promise<void> {
    const bytes = Buffer.from(`${JSON.stringify(value)}\n`);
    await this.#journal.write(bytes, 0, bytes.length, this.#journalEnd);
    await this.#journal.datasync();
    this.#journalEnd += bytes.length;
  }
}
