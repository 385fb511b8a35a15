// Where a bulk request's statements go: `node --import tsx bench/statement-times.ts --store sqlite|postgres
// [--customers N] [--in-flight C] [--requests R] [--pg-url URL]`. Runs the real app in this process on
// a fresh store (a temporary SQLite file, or a database of its own on the PostgreSQL server), seeds it
// through the management API, then sends 100-customer ENROL and EARN requests, C at a time, and times
// every statement the store driver runs: on SQLite the thread's CPU time inside the driver (a wait for
// the CPU does not count, so a busy machine moves the figures less), on PostgreSQL the wall time from
// sending a statement to its answer (round trip and waits included). Prints each statement's cost a
// request, largest first, and the process's CPU time a request. Not part of `npm run bench`: its
// figures are per statement, not throughput.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  type SqliteDatabase as KyselySqlite,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  SqliteDialect,
} from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { defineConfig, type StoreConfig } from '../src/config.js';
import type { Store } from '../src/db/database.js';
import { postgresDialect } from '../src/db/dialect/postgres.dialect.js';
import { sqliteDialect } from '../src/db/dialect/sqlite.dialect.js';
import { migrateToLatest } from '../src/db/migrator.js';
import type { Database } from '../src/db/schema.js';
import { cachingSqlite, namedStatementPool } from '../src/db/statement-cache.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    customers: { type: 'string', default: '100000' },
    'in-flight': { type: 'string', default: '16' },
    requests: { type: 'string', default: '400' },
    'pg-url': { type: 'string' },
  },
});
const kind = values.store;
if (kind !== 'sqlite' && kind !== 'postgres') throw new Error('--store must be sqlite or postgres');
const CUSTOMERS = Number(values.customers);
const IN_FLIGHT = Number(values['in-flight']);
const REQUESTS = Number(values.requests);
const PG_URL = values['pg-url'] ?? process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = `statement-times-${createHash('sha1').update(String(process.pid)).digest('hex')}`;

interface Tally {
  count: number;
  ns: bigint;
}
const tallies = new Map<string, Tally>();
let counting = false;

function record(text: string, ns: bigint): void {
  if (!counting) return;
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 80);
  const tally = tallies.get(key) ?? { count: 0, ns: 0n };
  tally.count++;
  tally.ns += ns;
  tallies.set(key, tally);
}

/** Runs `fn`, recording the thread's CPU time it took against `text`. */
function cpuTimed<T>(text: string, fn: () => T): T {
  const start = process.cpuUsage();
  try {
    return fn();
  } finally {
    const used = process.cpuUsage(start);
    record(text, BigInt(used.user + used.system) * 1000n);
  }
}

function openSqlite(): { store: Store; config: StoreConfig; drop: () => Promise<void> } {
  const filename = path.join(tmpdir(), `lp-statement-times-${process.pid}.db`);
  const database = new SqliteDatabase(filename);
  // The pragmas of src/db/dialect/sqlite.dialect.ts.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const cached = cachingSqlite(database);
  const timed: KyselySqlite = {
    close: () => cached.close(),
    prepare(text) {
      const statement = cached.prepare(text);
      return {
        reader: statement.reader,
        all: (parameters) => cpuTimed(text, () => statement.all(parameters)),
        run: (parameters) => cpuTimed(text, () => statement.run(parameters)),
        iterate: (parameters) => statement.iterate(parameters),
      };
    },
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: timed }) });
  return {
    store: { db, dialect: sqliteDialect, destroy: () => db.destroy() },
    config: { kind: 'sqlite', filename },
    drop: async () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
    },
  };
}

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function openPostgres(): Promise<{ store: Store; config: StoreConfig; drop: () => Promise<void> }> {
  const name = `lp_statement_times_${process.pid}`;
  await admin(`create database ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const connectionString = url.toString();
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const named = namedStatementPool(pool);
  const timedClient = (client: PostgresPoolClient): PostgresPoolClient => ({
    query: (async (text: string, parameters: readonly unknown[]) => {
      const start = process.hrtime.bigint();
      try {
        return await client.query(text, parameters);
      } finally {
        record(text, process.hrtime.bigint() - start);
      }
    }) as unknown as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy),
  });
  const timed: PostgresPool = {
    connect: async () => timedClient(await named.connect()),
    end: () => named.end(),
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: timed }) });
  return {
    store: { db, dialect: postgresDialect, destroy: () => db.destroy() },
    config: { kind: 'postgres', connectionString, poolSize: 10 },
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

const { store, config, drop } = kind === 'sqlite' ? openSqlite() : await openPostgres();
try {
  await migrateToLatest(store.db);
  const app = await buildApp(defineConfig({ adminToken: TOKEN, store: config }), { store, logger: false });
  await app.ready();
  const post = async (url: string, body: string, authorization: string) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { authorization, 'content-type': 'application/json' },
      payload: body,
    });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return res;
  };
  const adminPost = async (url: string, body: unknown) =>
    (await post(url, typeof body === 'string' ? body : JSON.stringify(body), `Bearer ${TOKEN}`)).json();

  const org = await adminPost('/admin/v1/orgs', { name: 'Statement times' });
  const base = `/admin/v1/orgs/${org.id}`;
  const program = await adminPost(`${base}/programs`, { name: 'Main' });
  const promotions: number[] = [];
  for (let i = 0; i < 4; i++) {
    const promotion = await adminPost(`${base}/promotions`, {
      programId: program.id,
      name: `Promotion ${i + 1}`,
      type: 'ENROL_AND_ISSUE',
      maxIssualsPerCustomer: 1,
      maxEarnsPerCustomer: null,
    });
    promotions.push(promotion.id);
  }
  await adminPost(`${base}/tills`, {
    username: 'times-till',
    password: 'times-till-password',
    customerAccess: 'WRITE',
  });
  const md5 = createHash('md5').update('times-till-password').digest('hex');
  const till = `Basic ${Buffer.from(`times-till:${md5}`).toString('base64')}`;
  for (let first = 1; first <= CUSTOMERS; first += 10_000) {
    const ids = Array.from({ length: Math.min(10_000, CUSTOMERS - first + 1) }, (_, i) => first + i);
    await adminPost(`${base}/customers`, {
      customers: ids.map((id) => ({ id, programIds: [program.id] })),
    });
  }

  const perPromotion = Math.floor(CUSTOMERS / 100);
  const body = (action: string, k: number) => {
    const promotionId = promotions[Math.floor(k / perPromotion) % promotions.length];
    const first = (k % perPromotion) * 100 + 1;
    const customers = Array.from({ length: 100 }, (_, i) => ({
      identifierValue: String(first + i),
      source: 'INSTORE',
    }));
    return JSON.stringify({
      type: 'CUSTOMER',
      bulkAction: action,
      promotionDetails: { programId: program.id, promotionId },
      identifierName: 'id',
      customers,
    });
  };

  const phase = async (action: 'ENROL' | 'EARN', offset: number) => {
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const res = await post('/v2/promotion/bulk/enrolAndEarn', body(action, offset + next++), till);
        if (!res.body.includes('"failureCount":0')) throw new Error(`${action}: ${res.body.slice(0, 300)}`);
      }
    };
    tallies.clear();
    counting = true;
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const cpu = process.cpuUsage(cpuStart);
    const ms = performance.now() - started;
    counting = false;
    const rows = [...tallies.entries()].sort((a, b) => Number(b[1].ns - a[1].ns));
    const total = rows.reduce((sum, [, t]) => sum + Number(t.ns), 0);
    const unit = kind === 'sqlite' ? 'CPU' : 'wall';
    console.log(
      `\n== ${kind} ${action}: ${REQUESTS} requests, ${IN_FLIGHT} in flight, ${Math.round((REQUESTS / ms) * 1000)} req/s; ` +
        `statements ${(total / 1e6 / REQUESTS).toFixed(2)} ms of ${unit} a request; the process ` +
        `${((cpu.user + cpu.system) / 1e3 / REQUESTS).toFixed(2)} ms of CPU a request (all its threads, ` +
        'the request injected without a socket)',
    );
    console.log('µs a request   runs a request   µs each   statement');
    for (const [text, t] of rows) {
      const perRequest = Number(t.ns) / 1e3 / REQUESTS;
      const each = Number(t.ns) / 1e3 / t.count;
      console.log(
        `${perRequest.toFixed(0).padStart(12)}   ${(t.count / REQUESTS).toFixed(3).padStart(14)}   ${each.toFixed(0).padStart(7)}   ${text}`,
      );
    }
  };
  await phase('ENROL', 0);
  await phase('EARN', 0);
  await app.close();
} finally {
  await store.destroy().catch(() => undefined);
  await drop();
}
