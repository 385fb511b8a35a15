import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Trx, writeTransaction } from '../../src/db/database.js';
import { waitFor } from '../helpers/admin-helpers.js';
import { openTestStore, PG_URL, STORES, type TestStore } from '../helpers/stores.js';

// A bulk request finds its customers and locks them in its promotion in one statement (on
// PostgreSQL the lock costs no round trip of its own). What the lock is for: a second request for
// the same customers of the promotion reads their states only after the first one's writes are in.
// On SQLite the one writer gives that; on PostgreSQL the lookup must wait on the lock, and only on it.
const ORG = 1;
const PROGRAM = 1;
const PROMOTION = 7;

interface Gate {
  promise: Promise<void>;
  open: () => void;
}
function gate(): Gate {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

for (const kind of STORES) {
  describe(`the customers' locks on ${kind}`, { timeout: 30_000 }, () => {
    let t: TestStore;
    let watcher: pg.Client | undefined;

    beforeAll(async () => {
      t = await openTestStore(kind);
      await t.store.db.insertInto('orgs').values({ org_id: ORG, name: 'o', created_at: 0 }).execute();
      await t.store.db
        .insertInto('customers')
        .values([1, 2, 3].map((id) => ({ org_id: ORG, id, created_at: 0 })))
        .execute();
      if (kind === 'postgres') {
        const config = t.config as Extract<TestStore['config'], { kind: 'postgres' }>;
        watcher = new pg.Client({ connectionString: config.connectionString ?? PG_URL });
        await watcher.connect();
      }
    });
    afterAll(async () => {
      await watcher?.end();
      await t?.dispose();
    });

    const find = (trx: Trx, ids: number[], promotionId?: number) =>
      t.store.dialect.findCustomers(trx, ORG, PROGRAM, 'id', ids, promotionId);
    const sourcesOf = async (trx: Trx, customerId: number) =>
      (
        await trx
          .selectFrom('customer_sources')
          .select('source')
          .where('org_id', '=', ORG)
          .where('customer_id', '=', customerId)
          .execute()
      ).map((r) => r.source);
    /** Lock requests of this database that wait: a lookup held back by another's lock. */
    const waiting = async () =>
      Number(
        (
          await (watcher as pg.Client).query<{ n: string }>(
            `select count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
             where l.locktype = 'advisory' and not l.granted and a.datname = current_database()`,
          )
        ).rows[0]?.n,
      );

    /** A transaction that finds and locks `ids`, then waits at the gate before writing a source for customer 2. */
    async function holding(ids: number[], source: string) {
      const found = gate();
      const release = gate();
      const done = writeTransaction(t.store, async (trx) => {
        const rows = await find(trx, ids, PROMOTION);
        found.open();
        await release.promise;
        await trx.insertInto('customer_sources').values({ org_id: ORG, customer_id: 2, source }).execute();
        return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      });
      await Promise.race([found.promise, done]);
      return { release: release.open, done };
    }

    it('a second request for the same customers reads after the first one wrote', async () => {
      const first = await holding([1, 2], 'FIRST');
      const second = writeTransaction(t.store, async (trx) => {
        const rows = await find(trx, [2, 3], PROMOTION);
        return {
          found: rows.map((r) => Number(r.id)).sort((a, b) => a - b),
          sources: await sourcesOf(trx, 2),
        };
      });
      try {
        // PostgreSQL: the second lookup is held by the lock, not by anything else.
        if (watcher)
          await waitFor(async () => (await waiting()) === 1, 'the second lookup to wait on a lock');
      } finally {
        first.release();
      }
      expect(await first.done).toStrictEqual([1, 2]);
      expect(await second).toStrictEqual({ found: [2, 3], sources: ['FIRST'] });
    });

    // PostgreSQL only: SQLite's one writer runs one transaction at a time, so there is nothing beside.
    if (kind === 'postgres')
      it('holds nothing against other customers, another promotion or a lookup without a lock', async () => {
        const first = await holding([1, 2], 'AGAIN');
        try {
          // Each of these commits while the first transaction still holds its locks.
          await writeTransaction(t.store, (trx) => find(trx, [3], PROMOTION));
          await writeTransaction(t.store, (trx) => find(trx, [1, 2], PROMOTION + 1));
          const unlocked = await writeTransaction(t.store, (trx) => find(trx, [1, 2]));
          expect(unlocked.map((r) => Number(r.id)).sort((a, b) => a - b)).toStrictEqual([1, 2]);
          expect(await waiting()).toBe(0);
        } finally {
          first.release();
        }
        await first.done;
      });

    it('the locks end with their transaction', async () => {
      // After the first test's two transactions, the same customers are found at once.
      const rows = await writeTransaction(t.store, (trx) => find(trx, [1, 2, 3], PROMOTION));
      expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toStrictEqual([1, 2, 3]);
      if (watcher) {
        const held = await watcher.query(
          `select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
           where l.locktype = 'advisory' and a.datname = current_database()`,
        );
        expect(held.rowCount).toBe(0);
      }
    });
  });
}
