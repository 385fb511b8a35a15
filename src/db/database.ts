import type { RawBuilder, SqlBool } from 'kysely';
import type { Store, StoreDialect, Trx } from './dialect/store-dialect.js';

export { createStore, dialectFor, opensAgain } from './dialect/open-store.js';
export type { Db, PoolStats, Store, StoreDialect, StoreOptions, Trx } from './dialect/store-dialect.js';
/** What the store speaks: every difference between PostgreSQL and SQLite (see dialect/store-dialect.ts). */
export type Dialect = StoreDialect;

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

/**
 * Runs `fn` all or nothing. On PostgreSQL it is one transaction. On SQLite it is one savepoint of a
 * group transaction that takes the write lock at its start (BEGIN IMMEDIATE, so reads inside are
 * never stale against another writer process) and commits the requests that arrived together at once.
 */
export async function writeTransaction<T>(store: Store, fn: (trx: Trx) => Promise<T>): Promise<T> {
  const listener = transactionListeners.get(store);
  if (!listener) return store.dialect.writeTransaction(store.db, fn);
  const started = process.hrtime.bigint();
  let committed = false;
  try {
    const result = await store.dialect.writeTransaction(store.db, fn);
    committed = true;
    return result;
  } finally {
    listener(Number(process.hrtime.bigint() - started) / 1e9, committed);
  }
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
  return dialect.oneOf(column, values);
}

/**
 * Inside a write transaction: waits until no other transaction holds the lock of `kind`. Unique
 * indexes lead with org_id, so names that must be unique across orgs are guarded this way. SQLite's
 * write transactions are serial already.
 */
export function lockKind(trx: Trx, dialect: Dialect, kind: string): Promise<void> {
  return dialect.lockKind(trx, kind);
}
