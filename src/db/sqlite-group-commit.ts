import { CompiledQuery, type Kysely } from 'kysely';

interface Pending<DB> {
  fn: (trx: Kysely<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

// A bound on how long the first request of a group waits behind the others.
const MAX_GROUP = 64;

// Sent a few times a request: compiled once here rather than by Kysely on every call.
const BEGIN = CompiledQuery.raw('begin immediate');
const SAVEPOINT = CompiledQuery.raw('savepoint request');
const RELEASE = CompiledQuery.raw('release request');
const ROLLBACK_TO = CompiledQuery.raw('rollback to request');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

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
        await conn.executeQuery(BEGIN);
        try {
          for (const item of group) {
            await conn.executeQuery(SAVEPOINT);
            try {
              const value = await item.fn(conn);
              await conn.executeQuery(RELEASE);
              outcomes.push({ ok: true, value });
            } catch (error) {
              await conn.executeQuery(ROLLBACK_TO);
              await conn.executeQuery(RELEASE);
              outcomes.push({ ok: false, error });
            }
          }
          await conn.executeQuery(COMMIT);
        } catch (error) {
          await conn.executeQuery(ROLLBACK).catch(() => undefined);
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
