import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { BULK_ACTIONS } from '../contract/enums.contract.js';
import { type Store, writeTransaction } from '../db/database.js';
import { AppError } from '../errors.js';
import type { NewEvent } from '../events/event.model.js';
import { type ParsedBulkRequest, parseBulkRequest } from '../promotions/bulk-request.js';
import type { EnrolmentRepository } from '../promotions/enrolment.repository.js';
import type { EnrolmentService } from '../promotions/enrolment.service.js';
import { toResult } from './job.mapper.js';
import { type DryOverlay, dryRunTx, newOverlay } from './job-tx.js';
import type { StoredRow } from './job-upload.js';
import type { JobRecord, JobsRepository, StoredResult } from './jobs.repository.js';
import { jobRequestId } from './jobs.service.js';

export interface JobRunnerDeps {
  store: Store;
  jobs: JobsRepository;
  enrolment: EnrolmentService;
  enrolmentRepository: EnrolmentRepository;
  clock: Clock;
  /** How often an idle runner looks for work, in ms. */
  pollMs: number;
  /** How long a claimed job stays this runner's without progress before another may take it, in ms. */
  leaseMs: number;
  onError?: (err: unknown) => void;
}

export type JobRunner = ReturnType<typeof createJobRunner>;

const STALE_UPLOAD_MS = 10 * 60_000;

/**
 * Chunks (of a hundred rows) a transaction commits at most: about a thousand rows. Each transaction
 * costs a commit and the job's own statements (its lock, its progress, the chunks' rows and results,
 * the promotion check), which a chunk paid alone when it was its own transaction: on PostgreSQL, where
 * the chunks run one after another, those round trips and commits were most of what a grouping saves.
 * More would hold the write lock (on SQLite, the whole store's) longer for the requests behind it.
 */
const CHUNKS_PER_TRANSACTION = 10;

/**
 * Runs queued jobs, one at a time per process, up to CHUNKS_PER_TRANSACTION chunks per transaction,
 * one chunk after another. Each transaction commits its chunks' writes together with their results
 * and the job's progress, and only while the job's row says it is this runner's, at its first chunk,
 * and running: a restart resumes at the first chunk not committed, a cancel lands between
 * transactions, and two processes never commit the same chunk.
 */
export function createJobRunner(deps: JobRunnerDeps) {
  const { store, jobs, enrolment, enrolmentRepository, clock, pollMs, leaseMs } = deps;
  const owner = randomUUID();
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /** A chunk's rows as the body of a 100-customer request, parsed with that request's checks. */
  function chunkRequest(job: JobRecord, rows: StoredRow[]): ParsedBulkRequest {
    const request = parseBulkRequest(
      {
        type: 'CUSTOMER',
        bulkAction: job.action,
        promotionDetails: { programId: job.program_id, promotionId: job.promotion_id },
        identifierName: job.identifier_name,
        customers: rows.map(([, identifierValue, source, earnIds]) => ({
          identifierValue,
          source,
          ...(earnIds ? { earnIds: earnIds.split(/\s+/) } : {}),
        })),
      },
      { actions: BULK_ACTIONS },
    );
    // An undo's rows name the issual the undone job made: the only one the row may revoke.
    rows.forEach(([, , , , issualId], i) => {
      const ref = request.customers[i];
      if (typeof issualId === 'number' && ref?.kind === 'lookup') ref.issualId = issualId;
    });
    return request;
  }

  /**
   * The chunks from `firstChunk` (at most CHUNKS_PER_TRANSACTION), each planned and written in order
   * as its own request, all in one transaction; false when the job is no longer this runner's to go
   * on with.
   */
  async function runChunks(job: JobRecord, firstChunk: number, overlay: DryOverlay | undefined) {
    const count = Math.min(CHUNKS_PER_TRANSACTION, job.total_chunks - firstChunk);
    const requests: ParsedBulkRequest[] = [];
    for (const rows of await jobs.chunkRows(job.org_id, job.id, firstChunk, count)) {
      try {
        requests.push(chunkRequest(job, rows));
      } catch (err) {
        // A chunk refused whole is refused as the first of a transaction: the chunks before it commit.
        if (requests.length === 0) throw err;
        break;
      }
    }
    // Checked for each transaction, as for each request: a promotion that stops being live stops the job.
    const promotion = await enrolment.checkPromotion(job.org_id, requests[0] as ParsedBulkRequest);
    const now = clock.now();
    const stamp = { orgId: job.org_id, at: now, by: job.created_by, requestId: jobRequestId(job.id) };
    const written: NewEvent[] = [];
    const done = await writeTransaction(store, async (trx) => {
      const current = await jobs.lockJob(trx, job.org_id, job.id);
      if (
        current?.status !== 'running' ||
        current.lease_owner !== owner ||
        current.next_chunk !== firstChunk
      ) {
        return false;
      }
      const tx = enrolmentRepository.within(trx);
      const counts = { succeeded: 0, failed: 0, warnings: 0 };
      const results: StoredResult[][] = [];
      for (const request of requests) {
        // The records and their events are written in this transaction, on the path a /v2 request takes.
        const { items, events } = await enrolment.applyInTransaction(
          overlay ? dryRunTx(tx, overlay) : tx,
          stamp,
          request,
          promotion,
        );
        if (!overlay) written.push(...events);
        const chunk = items.map(toResult);
        const failed = chunk.filter((r) => r[5] === 1).length;
        counts.failed += failed;
        counts.succeeded += chunk.length - failed;
        counts.warnings += items.filter((i) => i.errors.length === 0 && i.warnings.length > 0).length;
        results.push(chunk);
      }
      await jobs.saveChunks(trx, {
        orgId: job.org_id,
        jobId: job.id,
        firstChunk,
        results,
        ...counts,
        now,
        // From the end of the work rather than its start, which a large transaction may be well past.
        leaseUntil: clock.now() + leaseMs,
        last: firstChunk + requests.length >= job.total_chunks,
      });
      return true;
    });
    // Only after the commit, as for a /v2 request: counts the events and wakes webhook delivery.
    if (done) enrolment.committed(written);
    return done ? requests.length : 0;
  }

  async function runJob(job: JobRecord): Promise<void> {
    // A dry run's predictions so far live in this overlay only while this call runs: one resumed
    // (another process's, or this one's after an error) starts again from its first row.
    const overlay = job.dry_run === 1 ? newOverlay() : undefined;
    if (overlay && job.next_chunk > 0) {
      await jobs.restart(job.org_id, job.id, owner, clock.now());
      job = { ...job, next_chunk: 0 };
    }
    for (let chunkNo = job.next_chunk; chunkNo < job.total_chunks && running; ) {
      try {
        const committed = await runChunks(job, chunkNo, overlay);
        if (committed === 0) return;
        chunkNo += committed;
      } catch (err) {
        if (!(err instanceof AppError) || typeof err.code !== 'number') throw err;
        await jobs.fail(job.org_id, job.id, owner, err.code, err.message, clock.now());
        return;
      }
    }
    if (!running) await jobs.release(job.org_id, job.id, owner, clock.now());
  }

  async function tick(): Promise<boolean> {
    for (const stale of await jobs.staleUploads(clock.now() - STALE_UPLOAD_MS)) {
      await jobs.discard(stale.org_id, stale.id);
    }
    const now = clock.now();
    const job = await jobs.claim(owner, now, now + leaseMs);
    if (!job) return false;
    await runJob(job);
    return true;
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      loop = (async () => {
        // A poll's wait first: a process just started (and its tests) get going before the first
        // look for work; a job submitted to this process wakes it at once all the same.
        let worked = false;
        while (running) {
          if (!worked) await sleep(pollMs);
          if (!running) break;
          worked = false;
          try {
            worked = await tick();
          } catch (err) {
            deps.onError?.(err);
          }
        }
      })();
    },
    /** Looks for work now rather than at the next poll. */
    kick(): void {
      wake?.();
    },
    /** Stops after the transaction in progress; the job goes back to the queue for any runner. */
    async stop(): Promise<void> {
      running = false;
      wake?.();
      await loop;
    },
  };
}
