import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFixed } from '../../src/db/fixed-statement.js';
import { openTestStore, STORES, type TestStore } from '../helpers/stores.js';

// The hot path's statements are compiled once a shape and then sent as text with new values: the
// answers must be the query builder's, call after call, and a template whose parameters are not the
// values given must fail at its first compile rather than send the wrong values later.
for (const kind of STORES) {
  describe(`statements compiled once on ${kind}`, () => {
    let t: TestStore;

    beforeAll(async () => {
      t = await openTestStore(kind);
      await t.store.db
        .insertInto('orgs')
        .values([
          { org_id: 1, name: 'one', created_at: 0 },
          { org_id: 2, name: 'two', created_at: 0 },
        ])
        .execute();
    });
    afterAll(async () => {
      await t?.dispose();
    });

    const byOrg = (orgId: number, from: number) =>
      runFixed<{ name: string; n: number }>(
        t.store.db,
        'test orgs from',
        [from, orgId],
        () => sql`select name, cast(${from} as integer) as n from orgs where org_id = ${orgId}`,
      );

    it('answers each call with its own values, as the template would', async () => {
      expect(await byOrg(1, 5)).toStrictEqual([{ name: 'one', n: 5 }]);
      // The same shape again: the first call's text, the second call's values.
      expect(await byOrg(2, 7)).toStrictEqual([{ name: 'two', n: 7 }]);
      const { rows } = await sql<{
        name: string;
        n: number;
      }>`select name, cast(${7} as integer) as n from orgs where org_id = ${2}`.execute(t.store.db);
      expect(await byOrg(2, 7)).toStrictEqual(rows);
    });

    it('refuses a template whose parameters are not the values, in order', async () => {
      const swapped = (orgId: number, from: number) =>
        runFixed(
          t.store.db,
          `test swapped ${kind}`,
          [orgId, from],
          () => sql`select cast(${from} as integer) as n from orgs where org_id = ${orgId}`,
        );
      await expect(swapped(1, 5)).rejects.toThrow(/not the values given/);
      const inlined = runFixed(
        t.store.db,
        `test inlined ${kind}`,
        [1],
        () => sql`select name from orgs where org_id = ${sql.lit(1)}`,
      );
      await expect(inlined).rejects.toThrow(/not the values given/);
    });
  });
}
