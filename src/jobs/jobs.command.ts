import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BULK_ACTIONS as COMMAND_ACTIONS } from '../bulk/bulk-options.js';
import { ProgressDisplay, type ProgressStream } from '../bulk/progress.js';
import { LoyaltyJobsClient } from '../client/jobs.client.js';
import type { Job } from '../client/jobs.types.js';
import { type Config, localServerUrl } from '../config.js';
import { type BulkAction, IDENTIFIER_NAMES, type IdentifierName } from '../contract/enums.contract.js';

export const JOBS_USAGE = `Usage: loyalty jobs submit enrol|earn|revoke-enrol|revoke-earn --org ID --csv FILE --program ID
                   (--promotion ID | --promo-identifier X) --identifier id|mobile|email
                   [--source S] [--dry-run] [--wait]
       loyalty jobs status --org ID --job ID [--wait]
       loyalty jobs results --org ID --job ID [--failed-only] [--out FILE]
       loyalty jobs cancel --org ID --job ID
       loyalty jobs undo --org ID --job ID [--wait]

Runs a CSV of customers (the format loyalty bulk reads) as a job inside the server: the file is
uploaded once, then the server works through it, a hundred rows a transaction. submit, status,
cancel and undo print the job as JSON; --wait shows a progress bar on stderr until the job finishes,
and exits 1 unless it succeeded. results prints one line per row (row, identifierValue, source,
entityId, issualId, earnedId, code, message).
  --url URL   the server (default http://HOST:PORT of the environment, as loyalty serve uses them)
The management API's token comes from LOYALTY_ADMIN_TOKEN.
`;

export class JobsUsageError extends Error {}

export interface JobsIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
}

const OPTIONS = {
  org: { type: 'string' },
  job: { type: 'string' },
  csv: { type: 'string' },
  program: { type: 'string' },
  promotion: { type: 'string' },
  'promo-identifier': { type: 'string' },
  identifier: { type: 'string' },
  source: { type: 'string' },
  'dry-run': { type: 'boolean' },
  wait: { type: 'boolean' },
  'failed-only': { type: 'boolean' },
  out: { type: 'string' },
  url: { type: 'string' },
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

function positive(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!value || !/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new JobsUsageError(`--${flag} must be a positive integer`);
  }
  return n;
}

/** `loyalty jobs …`: 0 when it ended as asked, 1 when the server refused or a waited-for job did not succeed. */
export async function runJobsCommand(args: string[], config: Config, io: JobsIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || rest.includes('--help')) {
    io.stdout.write(JOBS_USAGE);
    return 0;
  }
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw new JobsUsageError(`${(err as Error).message}\n\n${JOBS_USAGE}`);
  }
  if (!['submit', 'status', 'results', 'cancel', 'undo'].includes(sub)) {
    throw new JobsUsageError(`unknown jobs command "${sub}"\n\n${JOBS_USAGE}`);
  }
  const orgId = positive(values.org, 'org');
  if (!config.adminToken) throw new JobsUsageError('LOYALTY_ADMIN_TOKEN must be set to run jobs');
  const client = new LoyaltyJobsClient({
    baseUrl: values.url ?? localServerUrl(config),
    adminToken: config.adminToken,
  });
  const print = (job: Job) => io.stdout.write(`${JSON.stringify(job)}\n`);
  const finish = async (job: Job): Promise<number> => {
    if (!values.wait) {
      print(job);
      return 0;
    }
    const done = await watch(client, orgId, job, io.stderr);
    print(done);
    return done.status === 'succeeded' ? 0 : 1;
  };

  try {
    if (sub === 'submit') return await finish(await submit(client, orgId, positionals, values));
    const jobId = String(positive(values.job, 'job'));
    if (sub === 'status') return await finish(await client.get(orgId, jobId));
    if (sub === 'cancel') return await finish(await client.cancel(orgId, jobId));
    if (sub === 'undo') return await finish(await client.undo(orgId, jobId));
    const lines = client.results(orgId, jobId, { failedOnly: values['failed-only'] === true });
    if (values.out === undefined) {
      for await (const text of lines) io.stdout.write(text);
    } else {
      await writeFile(values.out, lines);
    }
    return 0;
  } catch (err) {
    if (err instanceof JobsUsageError) throw err;
    io.stderr.write(`loyalty jobs: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function submit(client: LoyaltyJobsClient, orgId: number, positionals: string[], values: Values) {
  const [action, ...extra] = positionals;
  if (!action || !(COMMAND_ACTIONS as readonly string[]).includes(action) || extra.length > 0) {
    throw new JobsUsageError(`submit needs one action: ${COMMAND_ACTIONS.join(', ')}`);
  }
  if (!values.csv) throw new JobsUsageError('submit needs --csv FILE');
  if ((values.promotion === undefined) === (values['promo-identifier'] === undefined)) {
    throw new JobsUsageError('submit needs --promotion ID or --promo-identifier X');
  }
  const identifier = values.identifier ?? '';
  if (!(IDENTIFIER_NAMES as readonly string[]).includes(identifier)) {
    throw new JobsUsageError(`--identifier must be one of ${IDENTIFIER_NAMES.join(', ')}`);
  }
  try {
    await stat(values.csv);
  } catch {
    throw new JobsUsageError(`cannot read ${values.csv}`);
  }
  return client.submit(
    orgId,
    {
      action: action.toUpperCase().replace('-', '_') as BulkAction,
      programId: positive(values.program, 'program'),
      ...(values.promotion !== undefined ? { promotionId: positive(values.promotion, 'promotion') } : {}),
      ...(values['promo-identifier'] !== undefined ? { promoIdentifier: values['promo-identifier'] } : {}),
      identifierName: identifier as IdentifierName,
      ...(values.source !== undefined ? { source: values.source } : {}),
      ...(values['dry-run'] ? { dryRun: true } : {}),
    },
    // Streamed from the disk as it is sent: a file of any size, in little memory.
    createReadStream(values.csv),
  );
}

/** Follows a job to its end with a progress bar (a line every few seconds when not a terminal). */
async function watch(client: LoyaltyJobsClient, orgId: number, job: Job, out: ProgressStream): Promise<Job> {
  const progress = new ProgressDisplay(out);
  const snapshot = (j: Job) => ({ done: j.rows.processed, total: j.rows.total, failed: j.rows.failed });
  progress.begin(job.rows.processed);
  const done = await client.wait(orgId, job.id, {
    intervalMs: 500,
    onProgress: (j) => progress.update(snapshot(j)),
  });
  progress.end(snapshot(done));
  return done;
}
