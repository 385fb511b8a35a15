import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store, writeTransaction } from '../../src/db/database.js';
import type { Trx } from '../../src/db/dialect/store-dialect.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

// SQLite commits the write transactions that arrive together as one (each in its own savepoint);
// PostgreSQL runs each as its own transaction. Either way each is all or nothing.
describeEachStoreKind('write transactions arriving together', (kind) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(kind);
    await t.store.db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
  });
  afterAll(() => t?.dispose());

  it('keeps the writes of the ones that succeed and none of the one that fails', async () => {
    const write = (id: number, fail: boolean) =>
      writeTransaction(t.store, async (trx) => {
        await trx
          .insertInto('programs')
          .values({ org_id: 1, id, name: `p${id}`, created_at: 0 })
          .execute();
        await trx
          .insertInto('programs')
          .values({ org_id: 1, id: id + 1000, name: 'second', created_at: 0 })
          .execute();
        if (fail) throw new Error(`request ${id} fails after writing`);
        return id;
      });
    const outcomes = await Promise.allSettled([
      write(1, false),
      write(2, true),
      write(3, false),
      write(4, true),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(outcomes[0]).toMatchObject({ value: 1 });
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('request 2 fails after writing');
    const ids = (await t.store.db.selectFrom('programs').select('id').orderBy('id').execute()).map(
      (r) => r.id,
    );
    expect(ids).toEqual([1, 3, 1001, 1003]);
  });

  it('fails a request whose own statement the store refuses, and only that one', async () => {
    const outcomes = await Promise.allSettled([
      writeTransaction(t.store, (trx) =>
        trx.insertInto('programs').values({ org_id: 1, id: 50, name: 'ok', created_at: 0 }).execute(),
      ),
      // A duplicate key: the store refuses it.
      writeTransaction(t.store, (trx) =>
        trx.insertInto('programs').values({ org_id: 1, id: 1, name: 'dup', created_at: 0 }).execute(),
      ),
      writeTransaction(t.store, (trx) =>
        trx.insertInto('programs').values({ org_id: 1, id: 51, name: 'ok', created_at: 0 }).execute(),
      ),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const names = await t.store.db
      .selectFrom('programs')
      .select(['id', 'name'])
      .where('id', 'in', [1, 50, 51])
      .orderBy('id')
      .execute();
    expect(names).toEqual([
      { id: 1, name: 'p1' },
      { id: 50, name: 'ok' },
      { id: 51, name: 'ok' },
    ]);
  });
});

// A file store (an in-memory one keeps its journals in memory anyway). Each request's SAVEPOINT keeps
// a copy of the pages it changes; past 64 KiB SQLite would spill that copy to a temporary file in every
// group, so the group runs with temp_store = MEMORY and puts the connection's setting back after it.
describe('SQLite group commits: savepoint copies kept in memory', () => {
  let dir: string;
  let store: Store;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lp-group-'));
    store = createStore({ kind: 'sqlite', filename: path.join(dir, 'group.db') });
    await migrateToLatest(store.db);
    await store.db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
  });
  afterAll(async () => {
    await store?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const tempStore = async (db: Trx) =>
    (await sql<{ temp_store: number }>`pragma temp_store`.execute(db)).rows[0]?.temp_store;

  it('runs a group with temp_store = MEMORY and leaves the connection at its default', async () => {
    const inside = await writeTransaction(store, (trx) => tempStore(trx));
    expect(inside).toBe(2);
    expect(await tempStore(store.db)).toBe(0);
  });

  it('rolls back a request that changed well over 64 KiB of pages, and only that one', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      org_id: 1,
      id: 10_000 + i,
      name: `before ${i} ${'x'.repeat(200)}`,
      created_at: 0,
    }));
    for (let i = 0; i < rows.length; i += 200)
      await store.db
        .insertInto('programs')
        .values(rows.slice(i, i + 200))
        .execute();
    // Every row rewritten: about 500 KB of table pages, each copied for the savepoint.
    const rename = (label: string) => (trx: Trx) =>
      trx
        .updateTable('programs')
        .set({ name: sql<string>`${label} || ' ' || id || ' ' || ${'y'.repeat(200)}` })
        .where('id', '>=', 10_000)
        .execute();
    const outcomes = await Promise.allSettled([
      writeTransaction(store, async (trx) => {
        await rename('first')(trx);
        return tempStore(trx);
      }),
      writeTransaction(store, async (trx) => {
        await rename('second')(trx);
        throw new Error('the second request fails after rewriting every row');
      }),
      writeTransaction(store, (trx) =>
        trx
          .insertInto('programs')
          .values({ org_id: 1, id: 20_000, name: 'third row', created_at: 0 })
          .execute(),
      ),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[0]).toMatchObject({ value: 2 });
    // The first request's names throughout, none of the second's, and the third's row.
    const prefixes = await store.db
      .selectFrom('programs')
      .select([
        sql<string>`substr(name, 1, instr(name, ' ') - 1)`.as('prefix'),
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .where('id', '>=', 10_000)
      .groupBy('prefix')
      .execute();
    expect(prefixes.map((p) => ({ prefix: p.prefix, n: Number(p.n) }))).toEqual([
      { prefix: 'first', n: 2000 },
      { prefix: 'third', n: 1 },
    ]);
  });
});
