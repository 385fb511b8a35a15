// The raw-store baseline: the statements the service sends for one 100-customer ENROL and one EARN
// (src/promotions/enrolment.repository.ts), hand-written and prepared, issued straight to the store
// with no HTTP and no service code: the lookup (on PostgreSQL with the customers' locks), the states,
// the ids, the insert, the outbox's insert of the request's 100 events (with the data the service
// writes; on SQLite the update that moves the event id counter past them) and the counter upsert of
// the promotion's day. SQLite has one writer: it runs the batches one after another, and
// commits them the way the service's group commit does at best, `group` batches per transaction with a
// savepoint each (so that the baseline is the store's limit under the same durability, not its fsync
// rate). PostgreSQL runs them on C connections in parallel, a transaction each. A process of its own,
// started by run.ts.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { joinedWrites } from '../src/db/dialect/joined-writes.js';
import { pgEventsInsert } from '../src/db/dialect/postgres.dialect.js';
import { FALLBACK_AUTOCHECKPOINT, startCheckpointer } from '../src/db/sqlite-checkpointer.js';
import { MS_PER_DAY, shardOf } from '../src/promotions/promotion-counts.plan.js';
import {
  type Action,
  BATCH,
  type BaselineJob,
  type BaselineOpenPhase,
  type BaselinePhase,
  type BaselineResult,
  batchAt,
  openLoopRateOf,
  round,
  Samples,
  type Slots,
  Stalls,
  serveOneJob,
  slotCapacity,
  summarize,
  Timeline,
  takeTurns,
} from './common.js';

const SOURCE = 'INSTORE';
const CREATED_BY = 'bench:baseline';

interface Batch {
  promotionId: number;
  ids: number[];
}

/** Some batches' work on some store: resolves once the transaction that holds them committed. */
type BatchRunner = (action: Action, batches: Batch[]) => Promise<void> | void;

interface Found {
  id: number;
  /** true, or 1 on SQLite. */
  member: boolean | number;
  sources: string | null;
}
interface Stats {
  customer_id: number;
  total: number;
  active_id: number | null;
}

const placeholders = (n: number, from: number, dollar: boolean) =>
  Array.from({ length: n }, (_, i) => (dollar ? `$${from + i}` : '?')).join(', ');

// The customer lookup of the dialect seam (src/db/dialect): on PostgreSQL a lateral probe per key,
// on SQLite a list of keys; membership and sources as correlated subqueries on both.
const PG_FIND =
  'select c.id, c.key, exists (select 1 from program_members m where m.org_id = c.org_id and m.program_id = $1 ' +
  'and m.customer_id = c.id) as member, array_to_string(array(select s.source from customer_sources s ' +
  "where s.org_id = c.org_id and s.customer_id = c.id), ',') as sources from unnest($3::bigint[]) as k(key) " +
  'cross join lateral (select c.id, c.org_id, c.id as key from customers c where c.org_id = $2 and c.id = k.key limit 1) c';
// The lookup that also locks each found customer's pair with the promotion, in key order, as the
// service's (postgres.dialect.ts findCustomers): the lock costs no statement of its own.
const PG_FIND_LOCKED =
  `with found as materialized (${PG_FIND}), locked as (select count(pg_advisory_xact_lock(l.k)) as n ` +
  'from (select distinct ($4::bigint << 32) # f.id as k from found f order by 1 offset 0) l) ' +
  'select f.id, f.key, f.member, f.sources from found f cross join locked';
const SQLITE_FIND =
  'select c.id, c.id as key, exists (select 1 from program_members m where m.org_id = c.org_id and m.program_id = ? ' +
  "and m.customer_id = c.id) as member, (select group_concat(s.source, ',') from customer_sources s " +
  'where s.org_id = c.org_id and s.customer_id = c.id) as sources from customers c ' +
  'where c.org_id = ? and c.id in (select value from json_each(?))';

// Each customer's issuals (and for EARN their active earns), as customerStates in the repository:
// on PostgreSQL one statement with a lateral probe a customer; on SQLite a grouped read of the
// issuals, and one of the earns for EARN.
const pgStatesSql = (earns: boolean) =>
  `select k.customer_id, s.total, s.active_id, ${
    earns
      ? '(select count(*) from "earns" e where e.org_id = $1 and e.promotion_id = $2 ' +
        'and e.customer_id = k.customer_id and e.revoked_at is null)'
      : 'null'
  } as n from unnest($3::bigint[]) as k(customer_id) ` +
  'cross join lateral (select count(*) as total, max(i.id) filter (where i.revoked_at is null) as active_id ' +
  'from "issuals" i where i.org_id = $1 and i.promotion_id = $2 and i.customer_id = k.customer_id) s';

const SQLITE_STATS =
  'select customer_id, count(*) as total, max(case when revoked_at is null then id end) as active_id ' +
  'from issuals where org_id = ? and promotion_id = ? and customer_id in (select value from json_each(?)) ' +
  'group by customer_id';
const SQLITE_EARN_COUNTS =
  'select customer_id, count(*) as n from earns where org_id = ? and promotion_id = ? and revoked_at is null ' +
  'and customer_id in (select value from json_each(?)) group by customer_id';

const ISSUAL_COLUMNS = [
  'org_id',
  'created_at',
  'created_by',
  'request_id',
  'id',
  'promotion_id',
  'customer_id',
  'source',
];
const EARN_COLUMNS = [
  'org_id',
  'created_at',
  'created_by',
  'request_id',
  'id',
  'issual_id',
  'promotion_id',
  'customer_id',
  'source',
];

function insertSql(table: 'issuals' | 'earns', rows: number, dollar: boolean): string {
  const columns = table === 'issuals' ? ISSUAL_COLUMNS : EARN_COLUMNS;
  const values = Array.from(
    { length: rows },
    (_, r) => `(${placeholders(columns.length, r * columns.length + 1, dollar)})`,
  );
  return `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${values.join(', ')}`;
}

// SQLite's inserts as its dialect sends them (src/db/dialect/sqlite.dialect.ts, insertPadded): the
// values every row shares once, then a VALUES list of 100 rows (null rows, left out by the where, pad
// a shorter request).
const sqliteValues = (width: number) =>
  Array.from({ length: BATCH }, () => `(${placeholders(width, 1, false)})`).join(', ');
const sqliteInsertSql = (table: 'issuals' | 'earns') => {
  const own = table === 'issuals' ? ISSUAL_COLUMNS.slice(4) : EARN_COLUMNS.slice(4);
  return (
    `insert into ${table} (${[...ISSUAL_COLUMNS.slice(0, 4), ...own].join(', ')}) select ?, ?, ?, ?, ` +
    `${own.map((_, i) => `column${i + 1}`).join(', ')} from (values ${sqliteValues(own.length)}) ` +
    'where column1 is not null'
  );
};

// The outbox (src/db/dialect: insertEvents): a request's events in one statement.
const SQLITE_EVENTS =
  'insert into events (org_id, xid, id, type, at, data) ' +
  "select ?, 0, (select value from id_sequences where name = 'events') + column1, column2, ?, column3 " +
  `from (values ${sqliteValues(3)}) where column1 is not null`;
const SQLITE_EVENTS_ADVANCE = "update id_sequences set value = value + ? where name = 'events'";
// PostgreSQL: the service's statement for a hundred events (their type and data as text parameters).
const PG_EVENTS = pgEventsInsert(BATCH);

// The promotion's counters of the day (src/promotions/promotion-counts.repository.ts): one upsert.
const countsSql = (dollar: boolean) =>
  'insert into promotion_day_counts as t (org_id, promotion_id, day, shard, issuals, issuals_revoked, earns, earns_revoked, customers) ' +
  `values (${placeholders(9, 1, dollar)}) on conflict (org_id, promotion_id, day, shard) do update set ` +
  'issuals = t.issuals + excluded.issuals, issuals_revoked = t.issuals_revoked + excluded.issuals_revoked, ' +
  'earns = t.earns + excluded.earns, earns_revoked = t.earns_revoked + excluded.earns_revoked, ' +
  'customers = t.customers + excluded.customers';

/** What the service writes beside the records: the events and the counter values of one batch. */
interface Extras {
  at: number;
  types: string[];
  data: string[];
  counts: unknown[];
}

function extrasOf(
  action: Action,
  job: BaselineJob,
  promotionId: number,
  planned: { customerId: number; issualId: number }[],
  ids: number[],
): Extras {
  const at = Date.now();
  const requestId = randomUUID();
  const type = action === 'ENROL' ? 'promotion.enrolled' : 'promotion.earned';
  // The event data of src/events/event.plan.ts (the bench's promotions have no promoIdentifier).
  const data = planned.map((p, i) =>
    JSON.stringify({
      programId: job.programId,
      promotionId,
      customerId: p.customerId,
      issualId: String(action === 'ENROL' ? ids[i] : p.issualId),
      source: SOURCE,
      requestId,
      credential: CREATED_BY,
      ...(action === 'EARN' ? { earnedId: String(ids[i]) } : {}),
    }),
  );
  const n = planned.length;
  const counts = [
    job.orgId,
    promotionId,
    Math.floor(at / MS_PER_DAY),
    shardOf(at, requestId),
    action === 'ENROL' ? n : 0,
    0,
    action === 'EARN' ? n : 0,
    0,
    action === 'ENROL' ? n : 0,
  ];
  return { at, types: planned.map(() => type), data, counts };
}

/** The customers of the batch who may take part: found, members of the program, registered INSTORE. */
function eligible(rows: Found[], ids: number[]): number[] {
  const ok = new Set<number>();
  for (const row of rows) {
    if (Number(row.member) === 1 && (row.sources ?? '').split(',').includes(SOURCE)) ok.add(Number(row.id));
  }
  const out = ids.filter((id) => ok.has(id));
  if (out.length !== ids.length)
    throw new Error(`only ${out.length} of ${ids.length} customers are eligible`);
  return out;
}

/** ENROL: customers with no issual yet (maxIssualsPerCustomer 1). EARN: their active issual. */
function plan(
  action: Action,
  customerIds: number[],
  stats: Stats[],
): { customerId: number; issualId: number }[] {
  const byCustomer = new Map(stats.map((s) => [Number(s.customer_id), s]));
  return customerIds.map((customerId) => {
    const s = byCustomer.get(customerId);
    if (action === 'ENROL') {
      if (s && Number(s.total) >= 1) throw new Error(`customer ${customerId} is already enrolled`);
      return { customerId, issualId: 0 };
    }
    if (!s || s.active_id === null) throw new Error(`customer ${customerId} is not enrolled`);
    return { customerId, issualId: Number(s.active_id) };
  });
}

function rowsOf(
  action: Action,
  orgId: number,
  promotionId: number,
  planned: { customerId: number; issualId: number }[],
  ids: number[],
): unknown[] {
  const at = Date.now();
  const requestId = randomUUID();
  const values: unknown[] = [];
  planned.forEach((p, i) => {
    values.push(orgId, at, CREATED_BY, requestId);
    pushOwn(values, action, promotionId, p, ids[i]);
  });
  return values;
}

/** A row's own values, after the ones every row of a batch shares. */
function pushOwn(
  values: unknown[],
  action: Action,
  promotionId: number,
  p: { customerId: number; issualId: number },
  id: number | undefined,
): void {
  values.push(id);
  if (action === 'EARN') values.push(p.issualId);
  values.push(promotionId, p.customerId, SOURCE);
}

/** rowsOf for SQLite's statement: the values the rows share, then each row's own (a full batch: no padding). */
function sqliteRowsOf(
  action: Action,
  orgId: number,
  promotionId: number,
  planned: { customerId: number; issualId: number }[],
  ids: number[],
): unknown[] {
  if (planned.length !== BATCH) throw new Error(`a batch of ${planned.length} customers, not ${BATCH}`);
  const values: unknown[] = [orgId, Date.now(), CREATED_BY, randomUUID()];
  planned.forEach((p, i) => {
    pushOwn(values, action, promotionId, p, ids[i]);
  });
  return values;
}

function sqliteRunner(job: BaselineJob): { run: BatchRunner; close: () => Promise<void> } {
  const db = new Database(job.target);
  // The pragmas of src/db/dialect/sqlite.dialect.ts, and its WAL checkpoints in a thread of their own.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  let failed: Error | undefined;
  const checkpointer = startCheckpointer(job.target, (error) => {
    failed = error;
  });
  db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`);
  const find = db.prepare(SQLITE_FIND);
  const statsOf = db.prepare(SQLITE_STATS);
  const earnCounts = db.prepare(SQLITE_EARN_COUNTS);
  const allocate = db.prepare(
    'update "id_sequences" set "value" = value + case name when ? then ? else 0 end where "name" in (?) returning "name", "value"',
  );
  const inserts = {
    issuals: db.prepare(sqliteInsertSql('issuals')),
    earns: db.prepare(sqliteInsertSql('earns')),
  };
  const events = db.prepare(SQLITE_EVENTS);
  const eventsAdvance = db.prepare(SQLITE_EVENTS_ADVANCE);
  const counts = db.prepare(countsSql(false));
  const begin = db.prepare('begin immediate');
  const commit = db.prepare('commit');
  const rollback = db.prepare('rollback');

  const savepoint = db.prepare('savepoint batch');
  const release = db.prepare('release batch');
  // As the server's group commit does: the savepoints' sub-journal in memory for the transaction.
  const tempMemory = db.prepare('pragma temp_store = MEMORY');
  const tempDefault = db.prepare('pragma temp_store = DEFAULT');

  const one = (action: Action, { promotionId, ids }: Batch) => {
    savepoint.run();
    const customers = eligible(find.all(job.programId, job.orgId, JSON.stringify(ids)) as Found[], ids);
    const chosen = JSON.stringify(customers);
    const stats = statsOf.all(job.orgId, promotionId, chosen) as Stats[];
    if (action === 'EARN') earnCounts.all(job.orgId, promotionId, chosen);
    const planned = plan(action, customers, stats);
    const table = action === 'ENROL' ? 'issuals' : 'earns';
    const row = allocate.get(table, planned.length, table) as { value: number };
    const newIds = planned.map((_, i) => row.value - planned.length + 1 + i);
    inserts[table].run(...sqliteRowsOf(action, job.orgId, promotionId, planned, newIds));
    const extras = extrasOf(action, job, promotionId, planned, newIds);
    const eventRows: unknown[] = [];
    extras.types.forEach((type, i) => {
      eventRows.push(i + 1, type, extras.data[i]);
    });
    events.run(job.orgId, extras.at, ...eventRows);
    eventsAdvance.run(planned.length);
    counts.run(...extras.counts);
    release.run();
  };
  const run: BatchRunner = (action, batches) => {
    if (failed) throw failed;
    tempMemory.run();
    begin.run();
    try {
      for (const batch of batches) one(action, batch);
      commit.run();
      checkpointer.committed();
    } catch (err) {
      rollback.run();
      throw err;
    } finally {
      tempDefault.run();
    }
  };
  const close = async () => {
    await checkpointer.stop();
    db.close();
  };
  return { run, close };
}

const PG_INT8_OID = 20;
const int8AsNumber = ((oid: number, format?: 'text' | 'binary') =>
  oid === PG_INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;

async function postgresRunners(
  job: BaselineJob,
): Promise<{ runs: BatchRunner[]; analyze: () => Promise<void>; close: () => Promise<void> }> {
  const clients = await Promise.all(
    Array.from({ length: job.connections }, async () => {
      const client = new pg.Client({ connectionString: job.target, types: { getTypeParser: int8AsNumber } });
      await client.connect();
      // BENCH_PLAN_CACHE_MODE=force_custom_plan: plan every execution afresh (no generic plans).
      if (process.env.BENCH_PLAN_CACHE_MODE) {
        await client.query(
          `set plan_cache_mode = ${client.escapeIdentifier(process.env.BENCH_PLAN_CACHE_MODE)}`,
        );
      }
      return client;
    }),
  );
  // Named statements, as the service sends them: parsed once per connection, and planned generically
  // after five runs. A generic plan made before the warm-up's ANALYZE is dropped by that ANALYZE.
  const q = {
    find: { name: 'bl_find', text: PG_FIND_LOCKED },
    ENROL: { name: 'bl_states_enrol', text: pgStatesSql(false) },
    EARN: { name: 'bl_states_earn', text: pgStatesSql(true) },
    ids: {
      name: 'bl_ids',
      text: 'select $1::text as name, nextval($2::regclass) as id from generate_series(1, $3::int)',
    },
    issuals: { name: 'bl_ins_issuals', text: insertSql('issuals', BATCH, true) },
    earns: { name: 'bl_ins_earns', text: insertSql('earns', BATCH, true) },
    events: { name: 'bl_events', text: PG_EVENTS },
    counts: { name: 'bl_counts', text: countsSql(true) },
  };
  const runs = clients.map((client): BatchRunner => {
    const one = async (action: Action, { promotionId, ids }: Batch) => {
      await client.query('begin');
      try {
        const found = await client.query<Found>({
          ...q.find,
          values: [job.programId, job.orgId, ids, promotionId],
        });
        const customers = eligible(found.rows, ids);
        const stats = await client.query<Stats>({
          ...q[action],
          values: [job.orgId, promotionId, customers],
        });
        const planned = plan(action, customers, stats.rows);
        const table = action === 'ENROL' ? 'issuals' : 'earns';
        const allocated = await client.query<{ id: number }>({
          ...q.ids,
          values: [table, `${table}_id_seq`, planned.length],
        });
        const newIds = allocated.rows.map((r) => Number(r.id));
        const extras = extrasOf(action, job, promotionId, planned, newIds);
        const eventValues: unknown[] = [job.orgId, extras.at];
        extras.types.forEach((type, i) => {
          eventValues.push(type, extras.data[i]);
        });
        for (let i = extras.types.length; i < BATCH; i++) eventValues.push(null, null);
        // The records, their events and the counters in one statement, as the service sends them
        // (StoreDialect.runWrites).
        const [writes] = joinedWrites([
          CompiledQuery.raw(q[table].text, rowsOf(action, job.orgId, promotionId, planned, newIds)),
          CompiledQuery.raw(q.events.text, eventValues),
          CompiledQuery.raw(q.counts.text, extras.counts),
        ]);
        if (!writes) throw new Error('the writes were not joined');
        await client.query({
          name: `bl_writes_${table}`,
          text: writes.sql,
          values: writes.parameters as unknown[],
        });
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      }
    };
    return async (action, batches) => {
      for (const batch of batches) await one(action, batch);
    };
  });
  const analyze = async () => {
    const client = new pg.Client({ connectionString: job.target });
    await client.connect();
    try {
      await client.query('analyze issuals, earns');
    } finally {
      await client.end();
    }
  };
  return { runs, analyze, close: async () => void (await Promise.all(clients.map((c) => c.end()))) };
}

async function phase(
  action: Action,
  job: BaselineJob,
  runs: BatchRunner[],
  slots: Slots,
  cycle: number | undefined,
  analyze?: () => Promise<void>,
): Promise<BaselinePhase> {
  const capacity = slotCapacity(slots);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;
  const latencies = new Samples();
  const timeline = new Timeline(measureFrom);
  let batches = 0;
  let exhausted = false;
  // Warm mode only: halfway through the warm-up, as run.ts does for the server.
  const analyzing =
    analyze && job.warmupMs > 0
      ? new Promise<void>((resolve, reject) =>
          setTimeout(() => analyze().then(resolve, reject), job.warmupMs / 2),
        ).catch((err: unknown) => console.warn(`baseline: ANALYZE during the warm-up failed: ${String(err)}`))
      : undefined;

  const walk = { next: 0 };
  async function worker(run: BatchRunner): Promise<void> {
    while (performance.now() < end) {
      const group = takeGroup(action, job.group, slots, capacity, cycle, walk);
      if (group.length < job.group && action === 'ENROL') exhausted = true;
      if (group.length === 0) return;
      const t0 = performance.now();
      await run(action, group);
      const t1 = performance.now();
      // Every batch of a group waits for the group's commit, as a request does in the service.
      if (t1 >= measureFrom && t1 <= end) {
        batches += group.length;
        timeline.add(t1, group.length);
        for (let i = 0; i < group.length; i++) latencies.push(t1 - t0);
      }
      if (exhausted) return;
    }
  }

  await Promise.all(runs.map(worker));
  await analyzing;
  const seconds = (Math.min(performance.now(), end) - measureFrom) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return {
    action,
    seconds: round(seconds, 3),
    batches,
    batchesPerSecond: seconds > 0 ? round(batches / seconds, 1) : 0,
    customersPerSecond: seconds > 0 ? round((batches * BATCH) / seconds, 0) : 0,
    latency: summarize(latencies.values()),
    perSecond: timeline.perSecond(job.durationMs / 1000),
    batchesSent: walk.next,
    exhausted,
    cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
  };
}

/**
 * The next `size` batches of the walk (fewer once an ENROL walk has no fresh customers left); EARN
 * cycles over the first `cycle` batches.
 */
function takeGroup(
  action: Action,
  size: number,
  slots: Slots,
  capacity: number,
  cycle: number | undefined,
  walk: { next: number },
): Batch[] {
  const group: Batch[] = [];
  while (group.length < size) {
    if (action === 'ENROL' && walk.next >= capacity) break;
    const k = walk.next++;
    const slot = batchAt(slots, cycle === undefined ? k : k % cycle);
    if (!slot) throw new Error(`batch ${k} is outside the walk`);
    group.push({
      promotionId: slot.promotionId,
      ids: Array.from({ length: BATCH }, (_, i) => slot.firstId + i),
    });
  }
  return group;
}

/**
 * The closed loop a turn at a time, as run.ts gives them (TurnMessage): each turn sends batches for
 * `ms`, then waits for the last commit. Each action's walk goes on from turn to turn: ENROL takes
 * fresh customers, EARN cycles over those the ENROL turns enrolled.
 */
async function inTurns(job: BaselineJob, runs: BatchRunner[]): Promise<void> {
  const capacity = slotCapacity(job.slots);
  const walks = { ENROL: { next: 0 }, EARN: { next: 0 } };
  await takeTurns(async ({ action, ms }) => {
    const cycle = action === 'EARN' ? Math.max(1, walks.ENROL.next) : undefined;
    const t0 = performance.now();
    const until = t0 + ms;
    let good = 0;
    await Promise.all(
      runs.map(async (run) => {
        while (performance.now() < until) {
          const group = takeGroup(action, job.group, job.slots, capacity, cycle, walks[action]);
          if (group.length === 0) return;
          await run(action, group);
          good += group.length;
        }
      }),
    );
    return { good, seconds: (performance.now() - t0) / 1000 };
  });
}

/** What a baseline in turns answers at the end: its figures went out turn by turn. */
const NO_PHASE: BaselinePhase = {
  action: 'ENROL',
  seconds: 0,
  batches: 0,
  batchesPerSecond: 0,
  customersPerSecond: 0,
  latency: summarize(new Samples().values()),
  perSecond: [],
  batchesSent: 0,
  exhausted: false,
  cpuSeconds: 0,
};

/**
 * The raw store at a fixed rate, as the service's open-loop phases are run: batch k is due at
 * start + k / rate and queued then; the runners take what is queued (SQLite's one writer up to
 * `group` batches a commit, PostgreSQL's connections one each), and a batch's latency runs from when
 * it was due to its commit. What this shows is the store's own tail at that rate (its commits' syncs,
 * its checkpoints), with no HTTP and no service code: the floor under the service's.
 */
async function openPhase(
  action: Action,
  job: BaselineJob,
  runs: BatchRunner[],
  rate: number,
  firstBatch: number,
  cycle: number | undefined,
): Promise<BaselineOpenPhase> {
  const capacity = slotCapacity(job.slots);
  const start = performance.now();
  const measureFrom = start + (job.openLoop?.settleMs ?? 0);
  const end = measureFrom + job.durationMs;
  const latencies = new Samples();
  const late = new Samples();
  const timeline = new Timeline(measureFrom);
  const stalls = new Stalls(measureFrom);
  const queue: { batch: Batch; due: number; inWindow: boolean }[] = [];
  // Runners with nothing queued wait here; a queued batch wakes one, the timetable's end all.
  const idle: (() => void)[] = [];
  let done = false;
  let next = firstBatch;
  let due = 0;
  let exhausted = false;

  async function runner(run: BatchRunner): Promise<void> {
    for (;;) {
      if (queue.length === 0) {
        if (done) return;
        await new Promise<void>((resolve) => idle.push(resolve));
        continue;
      }
      const taken = queue.splice(0, job.group);
      await run(
        action,
        taken.map((t) => t.batch),
      );
      const t1 = performance.now();
      for (const t of taken) {
        if (!t.inWindow) continue;
        latencies.push(t1 - t.due);
        stalls.add(t.due, t1 - t.due);
        timeline.add(t1);
      }
    }
  }

  async function timetable(): Promise<void> {
    const interval = 1000 / rate;
    for (let k = 0; ; k++) {
      const at = start + k * interval;
      if (at >= end) break;
      const wait = at - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (action === 'ENROL' && next >= capacity) {
        exhausted = true;
        break;
      }
      const n = next++;
      // As the load generator walks: EARN cycles over the batches enrolled before it (cycle).
      const slot = batchAt(job.slots, cycle === undefined ? n : n % cycle);
      if (!slot) throw new Error(`batch ${n} is outside the walk`);
      const inWindow = at >= measureFrom;
      if (inWindow) {
        due++;
        late.push(performance.now() - at);
      }
      queue.push({
        batch: {
          promotionId: slot.promotionId,
          ids: Array.from({ length: BATCH }, (_, i) => slot.firstId + i),
        },
        due: at,
        inWindow,
      });
      idle.shift()?.();
    }
    done = true;
    for (const wake of idle.splice(0)) wake();
  }

  await Promise.all([timetable(), ...runs.map(runner)]);
  return {
    action,
    rate,
    due,
    latency: summarize(latencies.values()),
    perSecond: timeline.perSecond(job.durationMs / 1000),
    stalls: stalls.report(job.durationMs / 1000),
    sendLate: summarize(late.values()),
    batchesSent: next,
    exhausted,
  };
}

/** The open-loop phases after the closed-loop ones, walking on where the closed-loop ENROL stopped. */
async function openPhases(
  job: BaselineJob,
  runs: BatchRunner[],
  enrol: BaselinePhase,
  earn: BaselinePhase,
): Promise<Pick<BaselineResult, 'openEnrol' | 'openEarn'>> {
  const open = job.openLoop;
  if (!open) return {};
  const rateOf = (closed: BaselinePhase) =>
    open.rate ?? (open.share ? openLoopRateOf(closed.batchesPerSecond, open.share) : 0);
  const enrolRate = rateOf(enrol);
  const earnRate = rateOf(earn);
  if (!(enrolRate > 0 && earnRate > 0)) return {};
  const openEnrol = await openPhase('ENROL', job, runs, enrolRate, enrol.batchesSent, undefined);
  // Earns for the customers the open-loop ENROL just enrolled: a customer's first earn, as in the
  // service's open-loop EARN (bench/run.ts).
  const openEarn = await openPhase('EARN', job, runs, earnRate, enrol.batchesSent, openEnrol.batchesSent);
  return { openEnrol, openEarn };
}

async function run(job: BaselineJob): Promise<BaselineResult> {
  if (job.store === 'sqlite') {
    const { run: runBatch, close } = sqliteRunner(job);
    try {
      if (job.turns) {
        await inTurns(job, [runBatch]);
        return { concurrency: 1, batchesPerCommit: job.group, enrol: NO_PHASE, earn: NO_PHASE };
      }
      // One writer: the batches run one after another (each call is synchronous).
      const enrol = await phase('ENROL', job, [runBatch], job.slots, undefined);
      const earn = await phase('EARN', job, [runBatch], job.slots, enrol.batchesSent);
      const open = await openPhases(job, [runBatch], enrol, earn);
      return { concurrency: 1, batchesPerCommit: job.group, enrol, earn, ...open };
    } finally {
      await close();
    }
  }
  const { runs, analyze, close } = await postgresRunners(job);
  const maybe = job.analyze ? analyze : undefined;
  try {
    if (job.turns) {
      await inTurns(job, runs);
      return { concurrency: runs.length, batchesPerCommit: 1, enrol: NO_PHASE, earn: NO_PHASE };
    }
    const enrol = await phase('ENROL', job, runs, job.slots, undefined, maybe);
    const earn = await phase('EARN', job, runs, job.slots, enrol.batchesSent, maybe);
    const open = await openPhases(job, runs, enrol, earn);
    return { concurrency: runs.length, batchesPerCommit: 1, enrol, earn, ...open };
  } finally {
    await close();
  }
}

serveOneJob(run);
