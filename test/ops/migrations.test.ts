import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateDown, migrateToLatest } from '../../src/db/migrator.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

// Migrations must carry a deployed store's rows across in both directions; the second one rebuilds
// the issual and earn tables on SQLite, which is where rows or indexes could be lost. (Sealing a
// store's secrets, 0003, is tried with secrets in test/hostile/sealed-secrets.test.ts.)
describeEachStoreKind('migrations', (kind) => {
  let t: TestStore;
  const stamp = { source: 'INSTORE', created_at: 1, created_by: 'test', request_id: 'r' };

  beforeAll(async () => {
    t = await openTestStore(kind);
    const { db } = t.store;
    await db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
    await db.insertInto('programs').values({ org_id: 1, id: 10, name: 'p', created_at: 0 }).execute();
    await db
      .insertInto('promotions')
      .values({
        org_id: 1,
        id: 20,
        program_id: 10,
        name: 'x',
        type: 'GENERIC',
        active: 1,
        created_at: 0,
        updated_at: 0,
      })
      .execute();
    await db.insertInto('customers').values({ org_id: 1, id: 30, mobile: '9100', created_at: 0 }).execute();
    await db
      .insertInto('issuals')
      .values({ org_id: 1, id: 40, promotion_id: 20, customer_id: 30, ...stamp })
      .execute();
    await db
      .insertInto('earns')
      .values({ org_id: 1, id: 50, issual_id: 40, promotion_id: 20, customer_id: 30, ...stamp })
      .execute();
  });
  afterAll(() => t?.dispose());

  const rows = async () => ({
    issuals: await t.store.db.selectFrom('issuals').selectAll().execute(),
    earns: await t.store.db.selectFrom('earns').selectAll().execute(),
  });
  const orphanIssual = () =>
    t.store.db
      .insertInto('issuals')
      .values({ org_id: 1, id: 41, promotion_id: 20, customer_id: 999, ...stamp })
      .execute();
  const secondActiveIssual = () =>
    t.store.db
      .insertInto('issuals')
      .values({ org_id: 1, id: 42, promotion_id: 20, customer_id: 30, ...stamp })
      .execute();

  // The migrations after the second one, undone first and done again after it.
  const LATER = [
    '2026-11-30-0001-plans-without-statistics',
    '2026-11-30-0002-events',
    '2026-11-30-0003-sealed-secrets',
    '2026-11-30-0004-jobs',
    '2026-11-30-0005-rate-limits',
    '2026-11-30-0006-management',
    '2026-11-30-0007-console-users',
    '2026-11-30-0008-lean-hot-path',
  ];
  async function downPastLater(): Promise<void> {
    for (const name of [...LATER].reverse()) expect(await migrateDown(t.store.db)).toStrictEqual([name]);
  }

  it('steps back to foreign keys on issuals and earns, and forward again, keeping every row', async () => {
    const before = await rows();
    expect(before.issuals).toHaveLength(1);
    expect(before.earns).toHaveLength(1);

    await downPastLater();
    expect(await rows()).toStrictEqual(before);
    expect(await migrateDown(t.store.db)).toStrictEqual(['2026-11-26-0002-hot-path-without-foreign-keys']);
    expect(await rows()).toStrictEqual(before);
    await expect(orphanIssual()).rejects.toThrow(/foreign key/i);
    await expect(secondActiveIssual()).rejects.toThrow(/unique|duplicate/i);

    expect(await migrateToLatest(t.store.db)).toStrictEqual([
      '2026-11-26-0002-hot-path-without-foreign-keys',
      ...LATER,
    ]);
    expect(await rows()).toStrictEqual(before);
    // The management migration counted what the promotion held already (its day, shard 0).
    const counts = await t.store.db.selectFrom('promotion_day_counts').selectAll().execute();
    expect(counts.map((c) => [c.promotion_id, c.issuals, c.earns, c.customers].map(Number))).toStrictEqual([
      [20, 1, 1, 1],
    ]);
    // The store still refuses a second active issual; the service is what keeps parents real.
    await expect(secondActiveIssual()).rejects.toThrow(/unique|duplicate/i);
    await orphanIssual();
    await t.store.db.deleteFrom('issuals').where('id', '=', 41).execute();
    expect(await rows()).toStrictEqual(before);
  });

  it('goes all the way down to an empty store and back up', async () => {
    await downPastLater();
    expect(await migrateDown(t.store.db)).toStrictEqual(['2026-11-26-0002-hot-path-without-foreign-keys']);
    expect(await migrateDown(t.store.db)).toStrictEqual(['2026-11-26-0001-initial']);
    expect(await migrateToLatest(t.store.db)).toStrictEqual([
      '2026-11-26-0001-initial',
      '2026-11-26-0002-hot-path-without-foreign-keys',
      ...LATER,
    ]);
    expect(await rows()).toStrictEqual({ issuals: [], earns: [] });
  });
});
