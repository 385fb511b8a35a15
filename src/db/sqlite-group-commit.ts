import { CompiledQuery, type Kysely } from 'kysely';
import type { WalSync } from './sqlite-wal-sync.js';
import { CommitOutcomeUnknown } from './store-errors.js';

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
// SQLite will not change it inside a transaction: set before BEGIN, and back after the COMMIT.
const SYNC_NORMAL = CompiledQuery.raw('pragma synchronous = NORMAL');
const SYNC_FULL = CompiledQuery.raw('pragma synchronous = FULL');
// Each request's SAVEPOINT keeps a copy of every page it changes (the sub-journal), and past 64 KiB
// SQLite spills that copy to a temporary file, created, written, deleted and closed in every group:
// 7% of the requests' thread under load (perf); the raw store's batches took 7% less CPU, 12% alone
// in a transaction, with it in memory (docs/performance.md). In memory for the group's transaction
// only, bounded by the pages the group changes: a sort or an index built over millions of rows
// elsewhere (a migration) may still spill to disk rather than hold them all in memory.
const TEMP_MEMORY = CompiledQuery.raw('pragma temp_store = MEMORY');
const TEMP_DEFAULT = CompiledQuery.raw('pragma temp_store = DEFAULT');

/**
 * Writers of one SQLite file in threads of one process (the server's requests, and the webhook
 * delivery thread with a connection of its own) take turns through a shared buffer, because SQLite's
 * own wait for its write lock cannot: a connection that finds the lock taken sleeps and tries again
 * (1, 2, 5 … up to 100 ms apart), while the requests' group commit takes the lock again within
 * microseconds of each commit, so under a full load another connection could wait for seconds. The
 * host (the requests' store) lets a waiting guest in before its next group; a guest waits for the
 * host's group in progress, counted, so that the host does not start another. SQLite's lock still
 * decides: the turns only keep its waits short.
 */
export interface WriterTurns {
  buffer: SharedArrayBuffer;
  role: 'host' | 'guest';
}

const HOST_WRITING = 0;
const GUESTS = 1;
// The host waits for guests at most this long before each group, whatever they do.
const HOST_YIELD_MS = 100;
// A guest waits for the host's group at most this long, then lets SQLite's lock decide.
const GUEST_WAIT_MS = 5_000;

/** A buffer for writer turns (the host's store makes it; its guests are given it). */
export const newWriterTurns = (): SharedArrayBuffer =>
  new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);

/** The guests of a buffer counted as none (its guest thread ended, whatever it was doing). */
export function releaseGuests(buffer: SharedArrayBuffer): void {
  const slots = new Int32Array(buffer);
  Atomics.store(slots, GUESTS, 0);
  Atomics.notify(slots, GUESTS);
}

/** Waits until slot `index` of `slots` no longer holds `value`, or until `deadline` (ms since epoch). */
async function waitWhile(slots: Int32Array, index: number, value: number, deadline: number): Promise<void> {
  const left = deadline - Date.now();
  if (left <= 0) return;
  const waiting = Atomics.waitAsync(slots, index, value, left);
  if (waiting.async) await waiting.value;
}

/**
 * Group commit for SQLite. With synchronous=FULL every COMMIT writes its pages to the WAL and waits
 * for the disk to hold them (about 2 ms for eight bulk requests here), and the thread waits with it.
 * Requests that arrive together share one transaction instead, each inside its own SAVEPOINT: a
 * request that fails rolls back to its savepoint and leaves the others alone, so every request is
 * still all or nothing, and no request is answered before the COMMIT that makes it durable returned.
 *
 * With a WalSync (the server's store), the group's COMMIT does not wait for the disk itself: it runs
 * with synchronous=NORMAL, and the group's requests are answered once the WAL's fdatasync that
 * followed it returned, on libuv's thread pool, while this thread goes on with other requests (see
 * sqlite-wal-sync.ts). The next group begins after that sync. Every other commit on the connection
 * stays synchronous=FULL.
 */
export class SqliteGroupCommit<DB> {
  private readonly queue: Pending<DB>[] = [];
  private scheduled = false;
  private readonly slots: Int32Array | undefined;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly turns?: WriterTurns,
    /** Told after each commit (the checkpoint thread copies the group's pages). */
    private readonly afterCommit?: () => void,
    private readonly walSync?: WalSync,
  ) {
    this.slots = turns ? new Int32Array(turns.buffer) : undefined;
  }

  /** Before a group: the lock is this store's turn (see WriterTurns). Answers what ends the turn. */
  private async takeTurn(): Promise<() => void> {
    const slots = this.slots;
    if (!slots) return () => undefined;
    if (this.turns?.role === 'guest') {
      Atomics.add(slots, GUESTS, 1);
      const deadline = Date.now() + GUEST_WAIT_MS;
      while (Atomics.load(slots, HOST_WRITING) === 1 && Date.now() < deadline)
        await waitWhile(slots, HOST_WRITING, 1, deadline);
      return () => {
        Atomics.sub(slots, GUESTS, 1);
        Atomics.notify(slots, GUESTS);
      };
    }
    const deadline = Date.now() + HOST_YIELD_MS;
    for (;;) {
      // Marked first, then looked: a guest that counted itself meanwhile is seen, and waits for us.
      Atomics.store(slots, HOST_WRITING, 1);
      const guests = Atomics.load(slots, GUESTS);
      if (guests === 0 || Date.now() >= deadline) break;
      Atomics.store(slots, HOST_WRITING, 0);
      Atomics.notify(slots, HOST_WRITING);
      await waitWhile(slots, GUESTS, guests, deadline);
    }
    return () => {
      Atomics.store(slots, HOST_WRITING, 0);
      Atomics.notify(slots, HOST_WRITING);
    };
  }

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
      while (this.queue.length > 0) {
        // The next group waits for this one's sync, as it waited for its COMMIT under FULL: groups
        // stay as large (a commit has a cost of its own whatever its size, and smaller groups at a
        // steady load doubled the latency), while this thread reads, checks and answers requests
        // during the sync instead of waiting on it.
        const { durable } = await this.commitGroup(this.queue.splice(0, MAX_GROUP));
        if (durable) await durable.catch(() => undefined);
      }
    } finally {
      this.scheduled = false;
      if (this.queue.length > 0) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    }
  }

  /** Commits a group; answers the sync it waits for, if any (its requests are answered after it). */
  private async commitGroup(group: Pending<DB>[]): Promise<{ durable?: Promise<void> }> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    const walSync = this.walSync;
    let durable: Promise<void> | undefined;
    const endTurn = await this.takeTurn();
    try {
      await this.db.connection().execute(async (conn) => {
        await conn.executeQuery(TEMP_MEMORY);
        if (walSync) await conn.executeQuery(SYNC_NORMAL);
        try {
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
            // Asked before the connection is free: whatever reads this commit next finds it pending.
            durable = walSync?.afterCommit();
            this.afterCommit?.();
          } catch (error) {
            await conn.executeQuery(ROLLBACK).catch(() => undefined);
            throw error;
          }
        } finally {
          if (walSync) await conn.executeQuery(SYNC_FULL);
          await conn.executeQuery(TEMP_DEFAULT);
        }
      });
    } catch (error) {
      // The group could not commit (a full disk, a lost lock): nothing of it was written.
      for (const item of group) item.reject(error);
      return {};
    } finally {
      endTurn();
    }
    const answer = () =>
      group.forEach((item, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) item.resolve(outcome.value);
        else item.reject(outcome?.error);
      });
    if (!durable) {
      answer();
      return {};
    }
    // Even a request that failed waits, since what it answers may rest on an earlier group's writes.
    durable.then(answer, (error: unknown) => {
      const unknown = new CommitOutcomeUnknown(
        error,
        'the WAL could not be synced after COMMIT: the transaction may or may not survive a power cut',
      );
      for (const item of group) item.reject(unknown);
    });
    return { durable };
  }
}
