import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config, StoreConfig } from '../config.js';
import { releaseGuests } from '../db/sqlite-group-commit.js';
import type { Outcome } from './delivery.plan.js';

/** What runs delivery in a process: the worker itself, or the thread that holds it. */
export interface Delivery {
  start(): void;
  /** Events were written: look for work now rather than at the next poll. */
  nudge(): void;
  /** An endpoint was made or changed in this process: look for work now, endpoints or none before. */
  endpointsChanged(): void;
  /** Stops claiming, and waits for the attempts in flight (each ends within the timeout). */
  stop(): Promise<void>;
}

export type ToThread = 'nudge' | 'endpoints' | 'stop';
/** What the thread is started with. */
export interface ThreadData {
  config: Config;
  /** SQLite: the server's store's writer turns, which the thread's connection takes part in. */
  writerTurns?: SharedArrayBuffer | undefined;
  /** One Int32: 0 while the thread's last poll found no enabled endpoint (no nudge is passed on). */
  endpoints: SharedArrayBuffer;
}
export type FromThread =
  | { kind: 'attempt'; webhookId: string; outcome: Outcome }
  | { kind: 'warn'; msg: string; error: string };

/**
 * The delivery thread's store: the server's, with a pool no larger than the endpoints it sends to at
 * once (and one to claim with).
 */
export function deliveryStoreConfig(config: Config): StoreConfig {
  const { store } = config;
  if (store.kind !== 'postgres') return store;
  return { ...store, poolSize: Math.max(1, Math.min(store.poolSize, config.events.concurrency + 1)) };
}

export interface DeliveryThreadDeps {
  config: Config;
  /** The server's store's writer turns (SQLite), for the thread's connection to take part in. */
  writerTurns?: SharedArrayBuffer | undefined;
  log: { warn(obj: object, msg: string): void };
  onAttempt?: (webhookId: string, outcome: Outcome) => void;
}

// A thread that dies (it should not) is started again after this long.
const RESTART_MS = 1000;
// Nudges are passed on at most this often: each makes the thread look for endpoints to claim, a
// write, and on SQLite a write the requests' group commit may wait behind.
const NUDGE_MS = 10;

/**
 * Delivery in a worker thread (delivery.thread.ts). Under a full request load the server's event loop
 * turns slowly, and a worker sharing it got about one await through per turn; in a thread of its own
 * it keeps pace with the writers. Its guarantees are the worker's: a thread is one more owner of
 * leases, and dies with its process.
 */
export function createDeliveryThread({ config, log, onAttempt, writerTurns }: DeliveryThreadDeps): Delivery {
  const endpoints = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const workerData: ThreadData = { config, writerTurns, endpoints: endpoints.buffer as SharedArrayBuffer };
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(`./delivery.thread.${source ? 'ts' : 'js'}`, import.meta.url);
  // From the TypeScript sources (tests, the benches), the thread compiles its modules with tsx's
  // require hook: an import hook registered in a worker thread comes too late for its entry on Node 20.
  const boot = source
    ? `require(${JSON.stringify(createRequire(import.meta.url).resolve('tsx/cjs'))});` +
      `require(${JSON.stringify(fileURLToPath(entry))});`
    : undefined;
  let thread: Worker | undefined;
  let stopping = false;
  let restart: NodeJS.Timeout | undefined;
  let nudgeTimer: NodeJS.Timeout | undefined;
  let lastNudge = 0;

  function passNudge(): void {
    nudgeTimer = undefined;
    lastNudge = Date.now();
    thread?.postMessage('nudge' satisfies ToThread);
  }

  function spawn(): void {
    // Until the new thread's first poll says otherwise, as if there were endpoints (its worker starts
    // so, and tells only of a change).
    Atomics.store(endpoints, 0, 1);
    const started = boot ? new Worker(boot, { eval: true, workerData }) : new Worker(entry, { workerData });
    started.on('message', (message: FromThread) => {
      if (message.kind === 'attempt') onAttempt?.(message.webhookId, message.outcome);
      else log.warn({ err: message.error }, message.msg);
    });
    started.on('error', (err) => log.warn({ err }, 'the webhook delivery thread failed; it starts again'));
    started.on('exit', () => {
      // A thread that died inside a write no longer waits for its turn: the requests need not wait for it.
      if (writerTurns) releaseGuests(writerTurns);
      if (thread !== started) return;
      thread = undefined;
      if (stopping) return;
      // Its leases run out and are claimed again, by the new thread or another process.
      restart = setTimeout(spawn, RESTART_MS);
      restart.unref();
    });
    thread = started;
  }

  return {
    start(): void {
      if (thread || stopping) return;
      spawn();
    },
    nudge(): void {
      // No endpoint to send to: waking the thread (a message, and a look in the store) would be
      // work for nothing on every commit; an endpoint made in another process is found by a poll.
      if (!thread || nudgeTimer || Atomics.load(endpoints, 0) === 0) return;
      const wait = lastNudge + NUDGE_MS - Date.now();
      if (wait <= 0) passNudge();
      else {
        nudgeTimer = setTimeout(passNudge, wait);
        nudgeTimer.unref();
      }
    },
    endpointsChanged(): void {
      Atomics.store(endpoints, 0, 1);
      thread?.postMessage('endpoints' satisfies ToThread);
    },
    async stop(): Promise<void> {
      stopping = true;
      if (restart) clearTimeout(restart);
      if (nudgeTimer) clearTimeout(nudgeTimer);
      const running = thread;
      if (!running) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.postMessage('stop' satisfies ToThread);
      await exited;
    },
  };
}
