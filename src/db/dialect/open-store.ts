import type { LogEvent } from 'kysely';
import type { StoreConfig } from '../../config.js';
import { openPostgres, postgresDialect } from './postgres.dialect.js';
import { openSqlite, sqliteDialect } from './sqlite.dialect.js';
import type { Store, StoreDialect, StoreOptions } from './store-dialect.js';

// The seam's factory: the one place that picks an implementation by the configured kind of store.

/** The dialect a store of this kind speaks (known before it is opened). */
export function dialectFor(kind: StoreConfig['kind']): StoreDialect {
  return kind === 'postgres' ? postgresDialect : sqliteDialect;
}

export function createStore(config: StoreConfig, options: StoreOptions = {}): Store {
  const log = options.onQuery
    ? (event: LogEvent) => {
        if (event.level === 'query') options.onQuery?.(event.query.sql, event.query.parameters);
      }
    : undefined;
  return config.kind === 'postgres' ? openPostgres(config, options, log) : openSqlite(config, log, options);
}

/** Another connection opened from this configuration reaches the same data (not so in-memory SQLite). */
export function opensAgain(config: StoreConfig): boolean {
  return config.kind === 'postgres' || config.filename !== ':memory:';
}
