import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../src/config.js';
import { createStore, type Store, writeTransaction } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';

// SQLite only: PostgreSQL writers lock rows, not the database, and need no turns. The webhook
// delivery thread is such a guest of the server's store (test/events/delivery-processes.test.ts runs
// it in real server processes; bench/events-bench.ts measures what the turns change).
describe('writers of one SQLite file in two connections of one process', () => {
  let dir: string;
  let host: Store;
  let guest: Store;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lp-turns-'));
    const config: StoreConfig = { kind: 'sqlite', filename: path.join(dir, 'turns.db') };
    host = createStore(config);
    await migrateToLatest(host.db);
    await host.db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
    expect(host.writerTurns).toBeInstanceOf(SharedArrayBuffer);
    guest = createStore(config, { sqliteGuestOf: host.writerTurns });
    expect(guest.writerTurns).toBeUndefined();
  });
  afterAll(async () => {
    await guest?.destroy();
    await host?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const program = (id: number) => ({ org_id: 1, id, name: `p${id}`, created_at: 0 });

  it("lets a waiting guest write before the host's next group, and the host goes on after it", async () => {
    const order: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside = () => {};
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    // The host's group holds the write lock until released.
    const first = writeTransaction(host, async (trx) => {
      await trx.insertInto('programs').values(program(1)).execute();
      inside();
      await held;
      order.push('host 1');
    });
    await entered;
    const fromGuest = writeTransaction(guest, async (trx) => {
      await trx.insertInto('programs').values(program(2)).execute();
      order.push('guest');
    });
    // Let the guest count itself as waiting before the host queues its next group.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const second = writeTransaction(host, async (trx) => {
      await trx.insertInto('programs').values(program(3)).execute();
      order.push('host 2');
    });
    release();
    await Promise.all([first, fromGuest, second]);
    // Without turns the host's next group would take the lock again at once, and the guest, asleep
    // in SQLite's wait for the lock, would come after it (under a full load, seconds after).
    expect(order).toStrictEqual(['host 1', 'guest', 'host 2']);
    const ids = await host.db.selectFrom('programs').select('id').orderBy('id').execute();
    expect(ids.map((r) => r.id)).toStrictEqual([1, 2, 3]);
  });

  it('keeps each side all or nothing: a guest that fails writes nothing, and the host is not held up', async () => {
    const failed = writeTransaction(guest, async (trx) => {
      await trx.insertInto('programs').values(program(10)).execute();
      throw new Error('the guest fails after writing');
    });
    const ok = writeTransaction(host, (trx) => trx.insertInto('programs').values(program(11)).execute());
    await expect(failed).rejects.toThrow('the guest fails after writing');
    await ok;
    const ids = await host.db.selectFrom('programs').select('id').where('id', '>=', 10).execute();
    expect(ids.map((r) => r.id)).toStrictEqual([11]);
  });
});
