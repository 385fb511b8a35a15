import type { CompiledQuery, Kysely, RawBuilder, SelectQueryBuilder, SqlBool } from 'kysely';
import type { Database } from '../schema.js';

export type Db = Kysely<Database>;
/** A query builder bound to one open transaction. */
export type Trx = Kysely<Database>;

export type DialectName = 'sqlite' | 'postgres';
export type SequenceName =
  | 'orgs'
  | 'programs'
  | 'promotions'
  | 'customers'
  | 'issuals'
  | 'earns'
  | 'audit'
  | 'jobs';

/** A connected store: the query builder, the dialect it speaks, and how to close it. */
export interface Store {
  readonly db: Db;
  readonly dialect: StoreDialect;
  destroy(): Promise<void>;
  /**
   * SQLite (a file): the buffer through which connections to it from other threads of this process
   * take turns with this store's writes (given to them as StoreOptions.sqliteGuestOf).
   */
  readonly writerTurns?: SharedArrayBuffer;
  /**
   * SQLite with StoreOptions.sqliteSyncOffThread: resolves once every commit made so far is on disk,
   * or its sync failed (its writes were answered with that failure): it never rejects. Undefined when
   * nothing is pending. The server's answers wait for it, so that none shows what a power cut could
   * still take back.
   */
  durable?(): Promise<void> | undefined;
  /** PostgreSQL: the connection pool's figures, for metrics (absent on SQLite, which has no pool). */
  poolStats?(): PoolStats;
  /**
   * Calls `onMessage` with the payload of every notification sent on `channel` by any process
   * (PostgreSQL LISTEN, on a connection of its own that reconnects with backoff), and `onConnected`
   * after each (re)connection, since what was sent while it was down is lost. Absent where no other
   * process writes the store (SQLite), and behind a transaction pooler with no direct URL to listen
   * on (LOYALTY_PG_LISTEN_URL). Answers the function that stops listening.
   */
  listen?(
    channel: string,
    onMessage: (payload: string) => void,
    onConnected?: () => void,
  ): () => Promise<void>;
}

export interface PoolStats {
  /** Connections open, idle or busy. */
  total: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

export interface StoreOptions {
  /** Called with the SQL and parameters of every statement sent to the store (tests count and explain them). */
  onQuery?: (sqlText: string, parameters: readonly unknown[]) => void;
  /**
   * Told of errors of connections the requests do not wait on: PostgreSQL's idle ones (a restarted
   * server, say), which the pool replaces itself; SQLite's checkpoint thread, whose work the commits
   * then take back.
   */
  onIdleError?: (err: Error) => void;
  /**
   * SQLite: this store is another thread's connection to the file of the store whose `writerTurns`
   * this is, and its writes take turns with that store's (see sqlite-group-commit.ts).
   */
  sqliteGuestOf?: SharedArrayBuffer | undefined;
  /**
   * SQLite (a file): checkpoint the WAL in a thread of its own rather than in the commit that fills
   * it (see sqlite-checkpointer.ts). The server's store does; short-lived commands need not.
   */
  sqliteCheckpointThread?: boolean;
  /**
   * SQLite (a file): the group commits sync the WAL on libuv's thread pool rather than on the
   * requests' thread, and answer once it returned (see sqlite-wal-sync.ts). The server's store does.
   */
  sqliteSyncOffThread?: boolean;
}

/** A customer found by an identifier, with what the bulk path checks of them. */
export interface CustomerLookupRow {
  id: number;
  /** The identifier as stored, which the key matched. */
  key: string | number;
  /** In the program (a boolean, or 0/1 on SQLite). */
  member: unknown;
  /** The customer's sources joined with commas; null if none. */
  sources: string | null;
}

/** A column of rows sent as parameters (see StoreDialect.rowsInsert). */
export interface SourceColumn {
  name: string;
  type: 'bigint' | 'text';
}

/** A column whose value is the same in every row of an insert (see StoreDialect.rowsInsert). */
export interface FixedColumn {
  name: string;
  value: number | string;
}

/**
 * A customer's issuals and earns in one promotion. A null field was not read by that row (SQLite reads
 * issuals and earns in two statements), or the customer has none.
 */
export interface CustomerStateRow {
  customer_id: number;
  total: number | null;
  active_id: number | null;
  active_earns: number | null;
}

/**
 * Everything in which PostgreSQL and SQLite differ, as Kysely's DialectAdapter holds it for Kysely:
 * repositories and services call these and never ask which store they run on. Each statement keeps
 * one shape whatever the number of values, so that the store reuses its prepared statement.
 */
export interface StoreDialect {
  readonly name: DialectName;
  /** One file inside this process (where the demo data belongs), not a server shared with others. */
  readonly embedded: boolean;
  /** Several server processes may write to it at once (`loyalty serve --workers`). */
  readonly sharedByProcesses: boolean;

  /** Runs `fn` all or nothing (see writeTransaction in db/database.ts). */
  writeTransaction<T>(db: Db, fn: (trx: Trx) => Promise<T>): Promise<T>;

  /** `column` is one of `values`: one list parameter. */
  oneOf(column: string, values: readonly (number | string)[]): RawBuilder<SqlBool>;
  /**
   * A condition on `table` (named `alias` in the statement) that holds for its rows in the org whose
   * `column` is one of `keys`, for reads, updates and deletes alike: one index probe per key whatever
   * the statistics say (see findCustomers for why a plain list is not enough on PostgreSQL).
   */
  keyedRows(
    table: string,
    alias: string,
    orgId: number,
    column: string,
    keys: readonly (number | string)[],
  ): RawBuilder<SqlBool>;
  /** The values of `column` over the rows of `from` (`from ... where ...`), joined with commas; null if none. */
  textList(column: string, from: RawBuilder<unknown>): RawBuilder<string | null>;
  /**
   * The insert of `rows` into `table` (for runWrites): one statement, of a shape that does not change
   * with each count (the store compiles it once), where each row is the `fixed` values, which all
   * rows share, then its own values of `columns`. The first of `columns` is never null (an id).
   */
  rowsInsert(
    db: Db | Trx,
    table: 'issuals' | 'earns',
    fixed: readonly FixedColumn[],
    columns: readonly SourceColumn[],
    rows: readonly (readonly (number | string)[])[],
  ): CompiledQuery[];

  /**
   * Inside a write transaction: sends writes whose results nobody reads. PostgreSQL sends writes of
   * different tables as one statement (each but the last a WITH part: one round trip, where each
   * statement of a request costs the server a wake-up of PostgreSQL); such parts run in no set
   * order and none sees another's rows, so writes of one table go one after another, in turn.
   * SQLite, in the same process, sends them in turn.
   */
  runWrites(trx: Trx, queries: readonly CompiledQuery[]): Promise<void>;

  /** Inside a write transaction: waits until no other transaction holds the lock of `kind`. */
  lockKind(trx: Trx, kind: string): Promise<void>;

  /** `n` fresh ids from each named sequence, in one statement. */
  nextIds(trx: Trx, wanted: readonly (readonly [SequenceName, number])[]): Promise<[SequenceName, number][]>;
  /** Moves the sequence past `maxId` when it is behind it. */
  advanceSequence(trx: Trx, name: SequenceName, maxId: number): Promise<void>;
  /** Where each sequence stands, as digits (a counter may be past what a double holds). */
  sequenceCounters(db: Db): Promise<{ name: string; value: string }[]>;

  /**
   * The org's customers whose `column` (c.id, c.mobile or c.email) is one of `keys`, each with
   * whether they are in the program and their sources: a few index probes per key, whatever the
   * statistics say (no plan reads the org's every customer or member).
   *
   * With `lockPromotionId`, it also holds a lock on each found customer's pair (promotion, customer)
   * until the transaction ends, so that two requests for the same customers of a promotion never
   * both read their states before either wrote. PostgreSQL takes the locks in the same statement,
   * in key order (two requests over overlapping customers never deadlock): a round trip fewer than
   * a statement of their own. SQLite's one writer runs one transaction at a time and needs none.
   */
  findCustomers(
    trx: Trx,
    orgId: number,
    programId: number,
    column: string,
    keys: readonly (number | string)[],
    lockPromotionId?: number,
  ): Promise<CustomerLookupRow[]>;

  /** Each customer's issual count and active issual in the promotion, and with `countEarns` active earns. */
  customerStates(
    trx: Trx,
    orgId: number,
    promotionId: number,
    customerIds: readonly number[],
    countEarns: boolean,
  ): Promise<CustomerStateRow[]>;

  /**
   * A select's row lock until the transaction ends: `FOR UPDATE`, with `skipLocked` also `SKIP LOCKED`
   * (rows another transaction holds are passed over, not waited for) on PostgreSQL; nothing on SQLite,
   * whose write transactions are serial already.
   */
  forUpdate<Q extends SelectQueryBuilder<Database, keyof Database, object>>(query: Q, skipLocked: boolean): Q;

  /**
   * Inside a write transaction: tells every process listening on `channel` (Store.listen) once the
   * transaction commits, and nothing if it rolls back. Nothing on a store no other process writes.
   */
  notify(trx: Trx, channel: string, payload: string): Promise<void>;

  /** Refreshes the statistics of those of `tables` that changed much since; returns their names. */
  refreshStatistics(db: Db, tables: readonly string[]): Promise<string[]>;

  /**
   * The insert of one transaction's events for one org, (types[i], data[i]), for runWrites: one
   * statement (on SQLite a second moves the id counter past them). Each row records its writing
   * transaction's id (xid) beside its own id; the feed reads in (xid, id) order.
   */
  eventsInsert(orgId: number, at: number, types: readonly string[], data: readonly string[]): CompiledQuery[];
  /**
   * Events whose xid is below this have writers that have all ended: the feed reads only those, so
   * that an event committed later never sorts before one already read (see the PostgreSQL dialect).
   */
  readonly eventHorizon: RawBuilder<number>;
  /** Ends a `select` that claims rows, so that claimers in other processes pass over locked ones. */
  readonly skipLocked: RawBuilder<unknown>;
}
