// The benchmark: `npm run bench -- --store sqlite|postgres [options]` (see USAGE). Seeds a fresh store
// through the project's bulk import, measures the raw store doing the statements of ENROL and EARN,
// then drives the real server (built code, its own process) from a load generator in another process,
// per authentication mode, and prints and saves what it measured. All traffic stays on 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { request } from 'undici';
import { generateSecretKey } from '../src/auth/secret-box.js';
import {
  type Action,
  BATCH,
  type BaselineJob,
  type BaselineOpenPhase,
  type BaselinePhase,
  type BaselineResult,
  batchesPerPromotion,
  errorText,
  FIRST_SECONDS,
  type LatencySummary,
  type LoadJob,
  type LoadResult,
  openLoopRateOf,
  round,
  type Slots,
  type StallReport,
  type StoreKind,
} from './common.js';
import {
  killAll,
  loopBusySeconds,
  machineBusyOver,
  type ProcessSample,
  runJob,
  type ServerProcess,
  sample,
  startJob,
  startServer,
  type TurnTaker,
} from './procs.js';
import { type ProfileSummary, summarizeProfile } from './profile.js';

const USAGE = `Usage: npm run bench -- --store sqlite|postgres [options]
       npm run bench -- jobs [--rows N] [--big-rows N] [--database URL]   (bench/jobs-bench.ts)

  --customers N         customers seeded through the bulk import (default 1000000)
  --duration S          seconds measured per phase (default 20)
  --warmup S            seconds of load before each phase starts counting (default 0 cold, 2 warm)
  --connections C       concurrent HTTP connections; also PostgreSQL baseline connections (default 16)
  --auth MODE           none | basic | oauth | all (default all)
  --repeat N            rounds: the baseline and each mode N times in turn, each on a fresh copy of
                        the seeded store; every phase reports its median round (default 1)
  --compare-sizes A,B   instead of the full run: the ENROL phase on a fresh store of each size
                        (auth: basic, or the one --auth names), and the ratio of largest to smallest
  --pg-url URL          PostgreSQL server (loopback only) on which a fresh database is created and
                        dropped (default $BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/test)
  --warm                the old steady-state mode: PostgreSQL ANALYZE after the import and halfway
                        through each warm-up, and a CHECKPOINT before each run. By default the bench is
                        cold, as a new user meets the service: no ANALYZE, no CHECKPOINT, no warm-up,
                        and each phase reports its first ${FIRST_SECONDS} seconds beside the whole
  --open-loop-share F   after the closed-loop phases, an ENROL and an EARN phase in open loop at this
                        share of the raw store's measured batches/s (default 0.5; 0: none), reporting
                        p50, p99 and p99.9 timed from when each request was due, after 2 s at the rate
                        not counted, and the slowest requests with when they were due
  --open-loop-rate R    the open-loop phases at R requests/s instead (also with --skip-baseline)
  --skip-baseline       leave out the raw-store baseline (which also runs open-loop phases at the
                        same rates, to show the store's own tail there)
  --skip-build          do not build dist first (it is built only when stale anyway)
  --workers N           PostgreSQL only: the basic and oauth servers run as loyalty serve --workers N
                        (N processes behind one port; default 1). The no-auth entry stays one process
  --turn S              after the modes, each round: the raw store and the modes take the machine in
                        turns of S seconds (the modes on one server, their order shifted a place
                        each rotation; ENROL, then EARN), --duration each, so that the service's
                        share of the raw store and the cost of authentication are measured with
                        the machine's drift cancelled; the targets' shares and costs come from
                        these turns (default 2; 0: not run; needs the baseline, or --auth all)
  --cpu-prof            run the server under node --cpu-prof and print where its CPU time went
                        (profiles in bench/results/profiles; profiled figures are a little lower)

Environment: BENCH_PG_URL (as --pg-url); BENCH_SERVER_ARGS (node options for the server, e.g. --trace-gc); BENCH_PLAN_CACHE_MODE (PostgreSQL baseline connections'
plan_cache_mode, e.g. force_custom_plan); BENCH_COMMIT (the commit to record when the bench runs from
an exported copy of the tree). The server processes inherit the environment (LOYALTY_PG_POOL_SIZE…).
Figures and settings go to bench/results/latest.json and a timestamped copy beside it.
`;

const ROOT = path.resolve(import.meta.dirname, '..');
const BENCH = path.join(ROOT, 'bench');
const RESULTS = path.join(BENCH, 'results');
const AUTH_MODES = ['none', 'basic', 'oauth'] as const;
type AuthMode = (typeof AUTH_MODES)[number];
// No run here reaches this many batches a second; each walk gets enough promotions for it.
const BATCH_RATE_CEILING = 3_000;
const IMPORT_CHUNK = 10_000;
// Open loop: seconds at the phase's rate before its window starts, not counted. The latency target
// is for a steady load; the load generator is a new process each phase, and its first second (its
// own compilation, beside the server on two cores) charged the server's first requests for it.
const OPEN_LOOP_SETTLE_S = 2;
const CORES = os.cpus().length;
const TILL = { username: 'bench.till', password: 'bench-till-password' };
const CLIENT = { key: 'bench-client', secret: 'bench-client-secret-0123456789' };

interface Options {
  store: StoreKind;
  customers: number;
  durationS: number;
  warmupS: number;
  connections: number;
  modes: AuthMode[];
  repeat: number;
  compareSizes: number[] | undefined;
  pgUrl: string;
  skipBaseline: boolean;
  warm: boolean;
  openLoopShare: number;
  openLoopRate: number | undefined;
  skipBuild: boolean;
  cpuProf: boolean;
  /** Seconds a turn (--turn); 0 when authentication is not measured in turns. */
  turnS: number;
  workers: number;
}

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      store: { type: 'string' },
      customers: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      auth: { type: 'string' },
      repeat: { type: 'string' },
      'compare-sizes': { type: 'string' },
      'pg-url': { type: 'string' },
      'skip-baseline': { type: 'boolean' },
      warm: { type: 'boolean' },
      'open-loop-share': { type: 'string' },
      'open-loop-rate': { type: 'string' },
      'skip-build': { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      turn: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.store !== 'sqlite' && values.store !== 'postgres')
    throw new UsageError('--store must be sqlite or postgres');
  if (values.workers !== undefined && values.workers !== '1' && values.store !== 'postgres')
    throw new UsageError('--workers needs --store postgres (SQLite is written by one process)');
  const auth = values.auth ?? 'all';
  if (auth !== 'all' && !(AUTH_MODES as readonly string[]).includes(auth)) {
    throw new UsageError('--auth must be none, basic, oauth or all');
  }
  const compareSizes = values['compare-sizes']
    ?.split(',')
    .map((s) => positiveInt('compare-sizes', s.trim(), 0, BATCH));
  if (compareSizes && compareSizes.length < 2)
    throw new UsageError('--compare-sizes needs two sizes or more');
  const pgUrl = values['pg-url'] ?? process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const host = new URL(pgUrl).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) {
    throw new UsageError(`--pg-url must point at this machine (127.0.0.1), not ${host}`);
  }
  const warm = values.warm ?? false;
  const share = Number(values['open-loop-share'] ?? '0.5');
  if (!(share >= 0 && share <= 1)) throw new UsageError('--open-loop-share must be between 0 and 1');
  const rate = values['open-loop-rate'] === undefined ? undefined : Number(values['open-loop-rate']);
  if (rate !== undefined && !(rate > 0)) throw new UsageError('--open-loop-rate must be above 0');
  return {
    store: values.store,
    customers: positiveInt('customers', values.customers, 1_000_000, BATCH),
    durationS: positiveInt('duration', values.duration, 20),
    warmupS: positiveInt('warmup', values.warmup, warm ? 2 : 0, 0),
    connections: positiveInt('connections', values.connections, 16),
    modes: auth === 'all' ? [...AUTH_MODES] : [auth as AuthMode],
    repeat: positiveInt('repeat', values.repeat, 1),
    compareSizes,
    pgUrl,
    skipBaseline: values['skip-baseline'] ?? false,
    warm,
    openLoopShare: share,
    openLoopRate: rate,
    skipBuild: values['skip-build'] ?? false,
    cpuProf: values['cpu-prof'] ?? false,
    turnS: positiveInt('turn', values.turn, 2, 0),
    workers: positiveInt('workers', values.workers, 1),
  };
}

// ---- cleanup: every child and every store the bench made goes away, whatever happens ----

const cleanups: (() => Promise<void>)[] = [];

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop() as () => Promise<void>;
    await fn().catch((err: unknown) => console.error(`cleanup: ${errorText(err)}`));
  }
}

let stopping: { code: number; done: Promise<void> } | undefined;
/** Stops every child, removes the store, exits. The first caller's exit code wins (Ctrl-C: 130). */
async function shutdown(code: number, why?: string): Promise<never> {
  if (!stopping) {
    if (why) console.error(why);
    killAll('SIGTERM');
    stopping = { code, done: runCleanups() };
  }
  await stopping.done;
  process.exit(stopping.code);
}

// ---- the store ----

interface BenchStore {
  kind: StoreKind;
  databaseUrl: string;
  /** What the baseline opens: the SQLite file, or the PostgreSQL connection string. */
  baselineTarget: string;
  /** PostgreSQL: the bench's database, whose backends' CPU is counted. */
  pgDatabase?: string;
  dispose(): Promise<void>;
}

async function pgAdmin(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${url}: ${errorText(err)}`);
  }
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function openStore(options: Options): Promise<BenchStore> {
  if (options.store === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'loyalty-bench-'));
    const file = path.join(dir, 'bench.db');
    const store: BenchStore = {
      kind: 'sqlite',
      databaseUrl: `sqlite:${file}`,
      baselineTarget: file,
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
    cleanups.push(store.dispose);
    return store;
  }
  const name = `loyalty_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await pgAdmin(options.pgUrl, `create database ${name}`);
  return pgDatabase(name, options);
}

/** The bench store of a database just created on the server; dropped by dispose or at exit. */
function pgDatabase(name: string, options: Options): BenchStore {
  const url = new URL(options.pgUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  const store: BenchStore = {
    kind: 'postgres',
    databaseUrl: url.toString(),
    baselineTarget: url.toString(),
    pgDatabase: name,
    dispose: async () => {
      if (dropped) return;
      dropped = true;
      await pgAdmin(options.pgUrl, `drop database if exists ${name} with (force)`);
    },
  };
  cleanups.push(store.dispose);
  return store;
}

/**
 * A copy of the seeded store, so that the baseline and every authentication mode start from the same
 * tables: run one after another on one store, each would find the rows of those before it, and the
 * later ones would pay for larger tables, not for their authentication. SQLite copies the file (and its
 * WAL, should the importer have left one); PostgreSQL makes the copy with CREATE DATABASE ...
 * TEMPLATE, which takes the planner statistics along.
 */
async function cloneStore(seeded: BenchStore, label: string, options: Options): Promise<BenchStore> {
  if (seeded.kind === 'sqlite') {
    const file = path.join(path.dirname(seeded.baselineTarget), `bench-${label}.db`);
    copyFileSync(seeded.baselineTarget, file);
    // Had the importer left a WAL behind, the copy needs it too (SQLite replays it on open).
    if (existsSync(`${seeded.baselineTarget}-wal`))
      copyFileSync(`${seeded.baselineTarget}-wal`, `${file}-wal`);
    const dispose = async () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    };
    return { kind: 'sqlite', databaseUrl: `sqlite:${file}`, baselineTarget: file, dispose };
  }
  const name = `${seeded.pgDatabase}_${label}`;
  // FILE_COPY copies the files rather than writing every page to the WAL (PostgreSQL 15's default),
  // which would bring on checkpoints in the middle of the measured phases.
  await pgAdmin(options.pgUrl, `create database ${name} template ${seeded.pgDatabase} strategy file_copy`);
  // Warm mode: one checkpoint now, so that every run starts with the same work pending (none): a run
  // that met a checkpoint halfway measured 30% less than one that did not. Cold runs meet what comes.
  if (options.warm) {
    await pgAdmin(options.pgUrl, 'checkpoint').catch((err: unknown) =>
      console.warn(`bench: CHECKPOINT before the run failed (${errorText(err)}); figures may vary more`),
    );
  }
  return pgDatabase(name, options);
}

/**
 * Warm mode: the ANALYZE that autovacuum would run after the import. A cold run takes the store as
 * the import left it, which is what a new user meets and what the service's plans must cope with.
 */
async function analyze(store: BenchStore, options: Options): Promise<void> {
  if (store.kind !== 'postgres' || !options.warm) return;
  const t0 = performance.now();
  await pgAdmin(store.databaseUrl, 'analyze');
  console.log(`ANALYZE after the import: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Warm mode: the same for the rows a phase writes, halfway through its warm-up. */
function analyzeDuringWarmup(store: BenchStore, options: Options): Promise<void> | undefined {
  if (store.kind !== 'postgres' || !options.warm || options.warmupS === 0) return undefined;
  return new Promise<void>((resolve, reject) =>
    setTimeout(
      () => pgAdmin(store.databaseUrl, 'analyze issuals, earns').then(resolve, reject),
      (options.warmupS * 1000) / 2,
    ),
  ).catch((err: unknown) => console.warn(`bench: ANALYZE during the warm-up failed: ${errorText(err)}`));
}

// ---- the server ----

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface ServerPlan {
  store: BenchStore;
  adminToken: string;
  orgId: number;
  profileDir?: string;
  /** loyalty serve --workers (basic and oauth only). */
  workers: number;
}

/** `node dist/cli.js serve`, or for `none` the no-auth entry; fresh process, fresh port. */
async function launch(plan: ServerPlan, mode: AuthMode | 'import'): Promise<ServerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: plan.store.databaseUrl,
    LOYALTY_ADMIN_TOKEN: plan.adminToken,
    LOYALTY_DEMO: '0',
    // A key of this run only: the bench's store lives as long as the run.
    LOYALTY_SECRET_KEY: generateSecretKey(),
    LOG_LEVEL: 'warn',
    BENCH_ORG_ID: String(plan.orgId),
  };
  const profiling =
    plan.profileDir && mode !== 'import'
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${plan.profileDir}`,
          `--cpu-prof-name=${plan.store.kind}-${mode}.cpuprofile`,
        ]
      : [];
  const workers = plan.workers > 1 && mode !== 'import' ? ['--workers', String(plan.workers)] : [];
  const entry = mode === 'none' ? ['bench/server-noauth.js'] : ['dist/cli.js', 'serve', ...workers];
  // Node's own options for the server (BENCH_SERVER_ARGS="--trace-gc", say), as for the events bench.
  const nodeArgs = process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [];
  const server = await startServer([...nodeArgs, ...profiling, ...entry], env, ROOT, port, `server ${mode}`);
  cleanups.push(() => server.stop());
  return server;
}

// ---- the management API: the bench's only way in for seeding ----

async function call(
  origin: string,
  method: 'POST',
  url: string,
  headers: Record<string, string>,
  body: string,
) {
  const res = await request(`${origin}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body,
    headersTimeout: 600_000,
    bodyTimeout: 600_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200 && res.statusCode !== 201) {
    throw new Error(`${method} ${url}: HTTP ${res.statusCode} ${text.slice(0, 500)}`);
  }
  return JSON.parse(text) as any;
}

interface Seeded {
  orgId: number;
  programId: number;
  /** The promotions of each walk, by walk name (baseline, none, basic, oauth). */
  walks: Record<string, number[]>;
  import: { customers: number; seconds: number; customersPerSecond: number; serverPeakRssMb: number };
}

function promotionsPerWalk(customers: number, options: Options): number {
  // The closed-loop ENROL and the open-loop one after it take fresh customers from the same walk.
  return promotionsFor(customers, 2 * (options.warmupS + options.durationS));
}

/** Promotions enough for an ENROL of `seconds` at BATCH_RATE_CEILING. */
function promotionsFor(customers: number, seconds: number): number {
  return Math.max(1, Math.ceil((BATCH_RATE_CEILING * seconds) / batchesPerPromotion(customers)));
}

async function seed(
  server: ServerProcess,
  adminToken: string,
  customers: number,
  /** Each walk's name and how many promotions it gets. */
  walks: [string, number][],
): Promise<Seeded> {
  const admin = { authorization: `Bearer ${adminToken}` };
  const post = (url: string, body: unknown) =>
    call(server.origin, 'POST', url, admin, typeof body === 'string' ? body : JSON.stringify(body));
  const org = await post('/admin/v1/orgs', { name: 'Bench org' });
  const base = `/admin/v1/orgs/${org.id}`;
  const program = await post(`${base}/programs`, { name: 'Bench program' });
  const promotionIds: Record<string, number[]> = {};
  for (const [walk, promotions] of walks) {
    promotionIds[walk] = [];
    for (let i = 0; i < promotions; i++) {
      const promotion = await post(`${base}/promotions`, {
        programId: program.id,
        name: `Bench ${walk} ${i + 1}`,
        type: 'ENROL_AND_ISSUE',
        maxIssualsPerCustomer: 1,
        maxEarnsPerCustomer: null,
      });
      promotionIds[walk].push(promotion.id);
    }
  }
  await post(`${base}/tills`, { ...TILL, customerAccess: 'WRITE' });
  await post(`${base}/api-clients`, { ...CLIENT, customerAccess: 'WRITE', tokenTtlSeconds: 86_400 });

  console.log(
    `importing ${customers.toLocaleString('en')} customers in calls of ${IMPORT_CHUNK.toLocaleString('en')}…`,
  );
  const done = sample(server.pid);
  const t0 = performance.now();
  let lastReport = t0;
  for (let first = 1; first <= customers; first += IMPORT_CHUNK) {
    const last = Math.min(customers, first + IMPORT_CHUNK - 1);
    let body = '{"customers":[';
    for (let id = first; id <= last; id++)
      body += `${id === first ? '' : ','}{"id":${id},"programIds":[${program.id}]}`;
    await post(`${base}/customers`, `${body}]}`);
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      const s = (lastReport - t0) / 1000;
      console.log(`  ${last.toLocaleString('en')} customers after ${s.toFixed(0)} s`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const rss = done();
  console.log(
    `imported in ${seconds.toFixed(1)} s (${Math.round(customers / seconds).toLocaleString('en')} customers/s)`,
  );
  return {
    orgId: org.id,
    programId: program.id,
    walks: promotionIds,
    import: {
      customers,
      seconds: round(seconds, 1),
      customersPerSecond: Math.round(customers / seconds),
      serverPeakRssMb: rss.peakRssMb,
    },
  };
}

async function authHeaders(mode: AuthMode, origin: string): Promise<Record<string, string>> {
  if (mode === 'none') return {};
  if (mode === 'basic') {
    const md5 = createHash('md5').update(TILL.password).digest('hex');
    return { authorization: `Basic ${Buffer.from(`${TILL.username}:${md5}`).toString('base64')}` };
  }
  const answer = await call(origin, 'POST', '/v3/oauth/token/generate', {}, JSON.stringify(CLIENT));
  return { 'x-cap-api-oauth-token': answer.data.accessToken as string };
}

// ---- phases ----

/** What the load generator counted, with the rates and the processes' figures around it. */
interface PhaseReport
  extends Pick<
    LoadResult,
    | 'action'
    | 'seconds'
    | 'requests'
    | 'good'
    | 'warned'
    | 'failed'
    | 'non2xx'
    | 'errors'
    | 'errorSamples'
    | 'exhausted'
  > {
  customersPerSecond: number;
  requestsPerSecond: number;
  /** Customers a second over the phase's first FIRST_SECONDS seconds, and that over the whole phase's. */
  firstCustomersPerSecond: number;
  firstShare: number;
  /** Good answers in each second of the phase. */
  perSecond: number[];
  /** Open loop: requests a second asked for, and requests due in the window. */
  rate?: number;
  due?: number;
  stalls?: LoadResult['stalls'];
  sendLate?: LoadResult['sendLate'];
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  server: ProcessSample;
  /**
   * Share of the phase the server's event loop was busy (its loyalty_event_loop_busy_seconds_total):
   * near 1 it is saturated, and requests wait for it whatever the store does. Absent with --workers.
   */
  loopBusy?: number;
  loadGeneratorCores: number;
  /** Cores busy with anything else (other programs on the machine): high values spoil the figures. */
  otherCores: number;
  /** Service customers/s over raw-store customers/s for the same action. */
  vsBaseline?: number;
}

async function phase(
  server: ServerProcess,
  store: BenchStore,
  options: Options,
  job: Omit<LoadJob, 'origin' | 'connections' | 'warmupMs' | 'durationMs'>,
): Promise<{ report: PhaseReport; batchesSent: number }> {
  // One process answers /metrics: with workers, whichever the connection lands on, so not a figure.
  const loopOf = () => (options.workers > 1 ? undefined : loopBusySeconds(server.origin));
  const loop0 = await loopOf();
  const loopT0 = performance.now();
  const done = sample(server.pid, store.pgDatabase);
  const open = job.rate !== undefined;
  const analyzing = open ? undefined : analyzeDuringWarmup(store, options);
  const load = await runJob<LoadJob, LoadResult>(
    path.join(BENCH, 'load.ts'),
    {
      ...job,
      origin: server.origin,
      // Open loop: enough connections that the load generator never queues what is due.
      connections: open ? Math.max(64, options.connections) : options.connections,
      warmupMs: (open ? OPEN_LOOP_SETTLE_S : options.warmupS) * 1000,
      durationMs: options.durationS * 1000,
    },
    ROOT,
    (options.warmupS + options.durationS + 120) * 1000,
  );
  const processes = done();
  const loop1 = await loopOf();
  const loopBusy =
    loop0 === undefined || loop1 === undefined
      ? undefined
      : round((loop1 - loop0) / ((performance.now() - loopT0) / 1000), 2);
  await analyzing;
  const seconds = load.seconds;
  const loadGeneratorCores = round(
    load.cpuSeconds / ((open ? OPEN_LOOP_SETTLE_S : options.warmupS) + options.durationS),
    2,
  );
  const customersPerSecond = seconds > 0 ? Math.round((load.good * BATCH) / seconds) : 0;
  const first = firstRate(load.perSecond);
  const report: PhaseReport = {
    action: job.action,
    seconds: round(seconds, 3),
    customersPerSecond,
    requestsPerSecond: seconds > 0 ? round(load.good / seconds, 1) : 0,
    firstCustomersPerSecond: Math.round(first * BATCH),
    firstShare: round((first * BATCH) / Math.max(1, customersPerSecond), 3),
    perSecond: load.perSecond,
    ...(open ? { rate: load.rate, due: load.due, stalls: load.stalls, sendLate: load.sendLate } : {}),
    latencyMs: {
      p50: load.latency.p50,
      p90: load.latency.p90,
      p99: load.latency.p99,
      p999: load.latency.p999,
      max: load.latency.max,
      mean: load.latency.mean,
    },
    requests: load.requests,
    good: load.good,
    warned: load.warned,
    failed: load.failed,
    non2xx: load.non2xx,
    errors: load.errors,
    errorSamples: load.errorSamples,
    exhausted: load.exhausted,
    server: processes,
    ...(loopBusy === undefined ? {} : { loopBusy }),
    loadGeneratorCores,
    otherCores: round(
      Math.max(
        0,
        processes.machineBusy * CORES - processes.serverCores - processes.postgresCores - loadGeneratorCores,
      ),
      2,
    ),
  };
  const problems = load.failed + load.errors + Object.values(load.non2xx).reduce((a, b) => a + b, 0);
  if (load.warned > 0)
    console.log(`  ${job.action}: ${load.warned} good answers carried warnings (unexpected)`);
  if (problems > 0)
    console.log(`  ${job.action}: ${problems} bad answers, e.g. ${load.errorSamples[0] ?? ''}`);
  return { report, batchesSent: load.batchesSent };
}

/** Completions a second over the first FIRST_SECONDS seconds of a phase (all of it if shorter). */
function firstRate(perSecond: number[]): number {
  const head = perSecond.slice(0, FIRST_SECONDS);
  return head.length === 0 ? 0 : head.reduce((a, b) => a + b, 0) / head.length;
}

interface ModeReport {
  auth: AuthMode;
  enrol: PhaseReport;
  earn: PhaseReport;
  /** The open-loop phases, at a fixed rate, after the closed-loop ones. */
  openEnrol?: PhaseReport;
  openEarn?: PhaseReport;
  profile?: ProfileSummary;
}

/** Requests a second for the open-loop phases: a share of the raw store's batches a second. */
interface OpenLoopRates {
  ENROL: number;
  EARN: number;
}

async function runMode(
  plan: ServerPlan,
  seeded: Seeded,
  mode: AuthMode,
  options: Options,
  rates?: OpenLoopRates,
): Promise<ModeReport> {
  console.log(
    `\n== ${options.store}, auth ${mode}: ENROL then EARN, ${options.connections} connections, ${options.durationS} s each (+${options.warmupS} s warm-up)`,
  );
  const server = await launch(plan, mode);
  let enrol: PhaseReport;
  let earn: PhaseReport;
  let openEnrol: PhaseReport | undefined;
  let openEarn: PhaseReport | undefined;
  try {
    const headers = await authHeaders(mode, server.origin);
    const slots: Slots = { promotionIds: seeded.walks[mode] as number[], customers: options.customers };
    const base = { headers, programId: seeded.programId, slots };
    const first = await phase(server, plan.store, options, { ...base, action: 'ENROL' });
    enrol = first.report;
    printPhase(mode, enrol);
    earn = (await phase(server, plan.store, options, { ...base, action: 'EARN', cycle: first.batchesSent }))
      .report;
    printPhase(mode, earn);
    if (rates) {
      // Fresh customers for the open-loop ENROL: the walk goes on where the closed-loop one stopped.
      const opened = await phase(server, plan.store, options, {
        ...base,
        action: 'ENROL',
        rate: rates.ENROL,
        firstBatch: first.batchesSent,
      });
      openEnrol = opened.report;
      printPhase(`${mode} open loop`, openEnrol);
      // Earns for the customers the open-loop ENROL just enrolled, as the closed-loop EARN and the
      // raw store's EARN do: a customer's first earn. (Walked from batch 0, these were the closed-loop
      // phase's customers earning a second time, which reads their first earn too: not the work whose
      // raw rate set this phase's.)
      openEarn = (
        await phase(server, plan.store, options, {
          ...base,
          action: 'EARN',
          rate: rates.EARN,
          firstBatch: first.batchesSent,
          cycle: opened.batchesSent,
        })
      ).report;
      printPhase(`${mode} open loop`, openEarn);
    }
  } finally {
    await server.stop();
  }
  const profile = plan.profileDir ? profileOf(plan.profileDir, `${options.store}-${mode}`) : undefined;
  return {
    auth: mode,
    enrol,
    earn,
    ...(openEnrol ? { openEnrol } : {}),
    ...(openEarn ? { openEarn } : {}),
    ...(profile ? { profile } : {}),
  };
}

function profileOf(dir: string, name: string): ProfileSummary | undefined {
  const file = readdirSync(dir).find((f) => f === `${name}.cpuprofile`);
  return file ? summarizeProfile(path.join(dir, file)) : undefined;
}

function printPhase(mode: string, p: PhaseReport): void {
  const rate = p.rate === undefined ? '' : ` at ${p.rate} req/s asked (${p.due} due)`;
  console.log(
    `  ${mode} ${p.action}${rate}: ${p.customersPerSecond.toLocaleString('en')} customers/s, ${p.requestsPerSecond} req/s, ` +
      `first ${FIRST_SECONDS} s ${p.firstCustomersPerSecond.toLocaleString('en')} (${Math.round(p.firstShare * 100)}%), ` +
      `p50 ${p.latencyMs.p50} ms, p99 ${p.latencyMs.p99} ms, p99.9 ${p.latencyMs.p999} ms, server ${p.server.peakRssMb} MB, ` +
      `${p.server.serverCores} cores${p.loopBusy === undefined ? '' : `, loop busy ${Math.round(p.loopBusy * 100)}%`}` +
      `${p.server.postgresCores ? `, postgres ${p.server.postgresCores} cores` : ''}`,
  );
  if (p.stalls) printStalls(p.stalls, p.sendLate, 'the load generator sent late by');
}

/** Where an open-loop phase's tail came from: its slowest requests by due time, and how late they went out. */
function printStalls(stalls: StallReport, late: LatencySummary | undefined, lateLabel: string): void {
  const slowest = stalls.slowest.map((s) => `${s.ms} ms at ${s.atS} s`).join(', ');
  console.log(`    slowest: ${slowest}`);
  console.log(`    over 25 ms, each second: ${stalls.over25PerSecond.join(' ')}`);
  if (late)
    console.log(`    ${lateLabel}: p99 ${late.p99} ms, p99.9 ${late.p999} ms, at most ${late.max} ms`);
}

interface BaselineReport extends BaselineResult {
  /** CPU over both phases: "serverCores" is the baseline process here (it stands in for the server). */
  processes: ProcessSample & { otherCores: number };
}

/**
 * The raw store's job on `store` over `slots`: SQLite's one writer commits as many batches at once
 * as the service can have in flight; PostgreSQL has the service's connections, a batch a commit.
 */
function baselineJob(store: BenchStore, seeded: Seeded, options: Options, slots: Slots): BaselineJob {
  return {
    store: store.kind,
    target: store.baselineTarget,
    orgId: seeded.orgId,
    programId: seeded.programId,
    slots,
    connections: store.kind === 'sqlite' ? 1 : options.connections,
    group: store.kind === 'sqlite' ? options.connections : 1,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
    analyze: store.kind === 'postgres' && options.warm,
  };
}

async function runBaseline(store: BenchStore, seeded: Seeded, options: Options): Promise<BaselineReport> {
  const slots = { promotionIds: seeded.walks.baseline as number[], customers: options.customers };
  const job = baselineJob(store, seeded, options, slots);
  console.log(
    `\n== ${store.kind}, raw-store baseline: ENROL then EARN, ${job.connections} connection(s), ${job.group} batch(es) per commit, ${options.durationS} s each (+${options.warmupS} s warm-up)`,
  );
  // The bench's own process tree is now the baseline process alone (no server runs meanwhile).
  const done = sample(process.pid, store.pgDatabase);
  const result = await runJob<BaselineJob, BaselineResult>(
    path.join(BENCH, 'baseline.ts'),
    {
      ...job,
      // The store's own tail at the service's open-loop rates, to read the service's against.
      ...(options.openLoopRate !== undefined || options.openLoopShare > 0
        ? {
            openLoop: {
              ...(options.openLoopRate !== undefined ? { rate: options.openLoopRate } : {}),
              share: options.openLoopShare,
              settleMs: OPEN_LOOP_SETTLE_S * 1000,
            },
          }
        : {}),
    },
    ROOT,
    (2 * (options.warmupS + options.durationS) + 2 * (OPEN_LOOP_SETTLE_S + options.durationS) + 120) * 1000,
  );
  const p = done();
  const processes = {
    ...p,
    otherCores: round(Math.max(0, p.machineBusy * CORES - p.serverCores - p.postgresCores), 2),
  };
  for (const p of [result.enrol, result.earn]) {
    console.log(
      `  baseline ${p.action}: ${p.batchesPerSecond} batches/s (${p.customersPerSecond.toLocaleString('en')} customers/s), ` +
        `p50 ${p.latency.p50} ms, p99 ${p.latency.p99} ms`,
    );
  }
  for (const p of [result.openEnrol, result.openEarn]) {
    if (!p) continue;
    console.log(
      `  baseline open loop ${p.action} at ${p.rate} batches/s asked (${p.due} due): ` +
        `p50 ${p.latency.p50} ms, p99 ${p.latency.p99} ms, p99.9 ${p.latency.p999} ms, at most ${p.latency.max} ms`,
    );
    printStalls(p.stalls, p.sendLate, 'the baseline queued batches late by');
  }
  return { ...result, processes };
}

// ---- the runs ----

async function fullRun(options: Options, meta: Record<string, unknown>) {
  const store = await openStore(options);
  const plan: ServerPlan = {
    store,
    adminToken: randomBytes(24).toString('hex'),
    orgId: 0,
    workers: options.workers,
  };
  if (options.cpuProf) plan.profileDir = path.join(RESULTS, 'profiles');
  if (plan.profileDir) mkdirSync(plan.profileDir, { recursive: true });

  console.log(`\n== ${store.kind}: seeding a fresh store through the management API`);
  const importer = await launch(plan, 'import');
  const perWalk = promotionsPerWalk(options.customers, options);
  const walks: [string, number][] = [...(options.skipBaseline ? [] : ['baseline']), ...options.modes].map(
    (w) => [w, perWalk],
  );
  if (inTurns(options)) walks.push(['turns', promotionsFor(options.customers, turnsSeconds(options))]);
  const seeded = await seed(importer, plan.adminToken, options.customers, walks);
  await importer.stop();
  await analyze(store, options);
  plan.orgId = seeded.orgId;

  // Each on a copy of the seeded store (see cloneStore), dropped once it has been measured.
  const onCopy = async <T>(label: string, fn: (copy: BenchStore) => Promise<T>): Promise<T> => {
    const copy = await cloneStore(store, label, options);
    try {
      return await fn(copy);
    } finally {
      await copy.dispose();
    }
  };
  // Rounds in turn (baseline, none, basic, oauth, baseline, ...), so that a slow spell of the machine
  // or the disk falls on every kind of run alike; each phase reports its median round.
  const baselineRounds: BaselineReport[] = [];
  const modeRounds = new Map<AuthMode, ModeReport[]>(options.modes.map((m) => [m, []]));
  const turnRounds: TurnsReport[] = [];
  for (let r = 1; r <= options.repeat; r++) {
    if (options.repeat > 1) console.log(`\n=== round ${r} of ${options.repeat}`);
    let raw: BaselineReport | undefined;
    if (!options.skipBaseline) {
      raw = await onCopy(`baseline_${r}`, (copy) => runBaseline(copy, seeded, options));
      baselineRounds.push(raw);
    }
    const rates = openLoopRates(options, raw);
    for (const mode of options.modes) {
      const report = await onCopy(`${mode}_${r}`, (copy) =>
        runMode({ ...plan, store: copy }, seeded, mode, options, rates),
      );
      modeRounds.get(mode)?.push(report);
    }
    if (inTurns(options)) {
      // The service and the raw store each on their own copy, so that both start from the seeded store.
      const turns = (rawCopy: BenchStore | undefined) =>
        onCopy(`turns_${r}`, (copy) => runTurns({ ...plan, store: copy }, rawCopy, seeded, options));
      turnRounds.push(options.skipBaseline ? await turns(undefined) : await onCopy(`turnsraw_${r}`, turns));
    }
  }
  // The processes' figures (CPU, other cores) are those of the round whose ENROL is the median.
  const middle = baselineRounds.find((b) => b.enrol === median(baselineRounds.map((r) => r.enrol)));
  const openEnrol = medianOpen(baselineRounds.flatMap((b) => (b.openEnrol ? [b.openEnrol] : [])));
  const openEarn = medianOpen(baselineRounds.flatMap((b) => (b.openEarn ? [b.openEarn] : [])));
  const baseline = middle
    ? {
        ...middle,
        earn: median(baselineRounds.map((b) => b.earn)),
        ...(openEnrol ? { openEnrol } : {}),
        ...(openEarn ? { openEarn } : {}),
      }
    : undefined;
  const runs: ModeReport[] = options.modes.map((mode) => {
    const rounds = modeRounds.get(mode) as ModeReport[];
    const openEnrol = medianLatency(rounds.flatMap((m) => (m.openEnrol ? [m.openEnrol] : [])));
    const openEarn = medianLatency(rounds.flatMap((m) => (m.openEarn ? [m.openEarn] : [])));
    return {
      ...(rounds[0] as ModeReport),
      enrol: median(rounds.map((m) => m.enrol)),
      earn: median(rounds.map((m) => m.earn)),
      ...(openEnrol ? { openEnrol } : {}),
      ...(openEarn ? { openEarn } : {}),
    };
  });
  if (options.repeat > 1) printSpread(baselineRounds, modeRounds);
  if (baseline) {
    for (const run of runs) {
      run.enrol.vsBaseline = round(
        run.enrol.customersPerSecond / Math.max(1, baseline.enrol.customersPerSecond),
        3,
      );
      run.earn.vsBaseline = round(
        run.earn.customersPerSecond / Math.max(1, baseline.earn.customersPerSecond),
        3,
      );
    }
  }
  await store.dispose();
  const rounds =
    options.repeat > 1 ? { baseline: baselineRounds, runs: Object.fromEntries(modeRounds) } : undefined;
  const inTurnsMedians = turnRounds.length > 0 ? turnsMedians(turnRounds) : undefined;
  return {
    meta,
    import: seeded.import,
    baseline,
    runs,
    // Every round's turns (one a round), and each mode's figures in the median round.
    ...(inTurnsMedians ? { turns: turnRounds, inTurns: inTurnsMedians } : {}),
    ...(rounds ? { rounds } : {}),
    targets: targets(
      runs,
      undefined,
      options,
      baselineRounds.flatMap((b) => [b.openEnrol, b.openEarn].flatMap((p) => (p ? [p] : []))),
      inTurnsMedians,
      baselineRounds.flatMap((b) => [b.enrol, b.earn]),
    ),
  };
}

// ---- in turns on one machine ----

/** What one participant did in an action's counted turns. */
interface TurnsFigures {
  customersPerSecond: number;
  good: number;
  seconds: number;
  /** Customers a second in each counted turn (turn k of every participant is in rotation k). */
  perTurn: number[];
}

/** One action's turns: the raw store's and each mode's customers a second, and the comparisons. */
interface TurnsPhase {
  action: 'ENROL' | 'EARN';
  /** The raw store's turns (absent with --skip-baseline). */
  raw?: TurnsFigures;
  modes: (TurnsFigures & {
    auth: AuthMode;
    /** 1 - this mode's rate over none's, over all its counted turns, and its standard error. */
    cost: number;
    costError: number;
    /** This mode's rate over the raw store's, and its standard error. */
    share?: number;
    shareError?: number;
  })[];
  /**
   * The modes' rate by their place in the rotation (first after the raw store, second...), each
   * turn's over its rotation's mean of the modes: what a place costs, whichever mode holds it.
   */
  byPlace: number[];
  bad: number;
  server: ProcessSample;
}

interface TurnsReport {
  turnS: number;
  enrol: TurnsPhase;
  earn: TurnsPhase;
}

/** The median round's cost of each mode, and its share of the raw store, by action. */
type TurnsFigure = Partial<Record<AuthMode, { ENROL: number; EARN: number }>>;
interface TurnsMedians {
  cost: TurnsFigure;
  share: TurnsFigure;
}

/** Whether the turns run: --turn, and either the raw store or none to compare the modes with. */
function inTurns(options: Options): boolean {
  return (
    options.turnS > 0 &&
    (!options.skipBaseline || (options.modes.includes('none') && options.modes.length > 1))
  );
}

/**
 * Turns of one action each participant has: a first uncounted one, then --duration's worth, rounded
 * up to whole cycles of the modes' order (turnOrder), so that each mode takes each place equally often.
 */
function rotations(options: Options): number {
  const wanted = Math.ceil(options.durationS / Math.max(1, options.turnS));
  const cycle = Math.max(1, options.modes.length);
  return 1 + Math.ceil(wanted / cycle) * cycle;
}

/**
 * The modes' order in rotation r (counted from 1): shifted by one place each rotation. On
 * PostgreSQL the turn right after the raw store's ran 0.2-4% below its rotation's mean (likely the
 * raw store's copy of the data left in the shared buffers): with the order fixed that fell on none
 * alone, and Basic and OAuth came out up to 11% cheaper than no auth.
 */
function turnOrder(modes: number, r: number): number[] {
  return Array.from({ length: modes }, (_, i) => (i + Math.max(0, r - 1)) % modes);
}

/** How long the service's turns of one action take, for the size of the walk they share. */
function turnsSeconds(options: Options): number {
  return rotations(options) * options.modes.length * options.turnS;
}

/**
 * The raw store and the service's modes compared with the machine's drift cancelled: the raw store
 * (baseline.ts) on one copy of the seeded store, the no-auth entry (which acts for calls without
 * credentials and authenticates the others, AppDeps.unauthenticatedActor) on another, and turns of a
 * few seconds given in rotation: the raw store, then the load generator with each mode's headers.
 * The phases of a round run minutes apart, and on these machines the speed moved by a quarter in
 * that time: more than the differences measured.
 */
async function runTurns(
  plan: ServerPlan,
  rawStore: BenchStore | undefined,
  seeded: Seeded,
  options: Options,
): Promise<TurnsReport> {
  const who = [...(rawStore ? ['raw store'] : []), ...options.modes].join(', ');
  console.log(
    `\n== ${options.store}, in turns on one machine: ${who}, ${options.turnS} s each in turn, ` +
      `ENROL then EARN, ${options.durationS} s each`,
  );
  const slots: Slots = { promotionIds: seeded.walks.turns as number[], customers: options.customers };
  // Every participant's turns of both actions, twice over (a turn lasts until its last answer).
  const participants = options.modes.length + (rawStore ? 1 : 0);
  const limit = (2 * 2 * rotations(options) * participants * options.turnS + 300) * 1000;
  const server = await launch(plan, 'none');
  const jobs: TurnTaker<unknown>[] = [];
  try {
    const headers = await Promise.all(options.modes.map((m) => authHeaders(m, server.origin)));
    const load = startJob<LoadJob, LoadResult>(
      path.join(BENCH, 'load.ts'),
      {
        origin: server.origin,
        connections: options.connections,
        warmupMs: 0,
        durationMs: 0,
        headers: {},
        programId: seeded.programId,
        slots,
        action: 'ENROL',
        turns: { headers },
      },
      ROOT,
      limit,
    );
    jobs.push(load);
    const raw = rawStore
      ? startJob<BaselineJob, BaselineResult>(
          path.join(BENCH, 'baseline.ts'),
          { ...baselineJob(rawStore, seeded, options, slots), turns: true },
          ROOT,
          limit,
        )
      : undefined;
    if (raw) jobs.push(raw);
    await Promise.all(jobs.map((j) => j.ready()));
    const enrol = await turnsPhase('ENROL', server, plan.store, options, load, raw);
    const earn = await turnsPhase('EARN', server, plan.store, options, load, raw);
    for (const j of jobs) j.end();
    const [answer] = await Promise.all([load.result, raw?.result]);
    if (answer.failed + answer.errors > 0) {
      console.log(
        `  turns: ${answer.failed + answer.errors} failed calls, e.g. ${answer.errorSamples[0] ?? ''}`,
      );
    }
    return { turnS: options.turnS, enrol, earn };
  } finally {
    for (const j of jobs) j.result.catch(() => {});
    await server.stop();
  }
}

async function turnsPhase(
  action: Action,
  server: ServerProcess,
  store: BenchStore,
  options: Options,
  load: TurnTaker<LoadResult>,
  raw: TurnTaker<BaselineResult> | undefined,
): Promise<TurnsPhase> {
  const ms = options.turnS * 1000;
  const done = sample(server.pid, store.pgDatabase);
  // Participant 0 is the raw store when it runs, first in every rotation; the modes follow in
  // --auth's order shifted by one place a rotation (turnOrder).
  const players = [
    ...(raw ? [() => raw.turn({ action, ms, set: 0 })] : []),
    ...options.modes.map((_, set) => () => load.turn({ action, ms, set })),
  ];
  const first = raw ? 1 : 0;
  const figures = players.map(() => ({ good: 0, seconds: 0, perTurn: [] as number[] }));
  // Each mode's rate in each rotation by its place after the raw store, for byPlace.
  const places: { place: number; rate: number; r: number }[] = [];
  let bad = 0;
  for (let r = 0; r < rotations(options); r++) {
    const order = [...(raw ? [0] : []), ...turnOrder(options.modes.length, r).map((m) => first + m)];
    for (const [place, i] of order.entries()) {
      const figure = await (players[i] as (typeof players)[number])();
      bad += figure.bad ?? 0;
      if (r === 0) continue; // the caches' and the code's warm-up
      const f = figures[i] as (typeof figures)[number];
      const rate = Math.round((figure.good * BATCH) / Math.max(0.001, figure.seconds));
      f.good += figure.good;
      f.seconds += figure.seconds;
      f.perTurn.push(rate);
      if (i >= first) places.push({ place: place - first, rate, r });
    }
  }
  const processes = done();
  const summary = (i: number): TurnsFigures => {
    const f = figures[i] as (typeof figures)[number];
    return {
      customersPerSecond: f.seconds > 0 ? Math.round((f.good * BATCH) / f.seconds) : 0,
      good: f.good,
      seconds: round(f.seconds, 3),
      perTurn: f.perTurn,
    };
  };
  const rawFigures = raw ? summary(0) : undefined;
  const noneIndex = options.modes.indexOf('none');
  const noneFigures = noneIndex >= 0 ? summary(first + noneIndex) : undefined;
  // A ratio of rates over all counted turns, and its standard error from each rotation's own ratio:
  // neighbouring turns share the machine's speed of the moment, which moved by a quarter from turn
  // to turn on these machines.
  const ratio = (x: TurnsFigures, y: TurnsFigures) => {
    const each = x.perTurn.map((v, k) => v / Math.max(1, y.perTurn[k] ?? 0));
    const mean = each.reduce((a, b) => a + b, 0) / Math.max(1, each.length);
    const variance = each.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, each.length - 1);
    return {
      value: round(x.customersPerSecond / Math.max(1, y.customersPerSecond), 4),
      error: each.length < 2 ? 0 : round(Math.sqrt(variance / each.length), 4),
    };
  };
  const modes = options.modes.map((auth, i) => {
    const own = summary(first + i);
    const vsNone = noneFigures ? ratio(own, noneFigures) : undefined;
    const vsRaw = rawFigures ? ratio(own, rawFigures) : undefined;
    return {
      auth,
      ...own,
      cost: vsNone ? round(1 - vsNone.value, 4) : 0,
      costError: vsNone?.error ?? 0,
      ...(vsRaw ? { share: vsRaw.value, shareError: vsRaw.error } : {}),
    };
  });
  const byPlace = options.modes.map((_, place) => {
    const ofPlace = places.filter((t) => t.place === place);
    const relative = ofPlace.map((t) => {
      const rotation = places.filter((u) => u.r === t.r);
      return t.rate / Math.max(1, rotation.reduce((a, u) => a + u.rate, 0) / rotation.length);
    });
    return round(relative.reduce((a, b) => a + b, 0) / Math.max(1, relative.length), 4);
  });
  const phase: TurnsPhase = {
    action,
    ...(rawFigures ? { raw: rawFigures } : {}),
    modes,
    byPlace,
    bad,
    server: processes,
  };
  const lines = [
    ...(rawFigures ? [`raw store ${fmt(rawFigures.customersPerSecond)}`] : []),
    ...modes.map((m) => {
      const notes = [
        ...(m.share !== undefined ? [`${pct1(m.share)} ± ${pct1(m.shareError ?? 0)} of raw`] : []),
        ...(m.auth !== 'none' && noneFigures ? [`cost ${pct1(m.cost)} ± ${pct1(m.costError)}`] : []),
      ];
      return `${m.auth} ${fmt(m.customersPerSecond)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
    }),
  ];
  console.log(`  turns ${action}, customers/s: ${lines.join(', ')}; server ${processes.serverCores} cores`);
  if (byPlace.length > 1) {
    const after = raw ? 'after the raw store' : 'in the rotation';
    console.log(
      `    the modes by place ${after}, against their rotation's mean: ${byPlace.map(pct1).join(', ')}`,
    );
  }
  return phase;
}

/**
 * Each mode's cost against none and share of the raw store in the median round, by action (the
 * round of the median figure, figure by figure).
 */
function turnsMedians(rounds: TurnsReport[]): TurnsMedians {
  const out: TurnsMedians = { cost: {}, share: {} };
  const modes = rounds[0]?.enrol.modes.map((m) => m.auth) ?? [];
  const mid = (xs: number[]) => middleBy(xs, (x) => x) as number;
  for (const auth of modes) {
    const of = (p: TurnsPhase) => p.modes.find((m) => m.auth === auth);
    if (auth !== 'none' && modes.includes('none')) {
      const cost = (p: TurnsPhase) => of(p)?.cost ?? 0;
      out.cost[auth] = {
        ENROL: mid(rounds.map((r) => cost(r.enrol))),
        EARN: mid(rounds.map((r) => cost(r.earn))),
      };
    }
    if (rounds[0]?.enrol.raw) {
      const share = (p: TurnsPhase) => of(p)?.share ?? 0;
      out.share[auth] = {
        ENROL: mid(rounds.map((r) => share(r.enrol))),
        EARN: mid(rounds.map((r) => share(r.earn))),
      };
    }
  }
  return out;
}

function printTurns(medians: TurnsMedians): void {
  const block = (title: string, figures: TurnsFigure) => {
    const lines = Object.entries(figures).map(
      ([auth, c]) => `  ${auth}: ENROL ${pct1(c.ENROL)}, EARN ${pct1(c.EARN)}`,
    );
    if (lines.length > 0)
      console.log(`\n${title}, in turns on one machine (median round):\n${lines.join('\n')}`);
  };
  block('Share of the raw store', medians.share);
  block('Cost of authentication against none', medians.cost);
}

const pct1 = (x: number) => `${Math.round(x * 1000) / 10}%`;

/** The open-loop phases' rates: a share of this round's raw-store batches a second, or as asked. */
function openLoopRates(options: Options, raw: BaselineReport | undefined): OpenLoopRates | undefined {
  if (options.openLoopRate !== undefined) {
    return { ENROL: options.openLoopRate, EARN: options.openLoopRate };
  }
  if (!raw || options.openLoopShare === 0) return undefined;
  return {
    ENROL: openLoopRateOf(raw.enrol.batchesPerSecond, options.openLoopShare),
    EARN: openLoopRateOf(raw.earn.batchesPerSecond, options.openLoopShare),
  };
}

/** The middle one of `items` by `key` (the lower middle one for an even count); undefined if none. */
function middleBy<P>(items: P[], key: (item: P) => number): P | undefined {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** An open-loop phase's median round: by p99, which is what that phase is for. */
const medianLatency = (phases: PhaseReport[]) => middleBy(phases, (p) => p.latencyMs.p99);
/** The raw store's open-loop phase of the median round, by p99 as for the service. */
const medianOpen = (phases: BaselineOpenPhase[]) => middleBy(phases, (p) => p.latency.p99);

/** The phase of the median round by customers/s (the lower middle one for an even count). */
function median<P extends { customersPerSecond: number }>(phases: P[]): P {
  return middleBy(phases, (p) => p.customersPerSecond) as P;
}

function printSpread(baselines: BaselineReport[], modes: Map<AuthMode, ModeReport[]>): void {
  const spread = (xs: number[]) => `${fmt(Math.min(...xs))} to ${fmt(Math.max(...xs))}`;
  console.log('\nSpread over the rounds (customers/s, lowest to highest):');
  if (baselines.length > 0) {
    console.log(`  raw store ENROL ${spread(baselines.map((b) => b.enrol.customersPerSecond))}`);
    console.log(`  raw store EARN  ${spread(baselines.map((b) => b.earn.customersPerSecond))}`);
  }
  for (const [mode, rounds] of modes) {
    console.log(`  ${mode} ENROL ${spread(rounds.map((m) => m.enrol.customersPerSecond))}`);
    console.log(`  ${mode} EARN  ${spread(rounds.map((m) => m.earn.customersPerSecond))}`);
  }
}

type FullReport = Awaited<ReturnType<typeof fullRun>>;

/** The full run (baseline, then one auth mode) on a fresh store of each size, and the ratios. */
async function compareSizes(options: Options, sizes: number[], meta: Record<string, unknown>) {
  const mode: AuthMode = options.modes.length === 1 ? (options.modes[0] as AuthMode) : 'basic';
  const results: (FullReport & { customers: number })[] = [];
  for (const customers of sizes) {
    console.log(`\n==== ${options.store}: ${customers.toLocaleString('en')} customers`);
    const report = await fullRun({ ...options, customers, modes: [mode] }, { ...meta, customers });
    results.push({ customers, ...report });
  }
  const bySize = [...results].sort((a, b) => a.customers - b.customers);
  const small = bySize[0] as FullReport;
  const large = bySize[bySize.length - 1] as FullReport;
  const ratio = (f: (r: FullReport) => number | undefined) => {
    const a = f(small);
    const b = f(large);
    return a === undefined || b === undefined ? undefined : round(b / Math.max(1, a), 3);
  };
  const largeOverSmall = {
    serviceEnrol: ratio((r) => r.runs[0]?.enrol.customersPerSecond) as number,
    serviceEarn: ratio((r) => r.runs[0]?.earn.customersPerSecond),
    baselineEnrol: ratio((r) => r.baseline?.enrol.customersPerSecond),
    baselineEarn: ratio((r) => r.baseline?.earn.customersPerSecond),
  };
  return {
    meta: { ...meta, customers: sizes, auth: mode },
    sizes: results,
    largeOverSmall,
    targets: targets([], largeOverSmall.serviceEnrol, options),
  };
}

// ---- the issue's targets ----

interface Target {
  target: string;
  measured: string;
  pass: boolean;
}

function targets(
  runs: ModeReport[],
  sizeRatio: number | undefined,
  options: Options,
  rawOpen: BaselineOpenPhase[] = [],
  inTurns?: TurnsMedians,
  rawClosed: BaselinePhase[] = [],
): Target[] {
  const out: Target[] = [];
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  for (const run of runs) {
    if (!options.warm) {
      for (const p of [run.enrol, run.earn]) {
        // The raw store's own first seconds, each round's: a fresh copy of the store and a new
        // process too, with no HTTP and no service code, so the part of a ramp that is not ours.
        const raw = rawClosed
          .filter((r) => r.action === p.action)
          .map((r) => pct((firstRate(r.perSecond) * BATCH) / Math.max(1, r.customersPerSecond)));
        const own = raw.length > 0 ? `; the raw store's own: ${raw.join(', ')}` : '';
        out.push({
          target: `${run.auth}: ${p.action} cold, first ${FIRST_SECONDS} s ≥ 80% of the whole phase`,
          measured: `${pct(p.firstShare)} (${fmt(p.firstCustomersPerSecond)} of ${fmt(p.customersPerSecond)} customers/s)${own}`,
          pass: p.firstShare >= 0.8,
        });
      }
    }
    for (const [p, least] of [
      [run.enrol, 0.7],
      [run.earn, 0.6],
    ] as const) {
      // The phases of a round run minutes apart, so the machine's drift is in the phases' share;
      // the turns on one machine, when run, are the target's figure.
      const apart = p.vsBaseline;
      const turned = inTurns?.share[run.auth]?.[p.action];
      const share = turned ?? apart;
      if (share === undefined) continue;
      out.push({
        target: `${run.auth}: ${p.action} ≥ ${least * 100}% of the raw store`,
        measured:
          turned === undefined
            ? `${pct(share)} (phases one after another)`
            : `${pct(turned)} in turns on one machine${apart === undefined ? '' : ` (phases one after another: ${pct(apart)})`}`,
        pass: share >= least,
      });
    }
    for (const p of [run.openEnrol, run.openEarn]) {
      if (!p) continue;
      const kept = p.due ? p.good / p.due : 0;
      // The raw store's own tail at the same rate, from a round that ran at it (with a share, the
      // round the service's phase took its rate from, whichever rounds are the medians): the floor.
      const raw = rawOpen.find((r) => r.action === p.action && r.rate === p.rate);
      const floor = raw
        ? `; raw store at that rate p99 ${raw.latency.p99}, p99.9 ${raw.latency.p999} ms`
        : '';
      // How busy the server's loop was: near 100%, the tail is requests queueing for it.
      const loop =
        p.loopBusy === undefined ? '' : `; server's event loop ${Math.round(p.loopBusy * 100)}% busy`;
      out.push({
        target: `${run.auth}: ${p.action} open loop at ${p.rate} req/s, p99 ≤ 25 ms and p99.9 ≤ 50 ms`,
        measured: `p99 ${p.latencyMs.p99} ms, p99.9 ${p.latencyMs.p999} ms (${pct(kept)} of due requests answered well)${floor}${loop}`,
        pass: p.latencyMs.p99 <= 25 && p.latencyMs.p999 <= 50 && kept >= 0.999,
      });
    }
    const phases = [run.enrol, run.earn, run.openEnrol, run.openEarn].flatMap((p) => (p ? [p] : []));
    const rss = Math.max(...phases.map((p) => p.server.peakRssMb));
    out.push({ target: `${run.auth}: server RSS < 300 MB`, measured: `${rss} MB`, pass: rss < 300 });
  }
  const none = runs.find((r) => r.auth === 'none');
  for (const run of runs) {
    if (!none || run === none) continue;
    for (const action of ['enrol', 'earn'] as const) {
      // The phases one after another, each on its own server: minutes apart, so the machine's
      // drift is in this figure. The turns on one server, when run, are the target's figure.
      const apart = 1 - run[action].customersPerSecond / Math.max(1, none[action].customersPerSecond);
      const turned = inTurns?.cost[run.auth]?.[action === 'enrol' ? 'ENROL' : 'EARN'];
      const cost = turned ?? apart;
      out.push({
        target: `${run.auth}: ${action.toUpperCase()} costs ≤ 5% against no auth`,
        measured:
          turned === undefined
            ? `${pct(apart)} (phases one after another)`
            : `${pct(turned)} in turns on one server (phases one after another: ${pct(apart)})`,
        pass: cost <= 0.05,
      });
    }
  }
  if (sizeRatio !== undefined) {
    out.push({
      target: 'ENROL at the largest size within 15% of the smallest',
      measured: pct(sizeRatio),
      pass: sizeRatio >= 0.85,
    });
  }
  return out;
}

// ---- output ----

function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, n) => {
      const line = r
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ');
      return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

const fmt = (n: number) => n.toLocaleString('en');

function phaseRow(store: string, who: string, p: PhaseReport): string[] {
  const non2xx = Object.values(p.non2xx).reduce((a, b) => a + b, 0);
  return [
    store,
    p.rate === undefined ? who : `${who}, open loop ${p.rate}/s`,
    p.action,
    fmt(p.customersPerSecond),
    `${fmt(p.firstCustomersPerSecond)} (${Math.round(p.firstShare * 100)}%)`,
    fmt(p.requestsPerSecond),
    String(p.latencyMs.p50),
    String(p.latencyMs.p99),
    String(p.latencyMs.p999),
    String(p.server.peakRssMb),
    String(p.server.serverCores),
    p.loopBusy === undefined ? '-' : `${Math.round(p.loopBusy * 100)}%`,
    p.server.postgresCores ? String(p.server.postgresCores) : '-',
    String(p.otherCores),
    p.vsBaseline === undefined ? '-' : `${Math.round(p.vsBaseline * 100)}%`,
    `${non2xx}/${p.failed}/${p.errors}${p.exhausted ? ' (walk exhausted)' : ''}`,
  ];
}

const HEADER = [
  'store',
  'run',
  'phase',
  'customers/s',
  `first ${FIRST_SECONDS} s`,
  'req/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'RSS MB',
  'srv cores',
  'srv loop',
  'pg cores',
  'other cores',
  'vs base',
  'non2xx/failed/err',
];

function reportRows(report: FullReport, store: StoreKind, prefix = ''): string[][] {
  const rows: string[][] = [];
  if (report.baseline) {
    const b = report.baseline;
    for (const p of [b.enrol, b.earn]) {
      const first = Math.round(firstRate(p.perSecond) * BATCH);
      rows.push([
        store,
        `${prefix}raw store (${b.concurrency} conn${b.batchesPerCommit > 1 ? `, ${b.batchesPerCommit}/commit` : ''})`,
        p.action,
        fmt(p.customersPerSecond),
        `${fmt(first)} (${Math.round((first / Math.max(1, p.customersPerSecond)) * 100)}%)`,
        fmt(p.batchesPerSecond),
        String(p.latency.p50),
        String(p.latency.p99),
        String(p.latency.p999),
        '-',
        String(b.processes.serverCores),
        '-',
        b.processes.postgresCores ? String(b.processes.postgresCores) : '-',
        String(b.processes.otherCores),
        '100%',
        `0/0/0${p.exhausted ? ' (walk exhausted)' : ''}`,
      ]);
    }
    for (const p of [b.openEnrol, b.openEarn]) {
      if (!p) continue;
      const received = p.perSecond.reduce((a, n) => a + n, 0);
      const seconds = Math.max(1, p.perSecond.length);
      rows.push([
        store,
        `${prefix}raw store, open loop ${p.rate}/s`,
        p.action,
        fmt(Math.round((received * BATCH) / seconds)),
        '-',
        fmt(round(received / seconds, 1)),
        String(p.latency.p50),
        String(p.latency.p99),
        String(p.latency.p999),
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        `0/0/0${p.exhausted ? ' (walk exhausted)' : ''}`,
      ]);
    }
  }
  for (const run of report.runs) {
    for (const p of [run.enrol, run.earn, run.openEnrol, run.openEarn]) {
      if (p) rows.push(phaseRow(store, `${prefix}service, auth ${run.auth}`, p));
    }
  }
  return rows;
}

function printFull(report: FullReport, store: StoreKind): void {
  const rows = [HEADER, ...reportRows(report, store)];
  console.log(
    `\nImport: ${fmt(report.import.customers)} customers in ${report.import.seconds} s (${fmt(report.import.customersPerSecond)}/s)`,
  );
  console.log(`\n${table(rows)}`);
  console.log('(req/s of the raw store: batches/s; a batch is the work of one 100-customer request)');
  for (const run of report.runs) if (run.profile) printProfile(run.auth, run.profile);
  if (report.inTurns) printTurns(report.inTurns);
  printTargets(report.targets);
}

function printProfile(label: string, p: ProfileSummary): void {
  console.log(`\nServer CPU profile, auth ${label} (${fmt(p.totalMs)} ms of CPU, self time):`);
  console.log(`  by stage: ${p.byPhase.map((a) => `${a.phase} ${a.percent}%`).join(', ')}`);
  console.log(`  by area: ${p.byArea.map((a) => `${a.area} ${a.percent}%`).join(', ')}`);
  for (const f of p.byFunction) console.log(`  ${String(f.percent).padStart(5)}%  ${f.fn}`);
}

function printTargets(list: Target[]): void {
  if (list.length === 0) return;
  console.log('\nTargets (issue 14):');
  for (const t of list) console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.measured}`);
}

function gitCommit(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  // BENCH_COMMIT names the commit when the bench runs from an exported copy of the tree.
  if (head.status !== 0) return process.env.BENCH_COMMIT ?? 'unknown';
  return `${head.stdout.trim()}${dirty.stdout.trim() ? ' (with local changes)' : ''}`;
}

async function storeVersion(options: Options): Promise<Record<string, string>> {
  if (options.store === 'sqlite') {
    const db = new Database(':memory:');
    const { v } = db.prepare('select sqlite_version() as v').get() as { v: string };
    db.close();
    return { sqlite: v, journal_mode: 'wal', synchronous: 'full' };
  }
  const client = new pg.Client({ connectionString: options.pgUrl });
  await client.connect();
  try {
    const out: Record<string, string> = {};
    out.postgres = (await client.query('show server_version')).rows[0].server_version;
    for (const name of ['synchronous_commit', 'fsync', 'shared_buffers']) {
      out[name] = (await client.query(`show ${name}`)).rows[0][name];
    }
    out.serverPoolSize = process.env.LOYALTY_PG_POOL_SIZE ?? '10 (default)';
    return out;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  // `npm run bench -- jobs …`: the bulk jobs bench, a run of its own (bench/jobs-bench.ts).
  if (process.argv[2] === 'jobs') {
    await import('./jobs-bench.js');
    return;
  }
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${errorText(err)}\n\n${USAGE}`);
    process.exit(64);
  }
  if (!options.skipBuild) {
    // Built only when stale (as `npm start` does): a current dist is what the run measures anyway.
    console.log('== build dist if stale');
    const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-stale.mjs')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('building dist failed');
  }
  if (!existsSync(path.join(ROOT, 'dist', 'cli.js')))
    throw new Error('dist/cli.js is missing: run npm run build');
  mkdirSync(RESULTS, { recursive: true });

  const busyBefore = await machineBusyOver(1_000);
  if (busyBefore > 0.2) {
    console.warn(
      `\nbench: warning: ${Math.round(busyBefore * 100)}% of the CPU is busy before the run: other programs ` +
        'running now will lower the figures (see "other cores" in the table)',
    );
  }
  const startedAt = new Date();
  const meta = {
    startedAt: startedAt.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    commit: gitCommit(),
    store: options.store,
    storeInfo: await storeVersion(options),
    customers: options.customers,
    durationS: options.durationS,
    warmupS: options.warmupS,
    connections: options.connections,
    workers: options.workers,
    batch: BATCH,
    firstSeconds: FIRST_SECONDS,
    node: process.version,
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    machineBusyBefore: busyBefore,
    mode: options.warm ? 'warm' : 'cold',
    analyze:
      options.store === 'postgres' && options.warm
        ? 'after the import, and halfway through the warm-up of every phase (baseline and service)'
        : 'none by the bench (cold)',
    openLoop: options.openLoopRate
      ? `${options.openLoopRate} requests/s`
      : options.openLoopShare > 0
        ? `${options.openLoopShare} of the raw store's batches/s`
        : 'none',
  };

  let report: unknown;
  if (options.compareSizes) {
    const sized = await compareSizes(options, options.compareSizes, meta);
    const rows = [
      HEADER,
      ...sized.sizes.flatMap((r) => reportRows(r, options.store, `${fmt(r.customers)}: `)),
    ];
    console.log(`\n${table(rows)}`);
    const pct = (x: number | undefined) => (x === undefined ? '-' : `${Math.round(x * 1000) / 10}%`);
    const l = sized.largeOverSmall;
    console.log(
      `\nLargest size over smallest, customers/s: service ENROL ${pct(l.serviceEnrol)}, EARN ${pct(l.serviceEarn)}; ` +
        `raw store ENROL ${pct(l.baselineEnrol)}, EARN ${pct(l.baselineEarn)}`,
    );
    printTargets(sized.targets);
    report = sized;
  } else {
    const full = await fullRun(options, meta);
    printFull(full, options.store);
    report = full;
  }

  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const kind = options.compareSizes ? 'sizes' : 'full';
  writeFileSync(path.join(RESULTS, 'latest.json'), json);
  writeFileSync(path.join(RESULTS, `${options.store}-${kind}-${stamp}.json`), json);
  console.log(
    `\nwritten: bench/results/latest.json and bench/results/${options.store}-${kind}-${stamp}.json`,
  );
}

process.on(
  'SIGINT',
  () => void shutdown(130, '\nbench: interrupted; stopping its processes and removing its store'),
);
process.on(
  'SIGTERM',
  () => void shutdown(143, 'bench: terminated; stopping its processes and removing its store'),
);
process.on('exit', () => killAll('SIGKILL'));

main().then(
  () => shutdown(0),
  (err: unknown) =>
    shutdown(1, `bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
);
