import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { BULK_ACTIONS } from '../contract/enums.contract.js';
import { type Store, writeTransaction } from '../db/database.js';
import { AppError } from '../errors.js';
import type { NewEvent } from '../events/event.model.js';
import { parseBulkRequest } from '../promotions/bulk-request.js';
import type { EnrolmentRepository } from '../promotions/enrolment.repository.js';
import type { EnrolmentService } from '../promotions/enrolment.service.js';
import { toResult } from './job.mapper.js';
import { type DryOverlay, dryRunTx, newOverlay } from './job-tx.js';
import type { JobRecord, JobsRepository } from './jobs.repository.js';
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
 * Runs queued jobs, one at a time per process, a chunk (a hundred rows) per transaction. Each chunk
 * commits together with its results and the job's progress, and only while the job's row says it is
 * this runner's, at that chunk, and running: a restart resumes at the next chunk, a cancel lands
 * between chunks, and two processes never commit the same chunk.
 */
export function createJobRunner(deps: JobRunnerDeps) {
  const { store, jobs, enrolment, enrolmentRepository, clock, pollMs, leaseMs } = deps;
  const owner = randomUUID();
  const overlays = new Map<number, DryOverlay>();
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

  /** One chunk, all or nothing; false when the job is no longer this runner's to go on with. */
  async function runChunk(job: JobRecord, chunkNo: number): Promise<boolean> {
    const rows = await jobs.chunkRows(job.org_id, job.id, chunkNo);
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
    // Checked for each chunk, as for each request: a promotion that stops being live stops the job.
    const promotion = await enrolment.checkPromotion(job.org_id, request);
    const now = clock.now();
    const stamp = { orgId: job.org_id, at: now, by: job.created_by, requestId: jobRequestId(job.id) };
    let overlay = overlays.get(job.id);
    if (job.dry_run === 1 && !overlay) {
      overlay = newOverlay();
      overlays.set(job.id, overlay);
    }
    // An undo's rows name the issual the undone job made: the only one the row may revoke.
    rows.forEach(([, , , , issualId], i) => {
      const ref = request.customers[i];
      if (typeof issualId === 'number' && ref?.kind === 'lookup') ref.issualId = issualId;
    });
    let written: readonly NewEvent[] = [];
    const done = await writeTransaction(store, async (trx) => {
      const current = await jobs.lockJob(trx, job.org_id, job.id);
      if (current?.status !== 'running' || current.lease_owner !== owner || current.next_chunk !== chunkNo) {
        return false;
      }
      const tx = enrolmentRepository.within(trx);
      // The records and their events are written in this transaction, on the path a /v2 request takes.
      const { items, events } = await enrolment.applyInTransaction(
        overlay ? dryRunTx(tx, overlay) : tx,
        stamp,
        request,
        promotion,
      );
      written = overlay ? [] : events;
      const results = items.map(toResult);
      const failed = results.filter((r) => r[5] === 1).length;
      const warnings = items.filter((item) => item.errors.length === 0 && item.warnings.length > 0).length;
      await jobs.saveChunk(trx, {
        orgId: job.org_id,
        jobId: job.id,
        chunkNo,
        results,
        succeeded: results.length - failed,
        failed,
        warnings,
        now,
        leaseUntil: now + leaseMs,
        last: chunkNo + 1 >= job.total_chunks,
      });
      return true;
    });
    // Only after the commit, as for a /v2 request: counts the events and wakes webhook delivery.
    if (done) enrolment.committed(written);
    return done;
  }

  async function runJob(job: JobRecord): Promise<void> {
    if (job.dry_run === 1 && job.next_chunk > 0 && !overlays.has(job.id)) {
      // Its predictions so far lived in another process's memory: start again from the first row.
      await jobs.restart(job.org_id, job.id, owner, clock.now());
      job = { ...job, next_chunk: 0 };
    }
    try {
      for (let chunkNo = job.next_chunk; chunkNo < job.total_chunks && running; chunkNo++) {
        try {
          if (!(await runChunk(job, chunkNo))) return;
        } catch (err) {
          if (!(err instanceof AppError) || typeof err.code !== 'number') throw err;
          await jobs.fail(job.org_id, job.id, owner, err.code, err.message, clock.now());
          return;
        }
      }
      if (!running) await jobs.release(job.org_id, job.id, owner, clock.now());
    } finally {
      if (!running || job.dry_run !== 1) overlays.delete(job.id);
    }
  }

  async function tick(): Promise<boolean> {
    for (const stale of await jobs.staleUploads(clock.now() - STALE_UPLOAD_MS)) {
      await jobs.discard(stale.org_id, stale.id);
    }
    const now = clock.now();
    const job = await jobs.claim(owner, now, now + leaseMs);
    if (!job) return false;
    await runJob(job);
    overlays.delete(job.id);
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
    /** Stops after the chunk in progress; the job goes back to the queue for any runner. */
    async stop(): Promise<void> {
      running = false;
      wake?.();
      await loop;
    },
  };
}
