import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../src/config.js';
import { createStore, type Store, writeTransaction } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { FALLBACK_AUTOCHECKPOINT } from '../../src/db/sqlite-checkpointer.js';

// SQLite only: PostgreSQL checkpoints in a process of its own already. The server's store is opened
// with the thread (src/server.ts); the benches measure what it changes (docs/performance.md).
describe('WAL checkpoints of a SQLite file in a thread of their own', () => {
  let dir: string;
  let config: StoreConfig & { kind: 'sqlite' };
  let store: Store | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lp-checkpoint-'));
    config = { kind: 'sqlite', filename: path.join(dir, 'checkpoint.db') };
  });
  afterEach(async () => {
    await store?.destroy();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const fileSize = () => statSync(config.filename).size;
  const walSize = () => statSync(`${config.filename}-wal`).size;

  /** Commits `groups` write transactions, each adding 40 rows of about 2 KB (about 20 pages). */
  async function writeGroups(s: Store, groups: number, from = 0): Promise<void> {
    for (let g = 0; g < groups; g++) {
      await writeTransaction(s, async (trx) => {
        const rows = Array.from({ length: 40 }, (_, i) => ({
          org_id: 1,
          id: from + g * 40 + i + 1,
          name: `p${from + g * 40 + i}-${'x'.repeat(2000)}`,
          created_at: 0,
        }));
        await trx.insertInto('programs').values(rows).execute();
      });
    }
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function opened(options: { sqliteCheckpointThread: boolean }): Promise<Store> {
    const s = createStore(config, options);
    await migrateToLatest(s.db);
    await s.db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
    return s;
  }

  it('copies committed pages into the database file below the commits’ own checkpoint mark', async () => {
    store = await opened({ sqliteCheckpointThread: true });
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db);
    expect(rows[0]?.wal_autocheckpoint).toBe(FALLBACK_AUTOCHECKPOINT);
    const before = fileSize();
    // About 2,000 pages: past SQLite's own mark (1,000), well under the commits' mark with the thread.
    await writeGroups(store, 100);
    // Only a checkpoint grows the database file in WAL mode; the commits did none of their own.
    await until(() => fileSize() > before + 4_000_000, 'the database file to hold the rows');
    const count = await store.db
      .selectFrom('programs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(4_000);
  });

  /** Waits until the database file has stopped growing: the thread has copied what was committed. */
  async function copied(): Promise<void> {
    let last = -1;
    let same = 0;
    await until(() => {
      const size = fileSize();
      same = size === last ? same + 1 : 0;
      last = size;
      return same >= 5;
    }, 'the thread to copy the last writes');
  }

  it('lets the WAL start over once the thread has copied it: it does not grow with the writes', async () => {
    store = await opened({ sqliteCheckpointThread: true });
    await writeGroups(store, 100);
    await copied();
    const afterFirst = walSize();
    // Another 8,000 rows, with pauses: without the copies the WAL would be three times as long.
    for (let round = 1; round <= 2; round++) {
      await writeGroups(store, 100, round * 4_000);
      await copied();
    }
    expect(walSize()).toBeLessThan(afterFirst * 1.5);
  });

  it('without the thread, the commits checkpoint for themselves at SQLite’s mark', async () => {
    store = await opened({ sqliteCheckpointThread: false });
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db);
    expect(rows[0]?.wal_autocheckpoint).toBe(1_000);
  });

  it('stops with its store, and a store opened again reads everything written', async () => {
    store = await opened({ sqliteCheckpointThread: true });
    await writeGroups(store, 20);
    await store.destroy();
    store = createStore(config, { sqliteCheckpointThread: true });
    const count = await store.db
      .selectFrom('programs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(800);
  });
});
