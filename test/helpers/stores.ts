import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { StoreConfig } from '../../src/config.js';
import { createStore, type Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';

export type StoreKind = 'sqlite' | 'postgres';

const KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

/**
 * The store kinds a TEST_STORES value names, in its order. A name that is neither `sqlite` nor
 * `postgres` (a typo such as `pg`), or a value naming none, is an error: dropping it would run
 * fewer suites than asked for, and the run would still pass.
 */
export function parseTestStores(text: string): StoreKind[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((s) => !KINDS.includes(s as StoreKind));
  if (unknown.length > 0 || names.length === 0)
    throw new Error(
      `TEST_STORES=${JSON.stringify(text)} ${unknown.length > 0 ? `names unknown stores (${unknown.join(', ')})` : 'names no store'}: ` +
        `give a comma-separated list of ${KINDS.join(' and ')}.`,
    );
  return [...new Set(names as StoreKind[])];
}

/**
 * The stores every suite runs against: both by default. TEST_STORES=sqlite narrows it on purpose;
 * an unreachable PostgreSQL otherwise fails the suite rather than skipping it.
 */
export const STORES: readonly StoreKind[] = parseTestStores(process.env.TEST_STORES ?? 'sqlite,postgres');

/**
 * The LOYALTY_SECRET_KEY of the test apps and of every `loyalty` process a test starts (cleanEnv), so
 * that an app and a process on one store open each other's sealed secrets. Public: tests only.
 */
export const TEST_SECRET_KEY = 'dGVzdC1vbmx5LWxveWFsdHktc2VjcmV0LWtleS0zMmI';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  store: Store;
  config: StoreConfig;
  /** Closes the store and drops its database. */
  dispose(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (${(err as Error).message}). Start it, point TEST_DATABASE_URL ` +
        'at one, or run only the SQLite suite with TEST_STORES=sqlite.',
    );
  }
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function onServer(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh, migrated database of the given kind, private to the caller. */
export async function openTestStore(
  kind: StoreKind,
  onQuery?: (sql: string, parameters: readonly unknown[]) => void,
): Promise<TestStore> {
  if (kind === 'sqlite') {
    const config: StoreConfig = { kind: 'sqlite', filename: ':memory:' };
    const store = createStore(config, onQuery ? { onQuery } : {});
    await migrateToLatest(store.db);
    return { store, config, dispose: () => store.destroy() };
  }
  const name = `lp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const config: StoreConfig = {
    kind: 'postgres',
    connectionString: onServer(PG_URL, name),
    poolSize: 10,
    // TEST_PG_POOLER=transaction: TEST_DATABASE_URL is PgBouncer in transaction pooling mode (.ci/run).
    ...(process.env.TEST_PG_POOLER === 'transaction' ? { pooler: 'transaction' as const } : {}),
    // TEST_PG_LISTEN_URL: the server behind that pooler, where LISTEN goes (this database on it).
    ...(process.env.TEST_PG_LISTEN_URL
      ? { listenConnectionString: onServer(process.env.TEST_PG_LISTEN_URL, name) }
      : {}),
  };
  const store = createStore(config, onQuery ? { onQuery } : {});
  await migrateToLatest(store.db);
  return {
    store,
    config,
    dispose: async () => {
      await store.destroy();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}
