import type { Store } from './database.js';

// The tables whose growth changes the plans of the hot path.
const TABLES = ['customers', 'customer_sources', 'program_members', 'issuals', 'earns', 'idempotency_keys'];

/**
 * PostgreSQL plans the bulk path from table statistics, which go stale where autovacuum is off (see
 * the dialect's refreshStatistics). Returns the tables it analysed.
 */
export function refreshStatistics(store: Store): Promise<string[]> {
  return store.dialect.refreshStatistics(store.db, TABLES);
}

/** Runs refreshStatistics every `intervalMs` until stopped; failures are reported, never thrown. */
export function keepStatistics(
  store: Store,
  intervalMs: number,
  onError: (err: unknown) => void,
): () => void {
  if (!store.dialect.plansFromStatistics) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    refreshStatistics(store)
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
