/** Where a run stands, for the progress display. */
export interface ProgressSnapshot {
  /** Customers whose results are written, those of earlier (resumed) runs included. */
  done: number;
  total: number;
  failed: number;
}

/** A stream to write progress to; a terminal gets a bar redrawn in place. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const number = (n: number) => n.toLocaleString('en-US');

/**
 * Shows rows done of total, rate, time left and failures: a bar redrawn at most ten times a second
 * on a terminal, else a plain line at most every `lineEveryMs` (a log file or CI output).
 */
export class ProgressDisplay {
  readonly #out: ProgressStream;
  readonly #tty: boolean;
  readonly #lineEveryMs: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  /** Rows done before this process started (a resumed run): they do not count toward the rate. */
  #startDone: number | undefined;
  #lastDraw = 0;
  #barShown = false;

  constructor(out: ProgressStream, options: { lineEveryMs?: number; now?: () => number } = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#lineEveryMs = options.lineEveryMs ?? 2000;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  /** Marks where this process starts from, so that the rate counts only its own rows. */
  begin(done: number): void {
    this.#startDone = done;
  }

  /** Reports progress; drawn only when enough time passed, or when `force`. */
  update(s: ProgressSnapshot, force = false): void {
    this.#startDone ??= s.done;
    const now = this.#now();
    if (!force && now - this.#lastDraw < (this.#tty ? 100 : this.#lineEveryMs)) return;
    this.#lastDraw = now;
    const elapsed = Math.max(0.001, (now - this.#startedAt) / 1000);
    const rate = (s.done - this.#startDone) / elapsed;
    const eta = rate > 0 ? (s.total - s.done) / rate : Number.POSITIVE_INFINITY;
    const percent = s.total > 0 ? Math.floor((s.done / s.total) * 100) : 100;
    const stats =
      `${number(s.done)}/${number(s.total)} rows ${percent}% · ${number(Math.round(rate))} rows/s · ` +
      `ETA ${s.done >= s.total ? '0s' : duration(eta)} · ${number(s.failed)} failed`;
    if (this.#tty) {
      const width = Math.max(10, Math.min(40, (this.#out.columns ?? 80) - stats.length - 4));
      const filled = s.total > 0 ? Math.round((s.done / s.total) * width) : width;
      this.#out.write(`\r\x1b[K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${stats}`);
      this.#barShown = true;
    } else {
      this.#out.write(`progress: ${stats}\n`);
    }
  }

  /** A line of its own (a retry, a notice), above the bar on a terminal. */
  note(text: string): void {
    if (this.#tty && this.#barShown) {
      this.#out.write(`\r\x1b[K${text}\n`);
      this.#lastDraw = 0;
    } else {
      this.#out.write(`${text}\n`);
    }
  }

  /** Leaves the bar's last state on its own line. */
  end(s: ProgressSnapshot): void {
    this.update(s, true);
    if (this.#tty) this.#out.write('\n');
  }
}
