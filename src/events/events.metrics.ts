import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Outcome } from './delivery.plan.js';
import type { NewEvent } from './event.model.js';
import type { WebhookRepository } from './webhook.repository.js';

// Counting the waiting events of an endpoint stops here: beyond it the figure says "far behind".
const BACKLOG_CAP = 100_000;

export interface EventMetrics {
  /** Events committed by this process. */
  written(events: readonly NewEvent[]): void;
  attempted(webhookId: string, outcome: Outcome): void;
}

/**
 * Events written (by type), deliveries by endpoint and outcome, and, read from the store when
 * scraped, each enabled endpoint's waiting events and the age of its oldest. Endpoint ids are labels:
 * an operator makes them, so their number stays small.
 */
export function registerEventMetrics(
  registry: Registry,
  repository: WebhookRepository,
  clock: Clock,
): EventMetrics {
  const written = new Counter({
    name: 'loyalty_events_written_total',
    help: 'Events committed to the outbox by this process, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'loyalty_webhook_deliveries_total',
    help: 'Webhook delivery attempts made by this process, by endpoint and outcome',
    labelNames: ['webhook', 'outcome'] as const,
    registers: [registry],
  });
  let backlog: Promise<{ id: string; pending: number; oldestAt: number | null }[]> | undefined;
  // Both gauges come from one read of the store per scrape.
  const read = () => {
    backlog ??= repository.backlog(BACKLOG_CAP).finally(() => {
      setImmediate(() => {
        backlog = undefined;
      });
    });
    return backlog;
  };
  new Gauge({
    name: 'loyalty_webhook_pending_events',
    help: `Events after each enabled endpoint's cursor, not yet delivered (counted up to ${BACKLOG_CAP})`,
    labelNames: ['webhook'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const b of await read()) this.set({ webhook: b.id }, b.pending);
    },
  });
  new Gauge({
    name: 'loyalty_webhook_oldest_pending_age_seconds',
    help: 'Age of the oldest event not yet delivered to each enabled endpoint (0 when none waits)',
    labelNames: ['webhook'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const now = clock.now();
      for (const b of await read())
        this.set({ webhook: b.id }, b.oldestAt === null ? 0 : Math.max(0, (now - b.oldestAt) / 1000));
    },
  });
  return {
    written(events) {
      // One increment a type (a request writes a hundred events of one or two types): each inc hashes
      // its labels.
      const counts = new Map<string, number>();
      for (const e of events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
      for (const [type, n] of counts) written.inc({ type }, n);
    },
    attempted(webhookId, outcome) {
      deliveries.inc({ webhook: webhookId, outcome });
    },
  };
}
