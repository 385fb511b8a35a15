import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { LoyaltyClient } from '../client/loyalty.client.js';
import { LoyaltyApiError } from '../client/loyalty-api.error.js';
import type {
  BulkAction,
  BulkRequest,
  BulkResponse,
  CallOptions,
  GrantAction,
  RevokeAction,
} from '../client/types.js';
import {
  CHUNK_SIZE,
  type Chunk,
  ChunkError,
  type ChunkResult,
  chunksOf,
  resultLines,
} from './bulk-chunks.js';
import { BULK_USAGE, BulkInputError, type BulkOptions, parseBulkOptions } from './bulk-options.js';
import { readCustomers, scanCustomers } from './customer-rows.js';
import { ProgressDisplay, type ProgressStream } from './progress.js';
import { isRetryable, type RetryPolicy, retryDelayMs, sleep } from './retry-policy.js';
import { type Counts, RunFiles } from './run-files.js';

/** What the command talks to: output streams, and a signal that Ctrl-C aborts. */
export interface BulkIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: the run stops, keeping what is done for --resume. */
  signal?: AbortSignal;
  /** Directory that paths are shown relative to. */
  cwd?: string;
}

type EndpointName = 'enrolAndEarn' | 'revokeEnrolAndEarn' | 'revokeDirectEarn';

const ACTIONS: Record<BulkOptions['action'], BulkAction> = {
  enrol: 'ENROL',
  earn: 'EARN',
  'revoke-enrol': 'REVOKE_ENROL',
  'revoke-earn': 'REVOKE_EARN',
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * `loyalty bulk`: sends a CSV of customers to the bulk API and answers the exit status: 0 when every
 * customer is ok (warnings included), 2 when some failed, 1 when the run could not finish.
 */
export async function runBulkCommand(argv: readonly string[], io: BulkIo): Promise<number> {
  let options: BulkOptions;
  try {
    const parsed = parseBulkOptions(argv);
    if (parsed === 'help') {
      io.stdout.write(BULK_USAGE);
      return 0;
    }
    options = parsed;
  } catch (err) {
    if (!(err instanceof BulkInputError)) throw err;
    io.stderr.write(`loyalty bulk: ${err.message}\n(loyalty bulk --help lists the options)\n`);
    return 1;
  }
  try {
    return await new BulkRun(options, io).run();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`loyalty bulk: ${err instanceof BulkInputError ? '' : 'could not finish: '}${message}\n`);
    return 1;
  }
}

class BulkRun {
  readonly #options: BulkOptions;
  readonly #io: BulkIo;
  readonly #client: LoyaltyClient;
  readonly #progress: ProgressDisplay;
  readonly #policy: RetryPolicy;
  /** Names the run: the file's content hash and the options that shape the requests. */
  #fingerprint = '';

  constructor(options: BulkOptions, io: BulkIo) {
    this.#options = options;
    this.#io = io;
    this.#client = new LoyaltyClient({
      baseUrl: options.baseUrl,
      credentials: options.credentials,
      timeoutMs: options.timeoutMs,
    });
    this.#progress = new ProgressDisplay(io.stderr);
    this.#policy = {
      maxAttempts: options.maxAttempts,
      baseDelayMs: options.retryDelayMs,
      maxDelayMs: 30_000,
    };
  }

  #show(file: string): string {
    const relative = path.relative(this.#io.cwd ?? process.cwd(), file);
    return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  }

  async run(): Promise<number> {
    const o = this.#options;
    const started = Date.now();
    let before: { size: number; mtimeMs: number };
    try {
      before = await stat(o.csvPath);
    } catch (err) {
      throw new BulkInputError(`cannot read ${o.csvPath}: ${(err as Error).message}`);
    }
    const scan = await scanCustomers(o.csvPath, o.identifierName, before);
    const chunks = Math.ceil(scan.customers / CHUNK_SIZE);
    const fingerprint = sha256(
      JSON.stringify([
        scan.sha256,
        o.action,
        o.programId,
        o.promotionId ?? null,
        o.promoIdentifier ?? null,
        o.identifierName,
        o.defaultSource,
        o.promotionType ?? null,
        o.batchId,
      ]),
    );
    this.#fingerprint = fingerprint;
    const after = await stat(o.csvPath);
    if (after.size !== scan.size || after.mtimeMs !== scan.mtimeMs) {
      throw new BulkInputError(`${o.csvPath} changed while it was being checked: run the command again`);
    }
    const { files, state, resumed } = await RunFiles.open(
      o.outPath,
      o.journalPath,
      {
        fingerprint,
        csv: o.csvPath,
        customers: scan.customers,
        chunks,
        credential: this.#client.credentialName,
      },
      o.resume,
    );
    try {
      if (o.resume && !resumed)
        this.#progress.note(`no journal at ${this.#show(o.journalPath)}: starting from the first row`);
      if (resumed) {
        this.#progress.note(
          `resuming: ${state.doneChunks} of ${chunks} chunk(s) were done (${state.finished ? 'the run had finished' : 'continuing'})`,
        );
      }
      const counts = { ...state.counts };
      let stopped: { reason: string; interrupted: boolean } | undefined;
      if (!state.finished) {
        stopped = await this.#sendAll(files, scan.customers, chunks, state.doneChunks, counts);
        if (!stopped) await files.finish();
      }
      const done = counts.ok + counts.warning + counts.failed;
      this.#progress.end({ done, total: scan.customers, failed: counts.failed });
      if (stopped) {
        this.#io.stderr.write(
          `loyalty bulk: ${stopped.interrupted ? 'interrupted' : `could not finish: ${stopped.reason}`}\n` +
            `${done.toLocaleString('en-US')} of ${scan.customers.toLocaleString('en-US')} customers done, ` +
            `their results in ${this.#show(o.outPath)}. ` +
            `${stopped.interrupted ? 'Run' : 'Once the cause is fixed, run'} the same command with --resume to continue.\n`,
        );
        return 1;
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      this.#io.stdout.write(
        `${o.action}: ${scan.customers.toLocaleString('en-US')} customers, ${chunks} chunk(s) of up to ${CHUNK_SIZE}, ${seconds} s\n` +
          `  ok       ${counts.ok}\n  warning  ${counts.warning}\n  failed   ${counts.failed}\n` +
          `results: ${this.#show(o.outPath)}\n`,
      );
      if (counts.failed > 0) {
        this.#io.stdout.write(
          `${counts.failed} customer(s) failed: the results file says why (status failed)\n`,
        );
      }
      return counts.failed > 0 ? 2 : 0;
    } finally {
      await files.close();
    }
  }

  /** Sends every chunk not yet done, N at a time, writing results in chunk order. */
  async #sendAll(
    files: RunFiles,
    total: number,
    chunks: number,
    firstChunk: number,
    counts: Counts,
  ): Promise<{ reason: string; interrupted: boolean } | undefined> {
    const o = this.#options;
    const stop = new AbortController();
    const userSignal = this.#io.signal;
    const signal = userSignal ? AbortSignal.any([userSignal, stop.signal]) : stop.signal;
    let fatal: unknown;
    const fail = (err: unknown) => {
      if (fatal === undefined && !userSignal?.aborted) {
        fatal = err;
        stop.abort(err);
      }
    };

    let done = counts.ok + counts.warning + counts.failed;
    const completed = new Map<number, ChunkResult>();
    let nextToWrite = firstChunk;
    let writing: Promise<void> = Promise.resolve();
    // Later chunks wait in memory for an earlier one still being retried; this bounds how many.
    const window = o.concurrency * 2;
    // Writes in chunk order, one at a time; never rejects. After a failed write the files' positions
    // are unknown, so nothing more is written: the journal still holds what is safely done.
    let writeFailed = false;
    const flush = () => {
      writing = writing
        .then(async () => {
          if (writeFailed) return;
          for (let ready = completed.get(nextToWrite); ready; ready = completed.get(nextToWrite)) {
            completed.delete(nextToWrite);
            await files.commitChunk(ready.index, ready.text, ready.counts);
            counts.ok += ready.counts.ok;
            counts.warning += ready.counts.warning;
            counts.failed += ready.counts.failed;
            done += ready.rows;
            nextToWrite += 1;
            this.#progress.update({ done, total, failed: counts.failed });
          }
        })
        .catch((err: unknown) => {
          writeFailed = true;
          fail(err);
        });
      return writing;
    };

    let endpoint: EndpointName | undefined = this.#endpointFor();
    const inFlight = new Set<Promise<void>>();
    let seen = 0;
    this.#progress.begin(done);
    if (this.#io.stderr.isTTY) this.#progress.update({ done, total, failed: counts.failed }, true);
    const rows = readCustomers(o.csvPath, o.identifierName);
    for await (const chunk of chunksOf(rows)) {
      seen += 1;
      if (chunk.index < firstChunk) continue;
      while (inFlight.size >= o.concurrency || (inFlight.size > 0 && chunk.index >= nextToWrite + window)) {
        await Promise.race(inFlight);
      }
      if (fatal !== undefined || signal.aborted) break;
      if (endpoint === undefined) {
        // revoke-earn of a promotion of unknown type: the first chunk, alone, finds the endpoint.
        try {
          const found = await this.#probe(chunk, signal);
          endpoint = found.endpoint;
          completed.set(chunk.index, found.result);
          await flush();
        } catch (err) {
          fail(err);
          break;
        }
        continue;
      }
      const target = endpoint;
      const task: Promise<void> = this.#sendChunk(chunk, target, signal).then((result) => {
        completed.set(chunk.index, result);
        return flush();
      }, fail);
      inFlight.add(task);
      task.finally(() => inFlight.delete(task));
    }
    await Promise.allSettled(inFlight);
    await writing;

    if (userSignal?.aborted) return { reason: 'interrupted', interrupted: true };
    if (fatal !== undefined)
      return { reason: fatal instanceof Error ? fatal.message : String(fatal), interrupted: false };
    if (seen !== chunks || nextToWrite !== chunks) {
      return {
        reason: `${o.csvPath} changed while the run read it: check it, then resume`,
        interrupted: false,
      };
    }
    return undefined;
  }

  /** The endpoint of the action; undefined when the first call must find it out. */
  #endpointFor(): EndpointName | undefined {
    switch (this.#options.action) {
      case 'enrol':
      case 'earn':
        return 'enrolAndEarn';
      case 'revoke-enrol':
        return 'revokeEnrolAndEarn';
      case 'revoke-earn':
        if (this.#options.promotionType === 'DIRECT') return 'revokeDirectEarn';
        if (this.#options.promotionType === 'ENROL_AND_ISSUE') return 'revokeEnrolAndEarn';
        return undefined;
    }
  }

  /**
   * REVOKE_EARN goes to revokeEnrolAndEarn, which serves both types as its page documents. A server
   * that follows the older contract refuses a direct promotion there with 8902 before it writes
   * anything; revokeDirectEarn then gets the chunk under a key of its own.
   */
  async #probe(chunk: Chunk, signal: AbortSignal): Promise<{ endpoint: EndpointName; result: ChunkResult }> {
    try {
      return {
        endpoint: 'revokeEnrolAndEarn',
        result: await this.#sendChunk(chunk, 'revokeEnrolAndEarn', signal),
      };
    } catch (err) {
      const cause = err instanceof ChunkError ? err.cause : err;
      if (!(cause instanceof LoyaltyApiError && cause.status === 400 && cause.codes.includes(8902)))
        throw err;
      this.#progress.note(
        'the promotion is not enrol-and-issue: revoking its earns through revokeDirectEarn',
      );
      return {
        endpoint: 'revokeDirectEarn',
        result: await this.#sendChunk(chunk, 'revokeDirectEarn', signal),
      };
    }
  }

  #call(endpoint: EndpointName, request: BulkRequest, options: CallOptions): Promise<BulkResponse> {
    // The action was chosen to suit the endpoint (see #endpointFor).
    switch (endpoint) {
      case 'enrolAndEarn':
        return this.#client.enrolAndEarn(request as BulkRequest<GrantAction>, options);
      case 'revokeEnrolAndEarn':
        return this.#client.revokeEnrolAndEarn(request as BulkRequest<RevokeAction>, options);
      case 'revokeDirectEarn':
        return this.#client.revokeDirectEarn(request as BulkRequest<'REVOKE_EARN'>, options);
    }
  }

  #request(chunk: Chunk): BulkRequest {
    const o = this.#options;
    return {
      type: 'CUSTOMER',
      bulkAction: ACTIONS[o.action],
      promotionDetails: {
        programId: o.programId,
        ...(o.promotionId !== undefined ? { promotionId: o.promotionId } : {}),
        ...(o.promoIdentifier !== undefined ? { promoIdentifier: o.promoIdentifier } : {}),
      },
      identifierName: o.identifierName,
      customers: chunk.rows.map((r) => ({
        identifierValue: r.identifier,
        source: r.source ?? o.defaultSource,
      })),
    };
  }

  /** One chunk, retried on network errors, 5xx and 429, under one Idempotency-Key whatever the attempt. */
  async #sendChunk(chunk: Chunk, endpoint: EndpointName, signal: AbortSignal): Promise<ChunkResult> {
    const request = this.#request(chunk);
    // The file's hash, the options and the chunk's place name the call: any retry, resume or rerun of
    // it within the server's 24 h replay window is answered from the replay, never rewarded again.
    const idempotencyKey = `lp-bulk-${sha256(`${this.#fingerprint} ${endpoint}`).slice(0, 32)}-${chunk.index}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await this.#call(endpoint, request, { idempotencyKey, signal });
        const { text, counts } = resultLines(chunk, answer);
        return { index: chunk.index, text, counts, rows: chunk.rows.length };
      } catch (err) {
        if (signal.aborted) throw err;
        if (!isRetryable(err) || attempt >= this.#policy.maxAttempts)
          throw new ChunkError(chunk, err, attempt);
        const delay = retryDelayMs(this.#policy, attempt, err);
        this.#progress.note(
          `rows ${chunk.rows[0]?.row}-${chunk.rows.at(-1)?.row}: ${err instanceof Error ? err.message : String(err)}; ` +
            `retry ${attempt + 1} of ${this.#policy.maxAttempts} in ${(delay / 1000).toFixed(1)} s`,
        );
        await sleep(delay, signal);
      }
    }
  }
}
