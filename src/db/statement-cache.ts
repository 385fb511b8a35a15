import { createHash } from 'node:crypto';
import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqlite, PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** Where pooled connections come from (a pg.Pool, or one pool per host: see postgres-hosts.ts). */
export interface ConnectionSource {
  connect(): Promise<pg.PoolClient>;
  end(): Promise<void>;
}

/**
 * better-sqlite3 compiles a statement on every `prepare`; the hot path sends a handful of statement
 * shapes over and over, so compiled statements are kept (least recently used first out). Reuse is safe:
 * the driver runs one statement at a time to completion.
 */
export function cachingSqlite(database: SqliteDatabase.Database, max = 256): KyselySqlite {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(sqlText) {
      let statement = cache.get(sqlText);
      if (statement) {
        cache.delete(sqlText);
      } else {
        statement = database.prepare(sqlText);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sqlText, statement);
      return statement;
    },
  };
}

// Statements that name their columns only: a `*` would make a named statement fail after a
// migration changes the table while the connection lives.
const NAMEABLE = /^\s*(select|insert|update|delete|with)\b(?![\s\S]*\.\*)(?![\s\S]*select \*)/i;

/**
 * Sends parameterised statements as named prepared statements, so that PostgreSQL parses and plans
 * each shape once per connection instead of on every call. Statements with `*` are sent unnamed, and
 * every statement when `named` is false (behind PgBouncer's transaction pooling, which does not keep
 * a client on one server connection).
 */
export function namedStatementPool(pool: ConnectionSource, named = true, maxNames = 2000): PostgresPool {
  const names = new Map<string, string | null>();
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  function nameOf(text: string): string | null {
    let name = names.get(text);
    if (name === undefined) {
      name =
        names.size < maxNames && NAMEABLE.test(text)
          ? `lp_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`
          : null;
      if (names.size < maxNames) names.set(text, name);
    }
    return name;
  }

  function wrap(client: pg.PoolClient): PostgresPoolClient {
    let wrapper = wrappers.get(client);
    if (!wrapper) {
      wrapper = {
        query: ((text: unknown, values?: readonly unknown[]) => {
          if (typeof text !== 'string') return client.query(text as never);
          const name = named && values && values.length > 0 ? nameOf(text) : null;
          return name
            ? client.query({ name, text, values: values as unknown[] })
            : client.query(text, values as unknown[]);
        }) as unknown as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy),
      };
      wrappers.set(client, wrapper);
    }
    return wrapper;
  }

  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}
