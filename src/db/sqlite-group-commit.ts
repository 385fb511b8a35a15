import { type Kysely, sql } from 'kysely';

interface Pending<DB> {
  fn: (trx: Kysely<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

// A bound on how long the first request of a group waits behind the others.
const MAX_GROUP = 64;

/**
 * Group commit for SQLite. With synchronous=FULL every COMMIT writes its pages to the WAL and waits
 * for the disk to hold them (about 2 ms for eight bulk requests here), and the thread waits with it.
 * Requests that arrive together share one transaction instead, each inside its own SAVEPOINT: a
 * request that fails rolls back to its savepoint and leaves the others alone, so every request is
 * still all or nothing, and no request is answered before the COMMIT that makes it durable returned.
 */
export class SqliteGroupCommit<DB> {
  private readonly queue: Pending<DB>[] = [];
  private scheduled = false;

  constructor(private readonly db: Kysely<DB>) {}

  run<T>(fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current round of I/O, so that requests read in the same round join one group.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.commitGroup(this.queue.splice(0, MAX_GROUP));
    } finally {
      this.scheduled = false;
      if (this.queue.length > 0) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    }
  }

  private async commitGroup(group: Pending<DB>[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          for (const item of group) {
            await sql`savepoint request`.execute(conn);
            try {
              const value = await item.fn(conn);
              await sql`release request`.execute(conn);
              outcomes.push({ ok: true, value });
            } catch (error) {
              await sql`rollback to request`.execute(conn);
              await sql`release request`.execute(conn);
              outcomes.push({ ok: false, error });
            }
          }
          await sql`commit`.execute(conn);
        } catch (error) {
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw error;
        }
      });
    } catch (error) {
      // The group could not commit (a full disk, a lost lock): nothing of it was written.
      for (const item of group) item.reject(error);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) item.resolve(outcome.value);
      else item.reject(outcome?.error);
    });
  }
}
