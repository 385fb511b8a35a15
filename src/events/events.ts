import type { Registry } from 'prom-client';
import type { SecretBox } from '../auth/secret-box.js';
import type { Clock } from '../clock.js';
import type { EventsConfig } from '../config.js';
import type { Store } from '../db/database.js';
import { createDeliveryWorker, type DeliveryWorker } from './delivery.worker.js';
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
  worker: DeliveryWorker;
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
}

export function createEvents({ store, config, clock, log, box }: EventsDeps): Events {
  const feedRepository = createFeedRepository(store.db, store.dialect);
  const repository = createWebhookRepository(store);
  let metrics: EventMetrics | undefined;
  const worker = createDeliveryWorker({
    repository,
    config,
    clock,
    log,
    box,
    onAttempt: (id, outcome) => metrics?.attempted(id, outcome),
  });
  const webhooks = createWebhookService({
    repository,
    feed: feedRepository,
    orgExists: repository.orgExists,
    clock,
    allowPrivate: config.allowPrivate,
    box,
    onChange: () => worker.nudge(),
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
