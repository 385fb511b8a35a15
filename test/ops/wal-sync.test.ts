import { fdatasync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { DEFAULT_EVENTS_CONFIG, defineConfig, type StoreConfig } from '../../src/config.js';
import { createStore, type Store, writeTransaction } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import type { Database } from '../../src/db/schema.js';
import { SqliteGroupCommit } from '../../src/db/sqlite-group-commit.js';
import { WalSync } from '../../src/db/sqlite-wal-sync.js';
import { isCommitOutcomeUnknown } from '../../src/db/store-errors.js';
import { TEST_SECRET_KEY } from '../helpers/stores.js';

// SQLite only: PostgreSQL's commits wait for its own WAL flush in its own processes. The server's
// store syncs the WAL off the requests' thread (src/server.ts); the benches measure what that buys
// (docs/performance.md). What must hold: no group is answered, and no other group begins, before the
// sync that followed its COMMIT returned; every other commit stays synchronous=FULL; a failed sync
// answers "outcome unknown" and refuses every later write.
describe('SQLite group commits synced off the requests’ thread', () => {
  let dir: string;
  let config: StoreConfig & { kind: 'sqlite' };
  let store: Store | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lp-walsync-'));
    config = { kind: 'sqlite', filename: path.join(dir, 'walsync.db') };
  });
  afterEach(async () => {
    await store?.destroy();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const program = (id: number) => ({ org_id: 1, id, name: `p${id}`, created_at: 0 });

  async function opened(onQuery?: (sqlText: string) => void): Promise<Store> {
    const s = createStore(config, { sqliteSyncOffThread: true, ...(onQuery ? { onQuery } : {}) });
    await migrateToLatest(s.db);
    await s.db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
    return s;
  }

  it('commits a group with synchronous=NORMAL, answers it after the sync, and leaves FULL', async () => {
    let answered = false;
    // Told synchronously when the statement after the COMMIT ran: no I/O callback (the sync's) can
    // have run in between, so the group's sync is still pending here.
    const seenAfterCommit: { pending: boolean; answered: boolean }[] = [];
    store = await opened((text) => {
      if (text === 'pragma synchronous = FULL')
        seenAfterCommit.push({ pending: store?.durable?.() !== undefined, answered });
    });
    const inside = writeTransaction(store, async (trx) => {
      await trx.insertInto('programs').values(program(1)).execute();
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(trx);
      return rows[0]?.synchronous;
    }).then((value) => {
      answered = true;
      return value;
    });
    expect(await inside).toBe(1); // NORMAL inside the group
    expect(seenAfterCommit).toStrictEqual([{ pending: true, answered: false }]);
    // Answered after the sync: nothing is pending once the answer is out.
    expect(store.durable?.()).toBeUndefined();
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
    expect(rows[0]?.synchronous).toBe(2); // FULL for every other commit on the connection
    const found = await store.db.selectFrom('programs').select('id').execute();
    expect(found).toStrictEqual([{ id: 1 }]);
  });

  it('begins the next group only once the last one’s sync returned, as under FULL', async () => {
    const begins: boolean[] = [];
    store = await opened((text) => {
      if (text === 'begin immediate') begins.push(store?.durable?.() !== undefined);
    });
    const s = store;
    let second: Promise<unknown> | undefined;
    const first = writeTransaction(s, async (trx) => {
      // Asked while the first group runs: it joins the next group.
      second = writeTransaction(s, (t) => t.insertInto('programs').values(program(2)).execute());
      await trx.insertInto('programs').values(program(1)).execute();
    });
    await first;
    await second;
    // Two groups, and no BEGIN while a sync was pending.
    expect(begins).toStrictEqual([false, false]);
    const found = await s.db.selectFrom('programs').select('id').orderBy('id').execute();
    expect(found).toStrictEqual([{ id: 1 }, { id: 2 }]);
  });

  it('sends no answer, a read’s either, before the commits made ahead of it are on disk', async () => {
    const order: string[] = [];
    let read: Promise<LightMyRequestResponse> | undefined;
    store = await opened((text) => {
      if (text !== 'pragma synchronous = FULL' || read) return;
      // Just after a group's COMMIT, its sync pending: a request that could show what it wrote.
      void store?.durable?.()?.then(() => order.push('synced'));
      read = app.inject({ method: 'GET', url: '/health' }).then((res) => {
        order.push('answered');
        return res;
      });
    });
    const app = await buildApp(
      defineConfig({
        store: config,
        secretKey: TEST_SECRET_KEY,
        events: { ...DEFAULT_EVENTS_CONFIG, thread: false },
      }),
      { store },
    );
    try {
      await writeTransaction(store, (trx) => trx.insertInto('programs').values(program(1)).execute());
      expect((await read)?.statusCode).toBe(200);
      expect(order).toStrictEqual(['synced', 'answered']);
    } finally {
      await app.close();
    }
  });

  it('keeps SQLite’s own FULL commits when the store is not the server’s', async () => {
    store = createStore(config, {});
    await migrateToLatest(store.db);
    expect(store.durable).toBeUndefined();
    const inside = await writeTransaction(store, async (trx) => {
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(trx);
      return rows[0]?.synchronous;
    });
    expect(inside).toBe(2);
  });

  describe('a sync that fails', () => {
    let database: SqliteDatabase.Database;
    let db: Kysely<Database>;

    beforeEach(async () => {
      database = new SqliteDatabase(config.filename);
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = FULL');
      db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
      await migrateToLatest(db);
      await db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
    });
    afterEach(async () => {
      await db.destroy();
    });

    it('answers its group "outcome unknown" and refuses every later write, though the disk recovers', async () => {
      const failures: Error[] = [];
      let syncs = 0;
      // The disk fails the first sync only, as an EIO would; the real fdatasync after that.
      const walSync = new WalSync(
        `${config.filename}-wal`,
        (error) => failures.push(error),
        (fd, done) => {
          syncs++;
          if (syncs === 1) done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
          else fdatasync(fd, done);
        },
      );
      const writer = new SqliteGroupCommit(db, undefined, undefined, walSync);
      const first = writer.run((trx) => trx.insertInto('programs').values(program(1)).execute());
      const error = await first.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isCommitOutcomeUnknown(error)).toBe(true);
      expect((error as Error).message).toMatch(/WAL could not be synced/);
      // Committed in SQLite's view: whether it survives a power cut is what nobody can tell.
      expect(await db.selectFrom('programs').select('id').execute()).toStrictEqual([{ id: 1 }]);
      const later = await writer
        .run((trx) => trx.insertInto('programs').values(program(2)).execute())
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(isCommitOutcomeUnknown(later)).toBe(true);
      expect(failures.map((f) => f.message)).toStrictEqual(['EIO: i/o error, fdatasync']);
      expect(syncs).toBe(1);
      walSync.close();
    });
  });

  it('syncs once for all the commits made while a sync runs', async () => {
    store = await opened();
    let syncs = 0;
    const walSync = new WalSync(`${config.filename}-wal`, undefined, (fd, done) => {
      syncs++;
      fdatasync(fd, done);
    });
    // The first starts a sync at once; the four after it wait for the next, which covers them all.
    const all = Array.from({ length: 5 }, () => walSync.afterCommit());
    expect(walSync.pending()).toBeDefined();
    await Promise.all(all);
    expect(syncs).toBe(2);
    expect(walSync.pending()).toBeUndefined();
    walSync.close();
  });
});
