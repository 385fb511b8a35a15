import { type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely';
import type { SecretBox } from '../auth/secret-box.js';
import type { Db } from './database.js';
import * as initial from './migrations/2026-11-26-0001-initial.js';
import * as hotPathWithoutForeignKeys from './migrations/2026-11-26-0002-hot-path-without-foreign-keys.js';
import * as plansWithoutStatistics from './migrations/2026-11-30-0001-plans-without-statistics.js';
import * as events from './migrations/2026-11-30-0002-events.js';
import { sealedSecrets } from './migrations/2026-11-30-0003-sealed-secrets.js';
import * as jobs from './migrations/2026-11-30-0004-jobs.js';
import * as rateLimits from './migrations/2026-11-30-0005-rate-limits.js';
import * as management from './migrations/2026-11-30-0006-management.js';
import * as consoleUsers from './migrations/2026-11-30-0007-console-users.js';
import * as leanHotPath from './migrations/2026-11-30-0008-lean-hot-path.js';

// Listed here rather than read from a folder, so that migrations work the same from src/ and dist/.
// A migration that seals secrets is given the key, which never lives in the store.
const migrations = (box: SecretBox | undefined): Record<string, Migration> => ({
  '2026-11-26-0001-initial': initial,
  '2026-11-26-0002-hot-path-without-foreign-keys': hotPathWithoutForeignKeys,
  '2026-11-30-0001-plans-without-statistics': plansWithoutStatistics,
  '2026-11-30-0002-events': events,
  '2026-11-30-0003-sealed-secrets': sealedSecrets(box),
  '2026-11-30-0004-jobs': jobs,
  '2026-11-30-0005-rate-limits': rateLimits,
  '2026-11-30-0006-management': management,
  '2026-11-30-0007-console-users': consoleUsers,
  '2026-11-30-0008-lean-hot-path': leanHotPath,
});

export interface MigrateOptions {
  /** LOYALTY_SECRET_KEY's box: needed only by a store that holds secrets in the clear (or, down, sealed). */
  secrets?: SecretBox | undefined;
}

function migrator(db: Db, { secrets }: MigrateOptions = {}): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations(secrets) };
  return new Migrator({ db, provider });
}

/** Brings the store to the latest schema; throws if a migration fails. */
export async function migrateToLatest(db: Db, options: MigrateOptions = {}): Promise<string[]> {
  return unwrap(await migrator(db, options).migrateToLatest());
}

export async function migrateDown(db: Db, options: MigrateOptions = {}): Promise<string[]> {
  return unwrap(await migrator(db, options).migrateDown());
}

/** True when every known migration has been applied. */
export async function isSchemaCurrent(db: Db): Promise<boolean> {
  const migrations = await migrator(db).getMigrations();
  return migrations.every((m) => m.executedAt !== undefined);
}

function unwrap({ error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(
      `Migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  return (results ?? []).map((r) => r.migrationName);
}
