import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  type LogEvent,
  PostgresDialect,
  type RawBuilder,
  type SqlBool,
  SqliteDialect,
  sql,
} from 'kysely';
import pg from 'pg';
import type { StoreConfig } from '../config.js';
import type { Database } from './schema.js';
import { SqliteGroupCommit } from './sqlite-group-commit.js';
import { cachingSqlite, namedStatementPool } from './statement-cache.js';
import { CommitOutcomeUnknown, commitMayHaveHappened } from './store-errors.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
/** A query builder bound to one open transaction. */
export type Trx = Kysely<Database>;

/** A connected store: the query builder, which dialect it speaks, and how to close it. */
export interface Store {
  readonly db: Db;
  readonly dialect: Dialect;
  destroy(): Promise<void>;
  /** PostgreSQL: the connection pool's figures, for metrics (absent on SQLite, which has no pool). */
  poolStats?(): PoolStats;
}

export interface PoolStats {
  /** Connections open, idle or busy. */
  total: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

/** Told how long each write transaction took, in seconds, and whether it committed. */
export type TransactionListener = (seconds: number, committed: boolean) => void;
const transactionListeners = new WeakMap<Store, TransactionListener>();

/** Times every write transaction of `store` (metrics); returns the function that stops it. */
export function observeTransactions(store: Store, listener: TransactionListener): () => void {
  transactionListeners.set(store, listener);
  return () => {
    if (transactionListeners.get(store) === listener) transactionListeners.delete(store);
  };
}

export interface StoreOptions {
  /** Called with the SQL of every statement sent to the store (tests count them). */
  onQuery?: (sqlText: string) => void;
  /** Told of errors of idle connections (a restarted server, say); the pool replaces them itself. */
  onIdleError?: (err: Error) => void;
}

const PG_INT8_OID = 20;

export function createStore(config: StoreConfig, options: StoreOptions = {}): Store {
  const log = options.onQuery
    ? (event: LogEvent) => {
        if (event.level === 'query') options.onQuery?.(event.query.sql);
      }
    : undefined;

  if (config.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: config.connectionString,
      max: config.poolSize,
      // While the store is down, a request fails fast with 503 rather than waiting without end.
      connectionTimeoutMillis: 5_000,
      // Ids and epoch milliseconds are bigint columns; all of them fit in a double.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === PG_INT8_OID
            ? Number
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // Without a listener, an idle connection that the server drops would crash the process.
    pool.on('error', (err) => options.onIdleError?.(err));
    // A connection in use has no pool listener: a server ending it between two statements (an admin
    // shutdown, a restart) emitted an unhandled 'error' and crashed the process. Now the statement
    // that follows fails (a 503), and the pool drops the broken connection when it is released.
    pool.on('connect', (client) => {
      client.on('error', () => undefined);
    });
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: namedStatementPool(pool) }),
      ...(log ? { log } : {}),
    });
    return {
      db,
      dialect: 'postgres',
      destroy: () => db.destroy(),
      poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    };
  }

  if (config.filename !== ':memory:')
    mkdirSync(path.dirname(path.resolve(config.filename)), { recursive: true });
  const database = new SqliteDatabase(config.filename);
  // Durability first: WAL with synchronous=FULL means an acknowledged commit survives a power cut.
  if (config.filename !== ':memory:') database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  // Another process (say `loyalty seed` beside a running server) may hold the write lock for a moment.
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: cachingSqlite(database) }),
    ...(log ? { log } : {}),
  });
  return { db, dialect: 'sqlite', destroy: () => db.destroy() };
}

/**
 * Runs `fn` all or nothing. On PostgreSQL it is one transaction. On SQLite it is one savepoint of a
 * group transaction that takes the write lock at its start (BEGIN IMMEDIATE, so reads inside are
 * never stale against another writer process) and commits the requests that arrived together at once.
 */
export async function writeTransaction<T>(store: Store, fn: (trx: Trx) => Promise<T>): Promise<T> {
  const listener = transactionListeners.get(store);
  if (!listener) return runWriteTransaction(store, fn);
  const started = process.hrtime.bigint();
  let committed = false;
  try {
    const result = await runWriteTransaction(store, fn);
    committed = true;
    return result;
  } finally {
    listener(Number(process.hrtime.bigint() - started) / 1e9, committed);
  }
}

// One group committer per SQLite store (see sqlite-group-commit.ts); PostgreSQL groups commits itself.
const groupCommits = new WeakMap<Store, SqliteGroupCommit<Database>>();

async function runWriteTransaction<T>(store: Store, fn: (trx: Trx) => Promise<T>): Promise<T> {
  if (store.dialect === 'postgres') {
    let committing = false;
    try {
      return await store.db.transaction().execute(async (trx) => {
        const result = await fn(trx);
        committing = true;
        return result;
      });
    } catch (err) {
      // Lost between sending COMMIT and hearing back, the writes may be there or not. SQLite cannot
      // end up here: its COMMIT runs in this process, and one that fails is rolled back.
      if (committing && commitMayHaveHappened(err)) throw new CommitOutcomeUnknown(err);
      throw err;
    }
  }
  let writer = groupCommits.get(store);
  if (!writer) {
    writer = new SqliteGroupCommit(store.db);
    groupCommits.set(store, writer);
  }
  return writer.run(fn);
}

/**
 * `column` is one of `values`, as one statement shape whatever the number of values (an array
 * parameter on PostgreSQL, a JSON one on SQLite), so that the store can reuse its prepared statement.
 */
export function oneOf(
  dialect: Dialect,
  column: string,
  values: readonly (number | string)[],
): RawBuilder<SqlBool> {
  if (dialect === 'postgres') {
    const type = typeof values[0] === 'string' ? sql`text[]` : sql`bigint[]`;
    return sql<SqlBool>`${sql.ref(column)} = any(${values}::${type})`;
  }
  return sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`;
}

/**
 * Inside a write transaction: waits until no other transaction holds the lock of `kind`. Unique
 * indexes lead with org_id, so names that must be unique across orgs are guarded this way. SQLite's
 * write transactions are serial already.
 */
export async function lockKind(trx: Trx, dialect: Dialect, kind: string): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(hashtext(${`loyalty:${kind}`}))`.execute(trx);
}
