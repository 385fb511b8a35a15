import { parentPort, workerData } from 'node:worker_threads';
import { requireSecretBox } from '../auth/secret-keys.service.js';
import { systemClock } from '../clock.js';
import { createStore } from '../db/database.js';
import { deliveryStoreConfig, type FromThread, type ThreadData, type ToThread } from './delivery.host.js';
import { createDeliveryWorker } from './delivery.worker.js';
import { createWebhookRepository } from './webhook.repository.js';

/**
 * The delivery worker in a thread of its own (see delivery.host.ts): its own event loop, so that the
 * awaits of a delivery (read, POST, answer, record) do not queue behind the requests' work, and its
 * own store connection. Everything it knows comes from the configuration; it tells the server of
 * each attempt (metrics) and of what it would log.
 */

const port = parentPort;
if (!port) throw new Error('delivery.thread.ts runs as a worker thread only');
const { config, writerTurns, endpoints } = workerData as ThreadData;
const endpointsFlag = new Int32Array(endpoints);
const tell = (message: FromThread) => port.postMessage(message);
const store = createStore(deliveryStoreConfig(config), { sqliteGuestOf: writerTurns });
const worker = createDeliveryWorker({
  repository: createWebhookRepository(store),
  config: config.events,
  clock: systemClock,
  box: requireSecretBox(config),
  log: {
    warn: (obj, msg) => {
      const { err } = obj as { err?: unknown };
      tell({ kind: 'warn', msg, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    },
  },
  onAttempt: (webhookId, outcome) => tell({ kind: 'attempt', webhookId, outcome }),
  // The server passes nudges on only while there are endpoints (delivery.host.ts).
  onEndpoints: (any) => Atomics.store(endpointsFlag, 0, any ? 1 : 0),
});

port.on('message', (message: ToThread) => {
  if (message === 'nudge') worker.nudge();
  else if (message === 'endpoints') worker.endpointsChanged();
  else if (message === 'stop')
    // Kept-alive connections to receivers would keep the thread alive: it ends once the store is closed.
    void worker
      .stop()
      .then(() => store.destroy())
      .finally(() => process.exit(0));
});
worker.start();
