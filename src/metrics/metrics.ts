import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BulkResponse } from '../client/types.js';
import { BULK_ACTIONS } from '../contract/enums.contract.js';
import { observeTransactions, type PoolStats, type Store } from '../db/database.js';

/**
 * The Prometheus metrics of one application. Every label has a bounded set of values: route
 * patterns (never a raw URL), methods, statuses, actions and outcomes; never a customer, a promotion
 * or a credential.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Counts the customers of a bulk answer by action and outcome (ok, warning, failed). */
  countCustomers(action: string, answer: Pick<BulkResponse, 'response'>): void;
}

const ACTIONS: ReadonlySet<string> = new Set(BULK_ACTIONS);
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Creates the metrics of an app over `store`, and hooks the request counters into `app`. */
export function createMetrics(app: FastifyInstance, store: Store): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'loyalty_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'loyalty_http_request_duration_seconds',
    help: 'Time from receiving a request to the end of its answer, by method, route pattern and status',
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const customers = new Counter({
    name: 'loyalty_customers_processed_total',
    help: 'Customers of bulk and issue answers, by action and outcome (ok, warning, failed)',
    labelNames: ['action', 'outcome'] as const,
    registers: [registry],
  });
  const transactions = new Histogram({
    name: 'loyalty_store_transaction_duration_seconds',
    help: 'Write transactions of the store, by outcome (commit or rollback)',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // How long this process's event loop ran rather than waited for I/O. Its rate is the share of the
  // loop's time it was busy: near 1 the loop is saturated and every answer queues behind the others,
  // a tail no pool, index or store setting shortens (add processes or cores). prom-client's lag
  // gauges show the delay a timer met, not how much of the time the loop had none to spare.
  let busyMs = performance.eventLoopUtilization().active;
  new Counter({
    name: 'loyalty_event_loop_busy_seconds_total',
    help: 'Time the event loop of this process spent running callbacks rather than waiting for I/O',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization().active;
      this.inc((now - busyMs) / 1000);
      busyMs = now;
    },
  });
  const stop = observeTransactions(store, (seconds, committed) =>
    transactions.observe({ outcome: committed ? 'commit' : 'rollback' }, seconds),
  );
  app.addHook('onClose', async () => stop());

  const pool = store.poolStats?.bind(store);
  if (pool) {
    const gauge = (name: string, help: string, read: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(pool()));
        },
      });
    gauge('loyalty_store_pool_connections', 'PostgreSQL connections open (idle or busy)', (s) => s.total);
    gauge('loyalty_store_pool_idle_connections', 'PostgreSQL connections open and idle', (s) => s.idle);
    gauge(
      'loyalty_store_pool_waiting_clients',
      'Callers waiting for a PostgreSQL connection',
      (s) => s.waiting,
    );
  }

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern; a request that matched no route counts under one label.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });

  return {
    registry,
    countCustomers(action, answer) {
      const label = ACTIONS.has(action) ? action : 'OTHER';
      let ok = 0;
      let warning = 0;
      let failed = 0;
      for (const item of answer.response) {
        if (item.errors.length > 0) failed++;
        else if (item.warnings.length > 0) warning++;
        else ok++;
      }
      if (ok) customers.inc({ action: label, outcome: 'ok' }, ok);
      if (warning) customers.inc({ action: label, outcome: 'warning' }, warning);
      if (failed) customers.inc({ action: label, outcome: 'failed' }, failed);
    },
  };
}

/** `GET /metrics`, in the Prometheus text format. */
export async function metricsRoutes(app: FastifyInstance, { metrics }: { metrics: Metrics }) {
  const openapi = {
    operationId: 'metrics',
    summary: 'Prometheus metrics (off with LOYALTY_METRICS=0)',
    tags: ['operations'],
    security: [],
    response: {
      200: {
        description: 'The Prometheus text format.',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  };
  app.get('/metrics', { config: { openapi } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
