import { csvLine } from '../bulk/csv-reader.js';
import type { Clock } from '../clock.js';
import { BULK_ACTIONS, type BulkAction, type IdentifierName } from '../contract/enums.contract.js';
import { JOB_STATUSES, type Job, type JobPage, RESULT_COLUMNS } from '../contract/jobs.contract.js';
import { AppError, badRequest } from '../errors.js';
import { parseBulkRequest } from '../promotions/bulk-request.js';
import type { EnrolmentService } from '../promotions/enrolment.service.js';
import { toJob } from './job.mapper.js';
import { type StoredRow, uploadChunks } from './job-upload.js';
import type { JobsRepository } from './jobs.repository.js';

export interface JobsServiceDeps {
  repository: JobsRepository;
  enrolment: EnrolmentService;
  clock: Clock;
  /** The largest upload, in bytes. */
  maxUploadBytes: number;
  /** Told when a job was queued, so that a runner of this process starts on it at once. */
  onQueued?: () => void;
}

/** The query string of a submission, as the URL spelled it. */
export interface SubmitQuery {
  action?: string;
  programId?: string;
  promotionId?: string;
  promoIdentifier?: string;
  identifierName?: string;
  source?: string;
  dryRun?: string;
}

/** Uploaded chunks are stored this many at a time (one transaction each). */
const CHUNKS_PER_WRITE = 20;
const UNDO_PAGE = 10_000;
/** An undo's row without its number: customer id, source, earn id, and the issual to revoke. */
type UndoRow = [string, string, string, number?];

/** The request id stamped on every issual, earn (and event) a job writes: how undo finds them. */
export const jobRequestId = (jobId: number) => `job:${jobId}`;

export type JobsService = ReturnType<typeof createJobsService>;

export function createJobsService({
  repository,
  enrolment,
  clock,
  maxUploadBytes,
  onQueued,
}: JobsServiceDeps) {
  async function found(orgId: number, jobId: number) {
    const record = await repository.find(orgId, jobId);
    if (!record) throw new AppError(404, 'No such job');
    return record;
  }

  /** Stores the rows, CHUNKS_PER_WRITE chunks a transaction, and queues the job; the job if it took. */
  async function store(orgId: number, jobId: number, chunks: AsyncIterable<StoredRow[]>) {
    let rows = 0;
    let count = 0;
    let batch: StoredRow[][] = [];
    try {
      for await (const chunk of chunks) {
        batch.push(chunk);
        rows += chunk.length;
        if (batch.length === CHUNKS_PER_WRITE) {
          await repository.addChunks(orgId, jobId, count, batch, clock.now());
          count += batch.length;
          batch = [];
        }
      }
      await repository.addChunks(orgId, jobId, count, batch, clock.now());
      count += batch.length;
    } catch (err) {
      await repository.discard(orgId, jobId);
      throw err;
    }
    return { rows, count };
  }

  return {
    /**
     * `POST …/jobs`: the whole-request checks of a bulk request, in its order and with its codes,
     * before a byte of the body is read; then the upload, streamed into the store; then the job.
     */
    async submit(
      orgId: number,
      query: SubmitQuery,
      body: AsyncIterable<Buffer>,
      createdBy: string,
    ): Promise<Job> {
      const dryRun =
        query.dryRun === undefined || query.dryRun === 'false'
          ? false
          : query.dryRun === 'true'
            ? true
            : undefined;
      if (dryRun === undefined) throw new AppError(400, 'dryRun must be true or false');
      // The same checks as a 100-customer request, on a request with one customer to stand for the rows.
      const request = parseBulkRequest(
        {
          type: 'CUSTOMER',
          bulkAction: query.action,
          promotionDetails: {
            programId: query.programId,
            promotionId: query.promotionId,
            promoIdentifier: query.promoIdentifier,
          },
          identifierName: query.identifierName,
          customers: [{}],
        },
        { actions: BULK_ACTIONS },
      );
      const { identifierName } = request;
      // A job's file names customers as `loyalty bulk` reads them: by id, mobile or email.
      if (identifierName === 'externalId')
        throw new AppError(400, 'identifierName must be id, mobile or email');
      const promotion = await enrolment.checkPromotion(orgId, request);
      const jobId = await repository.create({
        orgId,
        action: request.action,
        programId: request.programId,
        promotionId: promotion.id,
        identifierName,
        dryRun,
        undoOf: null,
        createdBy,
        now: clock.now(),
      });
      const chunks = uploadChunks(body, {
        identifierName,
        defaultSource: query.source?.trim() || 'INSTORE',
        maxBytes: maxUploadBytes,
      });
      const { rows, count } = await store(orgId, jobId, chunks);
      if (rows === 0) {
        await repository.discard(orgId, jobId);
        throw new AppError(11013, 'The file holds no customer rows');
      }
      await repository.queue(orgId, jobId, rows, count, clock.now());
      onQueued?.();
      return toJob(await found(orgId, jobId));
    },

    async get(orgId: number, jobId: number): Promise<Job> {
      return toJob(await found(orgId, jobId));
    },

    async list(orgId: number, query: { status?: string; limit?: string; cursor?: string }): Promise<JobPage> {
      if (query.status !== undefined && !(JOB_STATUSES as readonly string[]).includes(query.status)) {
        throw badRequest('status', `status must be one of ${JOB_STATUSES.join(', ')}`);
      }
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw badRequest('limit', 'limit must be 1 to 1000');
      const before = query.cursor === undefined ? 0 : Number(query.cursor);
      if (!/^[0-9]+$/.test(query.cursor ?? '0') || !Number.isSafeInteger(before)) {
        throw badRequest('cursor', 'cursor is not one this API gave');
      }
      const records = await repository.list(orgId, query.status, before, limit + 1);
      const page = records.slice(0, limit);
      const last = page[page.length - 1];
      return {
        jobs: page.map(toJob),
        nextCursor: records.length > limit && last ? String(last.id) : null,
      };
    },

    /** Stops a queued or running job after the transaction in progress; what was done stays done. */
    async cancel(orgId: number, jobId: number): Promise<Job> {
      await found(orgId, jobId);
      if (!(await repository.cancel(orgId, jobId, clock.now()))) {
        throw new AppError(409, 'The job has already finished');
      }
      return toJob(await found(orgId, jobId));
    },

    /**
     * A new job that revokes the issuals (ENROL) or earns (EARN) the job made and that are still
     * active, found by the job's request id on them, and nothing else.
     */
    async undo(orgId: number, jobId: number, createdBy: string): Promise<Job> {
      const job = await found(orgId, jobId);
      if (job.dry_run === 1 || (job.action !== 'ENROL' && job.action !== 'EARN')) {
        throw new AppError(409, 'Only a real ENROL or EARN job can be undone');
      }
      if (job.status === 'queued' || job.status === 'running') {
        throw new AppError(409, 'The job is still running: cancel it first, or wait for it to finish');
      }
      const action: BulkAction = job.action === 'ENROL' ? 'REVOKE_ENROL' : 'REVOKE_EARN';
      const undoId = await repository.create({
        orgId,
        action,
        programId: job.program_id,
        promotionId: job.promotion_id,
        identifierName: 'id' satisfies IdentifierName,
        dryRun: false,
        undoOf: job.id,
        createdBy,
        now: clock.now(),
      });
      const requestId = jobRequestId(job.id);
      /** The undo's rows, a page of records at a time: an ENROL's issuals, or an EARN's earns. */
      async function page(after: number): Promise<{ id: number; row: UndoRow }[]> {
        if (action === 'REVOKE_ENROL') {
          const made = await repository.issualsMadeBy(orgId, job.promotion_id, requestId, after, UNDO_PAGE);
          return made.map((r) => ({ id: r.id, row: [String(r.customer_id), 'ALL', '', r.id] }));
        }
        const made = await repository.earnsMadeBy(orgId, job.promotion_id, requestId, after, UNDO_PAGE);
        // With the implicit issual the job made for the earn (DIRECT), so that the undo revokes it too.
        return made.map((r) => {
          const row: UndoRow = [String(r.customer_id), 'ALL', String(r.id)];
          if (r.made_issual_id !== null) row.push(r.made_issual_id);
          return { id: r.id, row };
        });
      }
      async function* made(): AsyncGenerator<StoredRow[]> {
        let row = 0;
        for (let after = 0; ; ) {
          const records = await page(after);
          for (let i = 0; i < records.length; i += 100) {
            yield records.slice(i, i + 100).map((r): StoredRow => {
              row += 1;
              return [row, ...r.row] as StoredRow;
            });
          }
          if (records.length < UNDO_PAGE) return;
          after = (records[records.length - 1] as { id: number }).id;
        }
      }
      const { rows, count } = await store(orgId, undoId, made());
      await repository.queue(orgId, undoId, rows, count, clock.now());
      onQueued?.();
      return toJob(await found(orgId, undoId));
    },

    /** The results file, a line per processed row in input order, produced as it is read. */
    async results(orgId: number, jobId: number, failedOnly: boolean): Promise<AsyncIterable<string>> {
      await found(orgId, jobId);
      async function* lines(): AsyncGenerator<string> {
        yield csvLine(RESULT_COLUMNS);
        for await (const { rows, results } of repository.results(orgId, jobId)) {
          let text = '';
          rows.forEach((row, i) => {
            const result = results[i];
            if (!result || (failedOnly && result[5] !== 1)) return;
            const [entityId, issualId, earnedId, code, message] = result;
            text += csvLine([row[0], row[1], row[2], entityId, issualId, earnedId, code, message]);
          });
          if (text !== '') yield text;
        }
      }
      return lines();
    },
  };
}
