import type { BulkAction, IdentifierName } from '../contract/enums.contract.js';
import { type AdminClientOptions, AdminHttp, type Body } from './admin-http.js';
import type { Job, JobPage, JobStatus } from './jobs.types.js';

/** Options of a {@link LoyaltyJobsClient}. */
export type LoyaltyJobsClientOptions = AdminClientOptions;

/** What a job runs: the action, the promotion (by id or identifier), how rows name customers. */
export interface JobSpec {
  action: BulkAction;
  programId: number;
  promotionId?: number;
  promoIdentifier?: string;
  identifierName: IdentifierName;
  /** The source of rows that name none; the server's default is INSTORE. */
  source?: string;
  /** Each row's outcome computed, nothing written. */
  dryRun?: boolean;
}

/** A CSV file in the format `loyalty bulk` reads: text, bytes, or a stream sent as it is read. */
export type JobFile = string | Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

export interface WaitOptions {
  /** Between looks at the job, in ms; default 1,000. */
  intervalMs?: number;
  /** Told of the job each time it is read. */
  onProgress?: (job: Job) => void;
  /** Stops waiting (the job goes on). */
  signal?: AbortSignal;
}

const FINISHED: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * A typed client of the server-side bulk jobs of the management API.
 *
 * @example
 * const jobs = new LoyaltyJobsClient({ baseUrl: 'http://127.0.0.1:3000', adminToken });
 * const job = await jobs.submit(1, { action: 'ENROL', programId: 7, promotionId: 9, identifierName: 'id' }, csv);
 * const done = await jobs.wait(1, job.id, { onProgress: (j) => console.log(j.rows.processed) });
 */
export class LoyaltyJobsClient {
  readonly #http: AdminHttp;

  constructor(options: LoyaltyJobsClientOptions) {
    this.#http = new AdminHttp(options);
  }

  /** Uploads the file and queues the job; whole-request refusals throw with the bulk API's codes. */
  submit(orgId: number, spec: JobSpec, file: JobFile): Promise<Job> {
    const body: Body = { type: 'text/csv', data: file };
    return this.#http.json('POST', `/orgs/${orgId}/jobs`, body, { ...spec });
  }

  get(orgId: number, jobId: string): Promise<Job> {
    return this.#http.json('GET', `/orgs/${orgId}/jobs/${encodeURIComponent(jobId)}`);
  }

  /** A page of an org's jobs, newest first. */
  list(orgId: number, query: { status?: JobStatus; limit?: number; cursor?: string } = {}): Promise<JobPage> {
    return this.#http.json('GET', `/orgs/${orgId}/jobs`, undefined, query);
  }

  /** The results file (`row,identifierValue,…`), as it arrives: a job's may be millions of lines. */
  async *results(
    orgId: number,
    jobId: string,
    options: { failedOnly?: boolean } = {},
  ): AsyncGenerator<string> {
    const { response } = await this.#http.send(
      'GET',
      `/orgs/${orgId}/jobs/${encodeURIComponent(jobId)}/results`,
      undefined,
      options.failedOnly ? { failedOnly: true } : {},
    );
    if (!response.body) return;
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      if (text !== '') yield text;
    }
    const rest = decoder.decode();
    if (rest !== '') yield rest;
  }

  /** Stops the job after the transaction in progress (up to ten chunks); what was done stays done. */
  cancel(orgId: number, jobId: string): Promise<Job> {
    return this.#http.json('POST', `/orgs/${orgId}/jobs/${encodeURIComponent(jobId)}/cancel`);
  }

  /** A new job that revokes exactly what this one made. */
  undo(orgId: number, jobId: string): Promise<Job> {
    return this.#http.json('POST', `/orgs/${orgId}/jobs/${encodeURIComponent(jobId)}/undo`);
  }

  /** The job once it has finished (succeeded, failed or cancelled), or as it stood when the signal aborted. */
  async wait(orgId: number, jobId: string, options: WaitOptions = {}): Promise<Job> {
    for (;;) {
      const job = await this.get(orgId, jobId);
      options.onProgress?.(job);
      if (FINISHED.includes(job.status) || options.signal?.aborted) return job;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1_000));
    }
  }
}
