import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTransaction } from '../../src/db/database.js';
import { openTestStore, STORES, type TestStore } from '../helpers/stores.js';

// The outbox's insert through each dialect (a VALUES list padded to a hundred rows on both stores
// since the PostgreSQL one stopped sending a text[]): every event kept, in order, its data byte for
// byte, however many a statement holds.
for (const kind of STORES) {
  describe(`the events insert on ${kind}`, () => {
    let t: TestStore;

    beforeAll(async () => {
      t = await openTestStore(kind);
      await t.store.db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
    });
    afterAll(async () => {
      await t?.dispose();
    });

    // Quotes, backslashes, a newline escape, non-ASCII and spacing: what an array literal would escape.
    const dataOf = (i: number) =>
      JSON.stringify({ n: i, text: `say "hi" \\ back\\slash ${i}`, line: 'a\nb', name: 'Zoë 漢字' }).replace(
        ':',
        ': ',
      );

    it.each([1, 100, 101, 250, 2_001])(
      'keeps %i events of one statement in order, their data as given',
      async (count) => {
        const types = Array.from({ length: count }, (_, i) =>
          i % 2 ? 'promotion.earned' : 'promotion.enrolled',
        );
        const data = types.map((_, i) => dataOf(i));
        const before = await t.store.db
          .selectFrom('events')
          .select((eb) => eb.fn.max('id').as('id'))
          .executeTakeFirst();
        const from = Number(before?.id ?? 0);
        await writeTransaction(t.store, (trx) =>
          t.store.dialect.runWrites(trx, t.store.dialect.eventsInsert(1, 1_700_000_000_000, types, data)),
        );
        const rows = await t.store.db
          .selectFrom('events')
          .select(['id', 'type', 'data', 'at', 'org_id'])
          .where('id', '>', from)
          .orderBy('id')
          .execute();
        expect(rows.map((r) => r.type)).toEqual(types);
        expect(rows.map((r) => r.data)).toEqual(data);
        expect(new Set(rows.map((r) => Number(r.at)))).toEqual(new Set([1_700_000_000_000]));
        expect(new Set(rows.map((r) => Number(r.org_id)))).toEqual(new Set([1]));
      },
    );
  });
}
