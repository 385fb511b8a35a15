import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoints of a SQLite WAL in a thread of their own. SQLite checkpoints in the connection whose
 * commit takes the WAL past `wal_autocheckpoint` pages (1,000 by default): under a bulk load that was
 * the requests' thread, blocked 8 to 20 ms several times a second while it copied the WAL's pages
 * into the database file and synced it (a fifth of its commit time, and the longest waits a request
 * met at a steady load). Here a thread with a connection of its own copies the pages after a group
 * commit, at most every 50 ms (PASSIVE: it takes no lock a writer needs, and the writer goes on
 * appending); once it has copied the WAL in full before a group begins, that group's writer starts
 * the WAL over from its first page. The requests' connection keeps an autocheckpoint, at a higher
 * mark, for when this thread falls behind: then it copies what is left and the WAL starts over.
 */
export interface Checkpointer {
  /** A group committed: the thread copies its pages. */
  committed(): void;
  /** Ends the thread (after the checkpoint it is running). */
  stop(): Promise<void>;
}

/** The requests' connection's own autocheckpoint once a thread checkpoints (pages; SQLite's is 1,000). */
export const FALLBACK_AUTOCHECKPOINT = 8_000;

const COMMITS = 0;
const STOP = 1;
// Checkpoints at most this often under a steady load (SQLite's own mark came about 8 times a second
// under a bulk load); one after each commit when commits are further apart.
const CHECKPOINT_SPACING_MS = 50;

// Plain CommonJS, evaluated by the thread: no module of ours to load, so that it costs a few MB.
const THREAD = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const slots = new Int32Array(workerData.buffer);
const db = new Database(workerData.filename);
// The checkpoint syncs the WAL before it copies and the database file after, as the writer would.
db.pragma('synchronous = FULL');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A checkpoint the writer's own was running, or a lock held for a moment: the next commit tries again.
  }
};
let seen = Atomics.load(slots, ${COMMITS});
let last = 0;
while (Atomics.load(slots, ${STOP}) === 0) {
  Atomics.wait(slots, ${COMMITS}, seen, 1000);
  if (Atomics.load(slots, ${COMMITS}) === seen) continue;
  // At most one checkpoint every SPACING ms: each syncs the WAL and the database file, and a sync
  // per group commit beside the writer's own slowed its commits. The commits meanwhile join this one.
  const rest = last + ${CHECKPOINT_SPACING_MS} - Date.now();
  if (rest > 0) Atomics.wait(slots, ${STOP}, 0, rest);
  if (Atomics.load(slots, ${STOP}) !== 0) break;
  seen = Atomics.load(slots, ${COMMITS});
  last = Date.now();
  checkpoint();
}
db.close();
`;

/** `onFailed` is told if the thread ends by an error (the writer should then checkpoint as before). */
export function startCheckpointer(filename: string, onFailed: (error: Error) => void): Checkpointer {
  const buffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const slots = new Int32Array(buffer);
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const thread = new Worker(THREAD, { eval: true, workerData: { buffer, driver, filename } });
  // It never holds the process open: a server that ends closes its store, which stops it.
  thread.unref();
  thread.on('error', onFailed);
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  return {
    committed() {
      Atomics.add(slots, COMMITS, 1);
      Atomics.notify(slots, COMMITS);
    },
    async stop() {
      // Held open until the thread has ended, so that the store's own close comes after it.
      thread.ref();
      Atomics.store(slots, STOP, 1);
      Atomics.notify(slots, STOP);
      Atomics.add(slots, COMMITS, 1);
      Atomics.notify(slots, COMMITS);
      await exited;
    },
  };
}
