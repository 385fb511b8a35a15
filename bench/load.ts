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
  Stalls,
  serveOneJob,
  slotCapacity,
  summarize,
  Timeline,
  takeTurns,
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

type Outcome = 'good' | 'skip';

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

  // Open loop: every connection is opened before the timetable starts, as a steady client's are; the
  // first requests would otherwise be charged for 64 TCP handshakes and the server's first accepts.
  if (job.rate !== undefined) {
    await Promise.all(
      Array.from({ length: job.connections }, async () => {
        const res = await pool.request({ path: '/health', method: 'GET' });
        await res.body.dump();
      }),
    );
  }

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;
  const latencies = new Samples();
  const timeline = new Timeline(measureFrom);
  const stalls = new Stalls(measureFrom);
  const result = {
    requests: 0,
    good: 0,
    warned: 0,
    failed: 0,
    errors: 0,
    non2xx: {} as Record<string, number>,
    errorSamples: [] as string[],
  };
  let next = job.firstBatch ?? 0;
  let exhausted = false;

  /** The next batch of the walk, or undefined once an ENROL walk has no fresh customers left. */
  function nextPayload(): string | undefined {
    if (job.action === 'ENROL' && next >= capacity) {
      exhausted = true;
      return undefined;
    }
    const k = next++;
    const slot = batchAt(job.slots, k % cycle);
    if (!slot) throw new Error(`batch ${k} is outside the walk`);
    return body(job.action, job.programId, slot.promotionId, slot.firstId);
  }

  /** Sends one request; `from` is when its latency starts, `counts` whether it falls in the window. */
  async function send(
    payload: string,
    from: number,
    counts: (t1: number) => boolean,
    using: Record<string, string> = headers,
  ): Promise<Outcome> {
    let status = 0;
    let answer = EMPTY;
    let failure: string | undefined;
    try {
      const res = await pool.request({ path: PATH, method: 'POST', headers: using, body: payload });
      status = res.statusCode;
      answer = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      failure = errorText(err);
    }
    const t1 = performance.now();
    if (!counts(t1)) return 'skip';
    if (failure !== undefined) {
      result.errors++;
      if (result.errorSamples.length < 5) result.errorSamples.push(failure);
      return 'skip';
    }
    result.requests++;
    latencies.push(t1 - from);
    if (job.rate !== undefined) stalls.add(from, t1 - from);
    if (status === 200 || status === 201) {
      if (answer.subarray(answer.length - GOOD_TAIL.length).equals(GOOD_TAIL)) {
        result.good++;
        timeline.add(t1);
        if (answer.includes(WARNED)) result.warned++;
        return 'good';
      }
      result.failed++;
      if (result.errorSamples.length < 5) {
        result.errorSamples.push(`${status} ${answer.subarray(-300).toString('utf8')}`);
      }
    } else {
      result.non2xx[status] = (result.non2xx[status] ?? 0) + 1;
      if (result.errorSamples.length < 5) {
        result.errorSamples.push(`${status} ${answer.subarray(0, 300).toString('utf8')}`);
      }
    }
    return 'skip';
  }

  // Closed loop: each connection sends its next request when the last one is answered. Only answers
  // that arrive inside the measured window count (warm-up and overrun are left out).
  async function worker(): Promise<void> {
    while (performance.now() < end) {
      const payload = nextPayload();
      if (payload === undefined) return;
      await send(payload, performance.now(), (t1) => t1 >= measureFrom && t1 <= end);
    }
  }

  // Open loop: request k is due at start + k / rate and is sent then, however many are unanswered;
  // its latency runs from when it was due, so a stall is charged to every request it held back
  // rather than hidden by sending less (coordinated omission). A request counts if it was due in
  // the window, whenever its answer came.
  let due = 0;
  const late = new Samples();
  async function timetable(rate: number): Promise<void> {
    const interval = 1000 / rate;
    const inFlight = new Set<Promise<Outcome>>();
    for (let k = 0; ; k++) {
      const at = start + k * interval;
      if (at >= end) break;
      const wait = at - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const payload = nextPayload();
      if (payload === undefined) break;
      const inWindow = at >= measureFrom;
      if (inWindow) {
        due++;
        late.push(performance.now() - at);
      }
      const sent = send(payload, at, () => inWindow);
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
    await Promise.all(inFlight);
  }

  // Closed loop in turns (LoadJob.turns), a turn at a time as run.ts gives them. Each action's walk
  // goes on from turn to turn: ENROL takes fresh customers, EARN cycles over those ENROL enrolled.
  async function inTurns(spec: NonNullable<LoadJob['turns']>): Promise<void> {
    const sets = spec.headers.map((h) => ({ ...headers, ...h }));
    const walks = { ENROL: { next: job.firstBatch ?? 0 }, EARN: { next: 0 } };
    await takeTurns(async ({ action, ms, set }) => {
      const using = sets[set];
      if (!using) throw new Error(`no header set ${set}`);
      const walk = walks[action];
      const enrolled = walks.ENROL.next;
      const t0 = performance.now();
      const until = t0 + ms;
      let good = 0;
      let bad = 0;
      await Promise.all(
        Array.from({ length: job.connections }, async () => {
          while (performance.now() < until) {
            if (action === 'ENROL' && walk.next >= capacity) return;
            const k = walk.next++;
            const slot = batchAt(job.slots, action === 'EARN' ? k % Math.max(1, enrolled) : k);
            if (!slot) throw new Error(`batch ${k} is outside the walk`);
            const payload = body(action, job.programId, slot.promotionId, slot.firstId);
            if ((await send(payload, performance.now(), () => true, using)) === 'good') good++;
            else bad++;
          }
        }),
      );
      return { good, bad, seconds: (performance.now() - t0) / 1000 };
    });
  }

  if (job.turns) await inTurns(job.turns);
  else if (job.rate !== undefined) await timetable(job.rate);
  else await Promise.all(Array.from({ length: job.connections }, worker));
  const finished = performance.now();
  await pool.close();
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (Math.min(finished, end) - measureFrom) / 1000;
  return {
    action: job.action,
    seconds: job.rate !== undefined ? job.durationMs / 1000 : seconds,
    ...result,
    latency: summarize(latencies.values()),
    perSecond: timeline.perSecond(job.durationMs / 1000),
    ...(job.rate !== undefined
      ? {
          rate: job.rate,
          due,
          stalls: stalls.report(job.durationMs / 1000),
          sendLate: summarize(late.values()),
        }
      : {}),
    batchesSent: next,
    exhausted,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

serveOneJob(run);
