import type { Registry } from 'prom-client';
import type { SecretBox } from '../auth/secret-box.js';
import type { Clock } from '../clock.js';
import type { Config, EventsConfig } from '../config.js';
import type { Store } from '../db/database.js';
import { createDeliveryThread, type Delivery } from './delivery.host.js';
import type { Outcome } from './delivery.plan.js';
import { createDeliveryWorker } from './delivery.worker.js';
import type { NewEvent } from './event.model.js';
import { type EventMetrics, registerEventMetrics } from './events.metrics.js';
import { createFeedRepository } from './feed.repository.js';
import { createFeedService, type FeedService } from './feed.service.js';
import { createOutbox, type Outbox } from './outbox.repository.js';
import { createWebhookRepository } from './webhook.repository.js';
import { createWebhookService, type WebhookService } from './webhook.service.js';

/** The events part of one application: outbox writer, feed, webhooks and their delivery. */
export interface Events {
  outbox: Outbox;
  feed: FeedService;
  webhooks: WebhookService;
  worker: Delivery;
  /** Called once a transaction that wrote events has committed: counts them, wakes delivery. */
  committed(events: readonly NewEvent[]): void;
  /** Adds the events' metrics to a registry. */
  observe(registry: Registry): void;
}

export interface EventsDeps {
  store: Store;
  config: EventsConfig;
  clock: Clock;
  log: { warn(obj: object, msg: string): void };
  /** Seals the endpoints' secrets in the store (LOYALTY_SECRET_KEY). */
  box: SecretBox;
  /**
   * Deliver in a worker thread with its own store connection, configured by this (the server's whole
   * configuration: the store, the events' settings, the secret keys); in this process when absent.
   */
  thread?: Config;
}

export function createEvents({ store, config, clock, log, box, thread }: EventsDeps): Events {
  const feedRepository = createFeedRepository(store.db, store.dialect);
  const repository = createWebhookRepository(store);
  let metrics: EventMetrics | undefined;
  const onAttempt = (id: string, outcome: Outcome) => metrics?.attempted(id, outcome);
  const worker: Delivery = thread
    ? createDeliveryThread({ config: thread, log, onAttempt, writerTurns: store.writerTurns })
    : createDeliveryWorker({ repository, config, clock, log, box, onAttempt });
  const webhooks = createWebhookService({
    repository,
    feed: feedRepository,
    orgExists: repository.orgExists,
    clock,
    allowPrivate: config.allowPrivate,
    box,
    onChange: () => worker.endpointsChanged(),
  });
  return {
    outbox: createOutbox(store.dialect),
    feed: createFeedService(feedRepository),
    webhooks,
    worker,
    committed(events) {
      if (events.length === 0) return;
      metrics?.written(events);
      worker.nudge();
    },
    observe(registry) {
      metrics = registerEventMetrics(registry, repository, clock);
    },
  };
}
