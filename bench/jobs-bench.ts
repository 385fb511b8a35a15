/**
 * Jobs bench (`npm run bench -- jobs [options]`): customers/s of an ENROL job against `loyalty bulk`
 * sending the same file as 100-customer requests, in the same run, on a cold store; then the server's
 * peak RSS while a much larger file is uploaded and run as a job.
 *
 *   --rows N        rows of the compared file, each a distinct customer (default 1000000)
 *   --big-rows N    rows of the memory run, customers repeated (default 10000000; 0: skip it)
 *   --database URL  the store (default a fresh SQLite file)
 *
 * The server is `loyalty serve` in a process of its own; `loyalty bulk` runs in another.
 */
import { spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LoyaltyJobsClient } from '../src/client/jobs.client.js';
import type { Job } from '../src/client/jobs.types.js';
import { ROOT, seedBenchOrg, sleep, startLocalServer } from './local-server.js';

const TOKEN = 'jobs-bench-admin-token-0123456789abcdef';
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === 'jobs' ? argv.slice(1) : argv,
  options: {
    rows: { type: 'string', default: '1000000' },
    'big-rows': { type: 'string', default: '10000000' },
    database: { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const BIG_ROWS = Number(values['big-rows']);
const dir = mkdtempSync(path.join(tmpdir(), 'lp-jobs-bench-'));
const database = values.database ?? `sqlite:${path.join(dir, 'bench.db')}`;
const server = await startLocalServer(database, TOKEN, { LOYALTY_JOB_POLL_MS: '50' });
const { base, admin } = server;
const jobs = new LoyaltyJobsClient({ baseUrl: base, adminToken: TOKEN });

/** The server's resident memory, from /proc (Linux), in MiB. */
function rssMiB(): number {
  const status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const { orgId, org, programId, customerIds } = await seedBenchOrg(server, 'Jobs bench', ROWS);
const promotion = async (name: string) =>
  (await admin(`${org}/promotions`, { programId, name, type: 'ENROL_AND_ISSUE' })).id as number;
const [viaJob, viaBulk, big] = [await promotion('Job'), await promotion('Bulk'), await promotion('Big')];

const file = path.join(dir, 'customers.csv');
writeFileSync(file, `identifierValue,source\n${customerIds.map((id) => `${id},INSTORE\n`).join('')}`);

/** A job from the start of its upload to its end, with the server's peak RSS meanwhile. */
async function runJob(
  promotionId: number,
  csv: string,
): Promise<{ job: Job; seconds: number; peakMiB: number }> {
  let peakMiB = rssMiB();
  console.log(`server RSS before the job: ${peakMiB.toFixed(0)} MiB`);
  const sampler = setInterval(() => {
    peakMiB = Math.max(peakMiB, rssMiB());
  }, 100);
  const started = performance.now();
  const submitted = await jobs.submit(
    orgId,
    { action: 'ENROL', programId, promotionId, identifierName: 'id' },
    createReadStream(csv),
  );
  const job = await jobs.wait(orgId, submitted.id, { intervalMs: 100 });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { job, seconds, peakMiB: Math.max(peakMiB, rssMiB()) };
}

// The job first, on a cold store, then loyalty bulk on its twin promotion with the same file.
const job = await runJob(viaJob, file);
const bulkStarted = performance.now();
const bulk = spawn(
  process.execPath,
  [
    // From dist like the server (startLocalServer built it): what a user runs, no tsx loader.
    path.join(ROOT, 'dist', 'cli.js'),
    'bulk',
    'enrol',
    '--csv',
    file,
    '--url',
    base,
    '--program',
    String(programId),
    '--promotion',
    String(viaBulk),
    '--identifier',
    'id',
    '--till',
    'bench-till:bench-till-password',
    '--out',
    path.join(dir, 'bulk-results.csv'),
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const bulkCode = await new Promise<number>((resolve) => bulk.once('exit', (code) => resolve(code ?? 1)));
const bulkSeconds = (performance.now() - bulkStarted) / 1000;

const rate = (rows: number, seconds: number) => Math.round(rows / seconds).toLocaleString('en-US');
const ranFor = (j: Job) =>
  ((Date.parse(j.finishedAt ?? '') - Date.parse(j.startedAt ?? '')) / 1000).toFixed(1);
// Printed before the memory run, so that a failure there keeps the comparison.
console.log(`
store ${database.startsWith('sqlite') ? 'sqlite' : 'postgres'}, cold, ${ROWS.toLocaleString('en-US')} distinct customers, ENROL
job:          ${job.job.status}, ${job.seconds.toFixed(1)} s upload to end (${ranFor(job.job)} s running), ${rate(ROWS, job.seconds)} customers/s, server peak RSS ${job.peakMiB.toFixed(0)} MiB
loyalty bulk: exit ${bulkCode}, ${bulkSeconds.toFixed(1)} s, ${rate(ROWS, bulkSeconds)} customers/s
job / bulk:   ${(bulkSeconds / job.seconds).toFixed(2)}x`);

if (BIG_ROWS > 0) {
  // Written as a stream: the bench itself holds no 10,000,000-row string either.
  const bigFile = path.join(dir, 'big.csv');
  const out = createWriteStream(bigFile);
  out.write('identifierValue,source\n');
  for (let i = 0; i < BIG_ROWS; i += 10_000) {
    let text = '';
    for (let j = i; j < Math.min(BIG_ROWS, i + 10_000); j++)
      text += `${customerIds[j % customerIds.length]},INSTORE\n`;
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const startMiB = rssMiB();
  const run = await runJob(big, bigFile);
  console.log(
    `${BIG_ROWS.toLocaleString('en-US')}-row job: ${run.job.status} in ${run.seconds.toFixed(1)} s (${ranFor(run.job)} s running), server RSS ${startMiB.toFixed(0)} MiB at its start, peak ${run.peakMiB.toFixed(0)} MiB (target: under 300)`,
  );
}

await server.stop();
await sleep(0);
rmSync(dir, { recursive: true, force: true });
