// The load generator: a process of its own, started by run.ts, that drives the server over HTTP with
// 100-customer bulk requests for a fixed time, then reports what it saw and exits.
import { Pool } from 'undici';
import {
  BATCH,
  batchAt,
  errorText,
  type LoadJob,
  type LoadResult,
  Samples,
  serveOneJob,
  slotCapacity,
  summarize,
} from './common.js';

const PATH = '/v2/promotion/bulk/enrolAndEarn';
// What a good answer ends with: the schema serialises these two last, in this order. The answers are
// checked as bytes, without decoding them, to keep the load generator's own CPU use low.
const GOOD_TAIL = Buffer.from(`"totalCount":${BATCH},"failureCount":0}`);
const WARNED = Buffer.from('"warnings":[{');
const EMPTY = Buffer.alloc(0);

function body(action: string, programId: number, promotionId: number, firstId: number): string {
  let customers = '';
  for (let id = firstId; id < firstId + BATCH; id++) {
    customers += `${id === firstId ? '' : ','}{"identifierValue":"${id}","source":"INSTORE"}`;
  }
  return (
    `{"type":"CUSTOMER","bulkAction":"${action}","promotionDetails":{"programId":${programId},` +
    `"promotionId":${promotionId}},"identifierName":"id","customers":[${customers}]}`
  );
}

async function run(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.origin, {
    connections: job.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const headers = { 'content-type': 'application/json', ...job.headers };
  const capacity = slotCapacity(job.slots);
  const cycle = job.cycle ?? capacity;
  if (cycle <= 0) throw new Error('nothing to send: the walk is empty');

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;
  const latencies = new Samples();
  const result = {
    requests: 0,
    good: 0,
    warned: 0,
    failed: 0,
    errors: 0,
    non2xx: {} as Record<string, number>,
    errorSamples: [] as string[],
  };
  let next = 0;
  let exhausted = false;

  async function worker(): Promise<void> {
    while (performance.now() < end) {
      if (job.action === 'ENROL' && next >= capacity) {
        exhausted = true;
        return;
      }
      const k = next++;
      const slot = batchAt(job.slots, k % cycle);
      if (!slot) throw new Error(`batch ${k} is outside the walk`);
      const payload = body(job.action, job.programId, slot.promotionId, slot.firstId);
      const t0 = performance.now();
      let status = 0;
      let answer = EMPTY;
      let failure: string | undefined;
      try {
        const res = await pool.request({ path: PATH, method: 'POST', headers, body: payload });
        status = res.statusCode;
        answer = Buffer.from(await res.body.arrayBuffer());
      } catch (err) {
        failure = errorText(err);
      }
      const t1 = performance.now();
      // Only answers that arrive inside the measured window count (warm-up and overrun are left out).
      if (t1 < measureFrom || t1 > end) continue;
      if (failure !== undefined) {
        result.errors++;
        if (result.errorSamples.length < 5) result.errorSamples.push(failure);
        continue;
      }
      result.requests++;
      latencies.push(t1 - t0);
      if (status === 200 || status === 201) {
        if (answer.subarray(answer.length - GOOD_TAIL.length).equals(GOOD_TAIL)) {
          result.good++;
          if (answer.includes(WARNED)) result.warned++;
        } else {
          result.failed++;
          if (result.errorSamples.length < 5) {
            result.errorSamples.push(`${status} ${answer.subarray(-300).toString('utf8')}`);
          }
        }
      } else {
        result.non2xx[status] = (result.non2xx[status] ?? 0) + 1;
        if (result.errorSamples.length < 5) {
          result.errorSamples.push(`${status} ${answer.subarray(0, 300).toString('utf8')}`);
        }
      }
    }
  }

  await Promise.all(Array.from({ length: job.connections }, worker));
  const finished = performance.now();
  await pool.close();
  const cpu = process.cpuUsage(cpuStart);
  return {
    action: job.action,
    seconds: (Math.min(finished, end) - measureFrom) / 1000,
    ...result,
    latency: summarize(latencies.values()),
    batchesSent: next,
    exhausted,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

serveOneJob(run);
