import { type Selectable, sql } from 'kysely';
import { type Store, type Trx, writeTransaction } from '../db/database.js';
import { allocateIds } from '../db/id-sequences.js';
import type { JobsTable } from '../db/schema.js';
import { undoQueries } from './job-undo.repository.js';
import type { StoredRow } from './job-upload.js';

export type JobRecord = Selectable<JobsTable>;

/** One row's outcome as the store keeps it. */
export type StoredResult = [
  entityId: number | '',
  issualId: string,
  earnedId: string,
  code: number | '',
  message: string,
  failed: 0 | 1,
];

export interface NewJob {
  orgId: number;
  action: string;
  programId: number;
  promotionId: number;
  identifierName: string;
  dryRun: boolean;
  undoOf: number | null;
  createdBy: string;
  now: number;
}

/** What one transaction did: consecutive chunks from `firstChunk`, each with its rows' results. */
export interface ChunksDone {
  orgId: number;
  jobId: number;
  firstChunk: number;
  /** One list of results per chunk, in chunk order. */
  results: StoredResult[][];
  succeeded: number;
  failed: number;
  warnings: number;
  now: number;
  leaseUntil: number;
  last: boolean;
}

export type JobsRepository = ReturnType<typeof createJobsRepository>;

const RUNNABLE = ['queued', 'running'];

export function createJobsRepository(store: Store) {
  const { db, dialect } = store;

  return {
    ...undoQueries(db),
    /** A job in `uploading`, which no runner takes and no list shows until its upload is complete. */
    async create(job: NewJob): Promise<number> {
      return writeTransaction(store, async (trx) => {
        const [id] = (await allocateIds(trx, dialect, { jobs: 1 })).jobs as [number];
        await trx
          .insertInto('jobs')
          .values({
            org_id: job.orgId,
            id,
            status: 'uploading',
            action: job.action,
            program_id: job.programId,
            promotion_id: job.promotionId,
            identifier_name: job.identifierName,
            dry_run: job.dryRun ? 1 : 0,
            undo_of: job.undoOf,
            total_rows: 0,
            total_chunks: 0,
            next_chunk: 0,
            processed: 0,
            succeeded: 0,
            failed: 0,
            warnings: 0,
            created_by: job.createdBy,
            created_at: job.now,
            updated_at: job.now,
          })
          .execute();
        return id;
      });
    },

    /** Stores chunks of an upload (each a hundred rows), numbered from `firstChunk`. */
    async addChunks(orgId: number, jobId: number, firstChunk: number, chunks: StoredRow[][], now: number) {
      if (chunks.length === 0) return;
      await writeTransaction(store, async (trx) => {
        await trx
          .insertInto('job_chunks')
          .values(
            chunks.map((rows, i) => ({
              org_id: orgId,
              job_id: jobId,
              chunk_no: firstChunk + i,
              row_count: rows.length,
              rows: JSON.stringify(rows),
            })),
          )
          .execute();
        // A heartbeat: an upload that stops beating was cut off, and is cleared away.
        await trx
          .updateTable('jobs')
          .set({ updated_at: now })
          .where('org_id', '=', orgId)
          .where('id', '=', jobId)
          .execute();
      });
    },

    /** The upload is complete: the job is queued for the runners. */
    async queue(orgId: number, jobId: number, rows: number, chunks: number, now: number): Promise<void> {
      await writeTransaction(store, (trx) =>
        trx
          .updateTable('jobs')
          .set({ status: 'queued', total_rows: rows, total_chunks: chunks, updated_at: now })
          .where('org_id', '=', orgId)
          .where('id', '=', jobId)
          .execute(),
      );
    },

    /** Forgets an upload that was refused or cut off (it never became a job anyone saw). */
    async discard(orgId: number, jobId: number): Promise<void> {
      await writeTransaction(store, async (trx) => {
        await trx.deleteFrom('job_chunks').where('org_id', '=', orgId).where('job_id', '=', jobId).execute();
        await trx
          .deleteFrom('jobs')
          .where('org_id', '=', orgId)
          .where('id', '=', jobId)
          .where('status', '=', 'uploading')
          .execute();
      });
    },

    /** Uploads whose heartbeat stopped before `before` (their process died mid-upload). */
    async staleUploads(before: number): Promise<{ org_id: number; id: number }[]> {
      return db
        .selectFrom('jobs')
        .select(['org_id', 'id'])
        .where('status', '=', 'uploading')
        .where('updated_at', '<', before)
        .execute();
    },

    async find(orgId: number, jobId: number): Promise<JobRecord | undefined> {
      return db
        .selectFrom('jobs')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', jobId)
        .where('status', '<>', 'uploading')
        .executeTakeFirst();
    },

    /** Newest first, from before the cursor (a job id). */
    async list(
      orgId: number,
      status: string | undefined,
      before: number,
      limit: number,
    ): Promise<JobRecord[]> {
      let query = db
        .selectFrom('jobs')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('status', '<>', 'uploading');
      if (status) query = query.where('status', '=', status);
      if (before > 0) query = query.where('id', '<', before);
      return query.orderBy('id', 'desc').limit(limit).execute();
    },

    /**
     * Takes a job that is queued, or running under a lease that ran out (its process died), for
     * `owner` until `leaseUntil`. On PostgreSQL, FOR UPDATE SKIP LOCKED lets several processes claim
     * at once, each passing over the row another is claiming instead of waiting for it.
     */
    async claim(owner: string, now: number, leaseUntil: number): Promise<JobRecord | undefined> {
      return writeTransaction(store, async (trx) => {
        const candidate = await dialect
          .forUpdate(
            trx
              .selectFrom('jobs')
              .selectAll()
              .where('status', 'in', RUNNABLE)
              .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
              .orderBy('id')
              .limit(1),
            true,
          )
          .executeTakeFirst();
        if (!candidate) return undefined;
        const taken = {
          status: 'running',
          lease_owner: owner,
          lease_until: leaseUntil,
          started_at: candidate.started_at ?? now,
          updated_at: now,
        };
        await trx
          .updateTable('jobs')
          .set(taken)
          .where('org_id', '=', candidate.org_id)
          .where('id', '=', candidate.id)
          .execute();
        return { ...candidate, ...taken };
      });
    },

    /** Inside a job's transaction: the job's row, locked until the transaction ends. */
    async lockJob(trx: Trx, orgId: number, jobId: number): Promise<JobRecord | undefined> {
      return dialect
        .forUpdate(
          trx.selectFrom('jobs').selectAll().where('org_id', '=', orgId).where('id', '=', jobId),
          false,
        )
        .executeTakeFirst();
    },

    /** The rows of `count` chunks from `firstChunk`, one list per chunk, in one statement. */
    async chunkRows(orgId: number, jobId: number, firstChunk: number, count: number): Promise<StoredRow[][]> {
      const chunks = await db
        .selectFrom('job_chunks')
        .select(['chunk_no', 'rows'])
        .where('org_id', '=', orgId)
        .where('job_id', '=', jobId)
        .where('chunk_no', '>=', firstChunk)
        .where('chunk_no', '<', firstChunk + count)
        .orderBy('chunk_no')
        .execute();
      if (chunks.length !== count) throw new Error(`job ${jobId} lacks chunks from ${firstChunk}`);
      return chunks.map((chunk) => JSON.parse(chunk.rows) as StoredRow[]);
    },

    /**
     * Inside the job's transaction, with its rows' writes: each chunk's results (one statement for
     * them all) and the job's progress past the last of them (one more).
     */
    async saveChunks(trx: Trx, done: ChunksDone): Promise<void> {
      const count = done.results.length;
      const byChunk = sql.join(
        done.results.map((results, i) => sql`when ${done.firstChunk + i} then ${JSON.stringify(results)}`),
        sql` `,
      );
      await trx
        .updateTable('job_chunks')
        .set({ results: sql<string>`case chunk_no ${byChunk} end` })
        .where('org_id', '=', done.orgId)
        .where('job_id', '=', done.jobId)
        .where('chunk_no', '>=', done.firstChunk)
        .where('chunk_no', '<', done.firstChunk + count)
        .execute();
      const processed = done.results.reduce((sum, results) => sum + results.length, 0);
      await trx
        .updateTable('jobs')
        .set((eb) => ({
          next_chunk: done.firstChunk + count,
          processed: eb('processed', '+', processed),
          succeeded: eb('succeeded', '+', done.succeeded),
          failed: eb('failed', '+', done.failed),
          warnings: eb('warnings', '+', done.warnings),
          updated_at: done.now,
          lease_until: done.leaseUntil,
          ...(done.last
            ? { status: 'succeeded', finished_at: done.now, lease_owner: null, lease_until: null }
            : {}),
        }))
        .where('org_id', '=', done.orgId)
        .where('id', '=', done.jobId)
        .execute();
    },

    /** Ends a job that cannot go on (say, its promotion stopped being live) with the reason. */
    async fail(orgId: number, jobId: number, owner: string, code: number, message: string, now: number) {
      await writeTransaction(store, (trx) =>
        trx
          .updateTable('jobs')
          .set({
            status: 'failed',
            error_code: String(code),
            error_message: message,
            finished_at: now,
            updated_at: now,
            lease_owner: null,
            lease_until: null,
          })
          .where('org_id', '=', orgId)
          .where('id', '=', jobId)
          .where('status', '=', 'running')
          .where('lease_owner', '=', owner)
          .execute(),
      );
    },

    /** Gives a job back to the queue (a process stopping), keeping what it did. */
    async release(orgId: number, jobId: number, owner: string, now: number): Promise<void> {
      await writeTransaction(store, (trx) =>
        trx
          .updateTable('jobs')
          .set({ lease_owner: null, lease_until: null, updated_at: now })
          .where('org_id', '=', orgId)
          .where('id', '=', jobId)
          .where('lease_owner', '=', owner)
          .execute(),
      );
    },

    /** A dry run resumed by another process restarts from its first row (its predictions lived in memory). */
    async restart(orgId: number, jobId: number, owner: string, now: number): Promise<void> {
      await writeTransaction(store, async (trx) => {
        await trx
          .updateTable('job_chunks')
          .set({ results: null })
          .where('org_id', '=', orgId)
          .where('job_id', '=', jobId)
          .execute();
        await trx
          .updateTable('jobs')
          .set({ next_chunk: 0, processed: 0, succeeded: 0, failed: 0, warnings: 0, updated_at: now })
          .where('org_id', '=', orgId)
          .where('id', '=', jobId)
          .where('lease_owner', '=', owner)
          .execute();
      });
    },

    /** Cancels a queued or running job; a transaction in progress (its chunks) commits first, or not at all. */
    async cancel(orgId: number, jobId: number, now: number): Promise<boolean> {
      return writeTransaction(store, async (trx) => {
        const job = await dialect
          .forUpdate(
            trx.selectFrom('jobs').select('status').where('org_id', '=', orgId).where('id', '=', jobId),
            false,
          )
          .executeTakeFirst();
        if (!job || !RUNNABLE.includes(job.status)) return false;
        await trx
          .updateTable('jobs')
          .set({
            status: 'cancelled',
            finished_at: now,
            updated_at: now,
            lease_owner: null,
            lease_until: null,
          })
          .where('org_id', '=', orgId)
          .where('id', '=', jobId)
          .execute();
        return true;
      });
    },

    /** The processed chunks' rows and results, in order, a page at a time. */
    async *results(
      orgId: number,
      jobId: number,
      pageSize = 50,
    ): AsyncGenerator<{ rows: StoredRow[]; results: StoredResult[] }> {
      for (let from = 0; ; from += pageSize) {
        const page = await db
          .selectFrom('job_chunks')
          .select(['rows', 'results'])
          .where('org_id', '=', orgId)
          .where('job_id', '=', jobId)
          .where('chunk_no', '>=', from)
          .where('chunk_no', '<', from + pageSize)
          .where('results', 'is not', null)
          .orderBy('chunk_no')
          .execute();
        for (const chunk of page) {
          yield {
            rows: JSON.parse(chunk.rows) as StoredRow[],
            results: JSON.parse(chunk.results as string) as StoredResult[],
          };
        }
        if (page.length < pageSize) return;
      }
    },
  };
}
