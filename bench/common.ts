// Shared by the bench's processes: the orchestrator (run.ts), the load generator (load.ts) and the
// raw-store baseline (baseline.ts). Nothing here touches the network or the store.

export const BATCH = 100;

export type Action = 'ENROL' | 'EARN';
export type StoreKind = 'sqlite' | 'postgres';

/**
 * Where batch k of a walk goes. Customers 1..N are cut into blocks of 100 consecutive ids; a walk
 * enrols each block once in each of its promotions, so every ENROL is for customers not yet enrolled
 * (in that promotion) however fast the run goes. Consecutive batches go to the promotions in turn (all
 * of a walk's promotions fill together, and one ANALYZE early in the phase sees all of them), and the
 * blocks are taken in a scattered order, so that a phase touches the whole id space rather than its
 * first pages only.
 */
export interface Slots {
  promotionIds: number[];
  customers: number;
}

export function batchesPerPromotion(customers: number): number {
  return Math.floor(customers / BATCH);
}

export function slotCapacity(slots: Slots): number {
  return slots.promotionIds.length * batchesPerPromotion(slots.customers);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A step coprime with n near 0.618·n: j → j·step mod n visits every block once, scattered. */
function scatterStep(n: number): number {
  let step = Math.max(1, Math.round(n * 0.618));
  while (gcd(step, n) !== 1) step++;
  return step;
}

const steps = new Map<number, number>();

/** The promotion and the first customer id of batch k, or undefined past the end of the walk. */
export function batchAt(slots: Slots, k: number): { promotionId: number; firstId: number } | undefined {
  const blocks = batchesPerPromotion(slots.customers);
  const promotions = slots.promotionIds.length;
  if (k >= promotions * blocks) return undefined;
  let step = steps.get(blocks);
  if (step === undefined) {
    step = scatterStep(blocks);
    steps.set(blocks, step);
  }
  const round = Math.floor(k / promotions);
  const block = (round * step) % blocks;
  return { promotionId: slots.promotionIds[k % promotions] as number, firstId: block * BATCH + 1 };
}

/** Latency summary in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Nearest-rank percentiles of the samples (milliseconds). */
export function summarize(samples: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] as number;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    mean: round(sum / n),
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    p999: round(at(99.9)),
    max: round(sorted[n - 1] as number),
  };
}

/** The seconds at the start of a phase whose throughput is reported beside the whole phase's. */
export const FIRST_SECONDS = 5;

/**
 * Completions counted per second of the measured window, so that the first seconds of a cold phase
 * can be told apart from the rest: a store without statistics, or a cache not yet filled, shows there.
 */
export class Timeline {
  private readonly counts: number[] = [];
  constructor(private readonly from: number) {}
  add(at: number, n = 1): void {
    const second = Math.floor((at - this.from) / 1000);
    if (second < 0) return;
    while (this.counts.length <= second) this.counts.push(0);
    this.counts[second] = (this.counts[second] ?? 0) + n;
  }
  /** Completions in each whole second of the window, from its start. */
  perSecond(seconds: number): number[] {
    return Array.from({ length: Math.floor(seconds) }, (_, i) => this.counts[i] ?? 0);
  }
  /** Completions a second over the first `seconds` seconds. */
  rateOverFirst(seconds: number): number {
    let sum = 0;
    for (let i = 0; i < seconds; i++) sum += this.counts[i] ?? 0;
    return sum / seconds;
  }
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A growable array of doubles, so that recording a sample costs no allocation. */
export class Samples {
  private data = new Float64Array(4096);
  private n = 0;
  push(value: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = value;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.n);
  }
}

/** What the orchestrator asks a load-generator process to do. */
export interface LoadJob {
  origin: string;
  headers: Record<string, string>;
  action: Action;
  programId: number;
  slots: Slots;
  /** EARN: cycle over the first `cycle` batches of the walk (the ones the ENROL phase enrolled). */
  cycle?: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /**
   * Open loop: requests a second, sent on a fixed timetable whatever the answers do, each timed from
   * when it was due (so that a stall shows in the latency of every request it held up). Absent: closed
   * loop, `connections` requests always in flight.
   */
  rate?: number;
  /**
   * Start the walk at this batch: ENROL, past the batches an earlier phase enrolled; EARN, at the
   * first batch the phase before it enrolled.
   */
  firstBatch?: number;
  /**
   * Closed loop in turns, driven by run.ts (TurnMessage): the job answers each turn it is given with
   * that turn's figures, and the job's result once it is told to end. A turn uses
   * `turns.headers[set]` for every call.
   */
  turns?: { headers: Record<string, string>[] };
}

/**
 * Turns, to compare kinds of work on one machine with its drift cancelled (run.ts runTurns): the
 * parent gives each participant (a process) a turn at a time, and the participant works with every
 * connection for `ms`, then stops sending and answers once its last call is answered, so that turns
 * never overlap.
 */
export type TurnMessage = { turn: { action: Action; ms: number; set: number } } | { end: true };

/** What a participant did in one turn: batches (requests) done well, and the turn's seconds. */
export interface TurnFigure {
  good: number;
  seconds: number;
  /** The service's calls that failed or were answered with an error. */
  bad?: number;
}

/**
 * A participant's side of the turns: says it is ready (turns sent before would be lost), runs each
 * turn the parent gives with `work`, and resolves when the parent says the turns are over.
 */
export function takeTurns(
  work: (turn: { action: Action; ms: number; set: number }) => Promise<TurnFigure>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: TurnMessage) => {
      if ('end' in message) {
        process.off('message', onMessage);
        resolve();
        return;
      }
      work(message.turn).then(
        (figure) => process.send?.({ turned: figure }),
        (err: unknown) => {
          process.off('message', onMessage);
          reject(err);
        },
      );
    };
    process.on('message', onMessage);
    process.send?.({ ready: true });
  });
}

export interface LoadResult {
  action: Action;
  /** Seconds of the measured window (after the warm-up). */
  seconds: number;
  /** Answers received in the measured window, whatever they were. */
  requests: number;
  /** 200 or 201 with failureCount 0 and 100 items: the only answers that count. */
  good: number;
  /** Good answers that carried a warning (an ENROL of a customer already enrolled, a limit reached). */
  warned: number;
  /** 200/201 answers with failureCount above 0. */
  failed: number;
  /** Answers by HTTP status outside 200/201. */
  non2xx: Record<string, number>;
  /** Requests that got no answer (connection refused, reset, timeout). */
  errors: number;
  errorSamples: string[];
  latency: LatencySummary;
  /** Good answers in each second of the measured window (closed loop: by when they arrived). */
  perSecond: number[];
  /** Open loop: the rate asked for, and requests that were due in the measured window. */
  rate?: number;
  due?: number;
  /** Open loop: where the tail came from (see Stalls). */
  stalls?: StallReport;
  /**
   * Open loop: how late the load generator itself sent each request (ms after it was due), a stall of
   * its own that a request's latency includes: a tail that shows here too is not the server's.
   */
  sendLate?: LatencySummary;
  /** Batches sent, warm-up included, counted from the walk's start: the EARN phase cycles over these. */
  batchesSent: number;
  /** The walk ran out of fresh customers before the time was up. */
  exhausted: boolean;
  /** CPU seconds the load generator itself used (user + system). */
  cpuSeconds: number;
}

/** The slowest requests of an open-loop phase, by when they were due, to tell stalls from queueing. */
export interface StallReport {
  /** The slowest requests: seconds into the window when each was due, and its latency (ms). */
  slowest: { atS: number; ms: number }[];
  /** Requests over 25 ms (the p99 target) due in each second of the window. */
  over25PerSecond: number[];
}

/**
 * Each open-loop request's due time and latency. A stall (the server's event loop held by a
 * collection, a checkpoint or a long commit) shows as a run of slow requests due together; queueing
 * at a rate near capacity as slow requests spread through the phase.
 */
export class Stalls {
  private readonly at = new Samples();
  private readonly ms = new Samples();
  constructor(private readonly from: number) {}
  add(due: number, latency: number): void {
    this.at.push(due - this.from);
    this.ms.push(latency);
  }
  report(seconds: number, top = 10): StallReport {
    const at = this.at.values();
    const ms = this.ms.values();
    const order = Array.from(ms.keys()).sort((a, b) => (ms[b] as number) - (ms[a] as number));
    const over = Array.from({ length: Math.ceil(seconds) }, () => 0);
    for (let i = 0; i < ms.length; i++) {
      const second = Math.floor((at[i] as number) / 1000);
      if ((ms[i] as number) > 25 && second >= 0 && second < over.length)
        over[second] = (over[second] ?? 0) + 1;
    }
    return {
      slowest: order
        .slice(0, top)
        .map((i) => ({ atS: round((at[i] as number) / 1000, 3), ms: round(ms[i] as number, 1) })),
      over25PerSecond: over,
    };
  }
}

/** What the orchestrator asks the raw-store baseline process to do. */
export interface BaselineJob {
  store: StoreKind;
  /** sqlite: the file name; postgres: the connection string. */
  target: string;
  orgId: number;
  programId: number;
  slots: Slots;
  connections: number;
  /** Batches per transaction (SQLite: as many as the service's group commit can take at once). */
  group: number;
  warmupMs: number;
  durationMs: number;
  /** PostgreSQL, warm mode only: ANALYZE issuals and earns halfway through each warm-up. */
  analyze: boolean;
  /**
   * After the closed-loop phases, an ENROL and an EARN at a fixed rate: this many requests a second,
   * or this share of the closed-loop phase's batches a second (the service's open-loop rates); both
   * absent, none.
   */
  openLoop?: { rate?: number; share?: number; settleMs: number };
  /** In turns (TurnMessage) instead of the phases: the closed loop a turn at a time. */
  turns?: boolean;
}

/** The open-loop phases' rate: a share of the raw store's batches a second, as run.ts asks of both. */
export function openLoopRateOf(batchesPerSecond: number, share: number): number {
  return round(batchesPerSecond * share, 1);
}

/** The raw store at a fixed rate (see baseline.ts openPhase). */
export interface BaselineOpenPhase {
  action: Action;
  /** Batches a second asked for, and batches due in the measured window. */
  rate: number;
  due: number;
  /** From each batch's due time to its commit. */
  latency: LatencySummary;
  perSecond: number[];
  /** The slowest batches by due time, as the service's open-loop phases report them. */
  stalls: StallReport;
  /** How late the timetable queued each batch (ms): the baseline process's own stalls. */
  sendLate: LatencySummary;
  batchesSent: number;
  exhausted: boolean;
}

export interface BaselinePhase {
  action: Action;
  seconds: number;
  batches: number;
  batchesPerSecond: number;
  customersPerSecond: number;
  latency: LatencySummary;
  /** Batches committed in each second of the measured window. */
  perSecond: number[];
  batchesSent: number;
  exhausted: boolean;
  cpuSeconds: number;
}

export interface BaselineResult {
  concurrency: number;
  batchesPerCommit: number;
  enrol: BaselinePhase;
  earn: BaselinePhase;
  openEnrol?: BaselineOpenPhase;
  openEarn?: BaselineOpenPhase;
}

export type ChildMessage<T> = { ok: true; result: T } | { ok: false; error: string };

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { code?: string }).code;
    return cause ? `${err.message} (${cause})` : err.message;
  }
  return String(err);
}

/** Runs `fn` with the job the parent sends over IPC, then sends back the result and exits. */
export function serveOneJob<J, R>(fn: (job: J) => Promise<R>): void {
  if (!process.send) {
    console.error('this file is started by bench/run.ts, not by hand');
    process.exit(64);
  }
  process.once('message', (job: J) => {
    fn(job).then(
      (result) => reply({ ok: true, result }),
      (err: unknown) =>
        reply({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  // Orphaned (the orchestrator died): stop at once rather than keep loading the store.
  process.once('disconnect', () => process.exit(1));
}

function reply<R>(message: ChildMessage<R>): void {
  process.send?.(message, () => process.exit(message.ok ? 0 : 1));
}
