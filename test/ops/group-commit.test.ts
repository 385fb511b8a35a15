import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeTransaction } from '../../src/db/database.js';
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
