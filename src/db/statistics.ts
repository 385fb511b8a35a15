import { sql } from 'kysely';
import type { Store } from './database.js';

// The tables whose growth changes the plans of the hot path.
const TABLES = ['customers', 'customer_sources', 'program_members', 'issuals', 'earns', 'idempotency_keys'];

/**
 * PostgreSQL plans the bulk path from table statistics. Where autovacuum is off (as on some
 * managed or test servers), tables that grew from empty keep statistics that say "no rows", and the
 * planner walks a promotion's every issual for each customer. This refreshes statistics the way
 * autovacuum would: a table is analysed once a tenth of it (and at least 500 rows) has changed.
 */
export async function refreshStatistics(store: Store): Promise<string[]> {
  if (store.dialect !== 'postgres') return [];
  const { rows } = await sql<{ relname: string }>`
    select relname from pg_stat_user_tables
    where schemaname = current_schema() and relname = any(${TABLES}::text[])
      and n_mod_since_analyze > 500 + 0.1 * greatest(n_live_tup, 0)`.execute(store.db);
  for (const { relname } of rows) await sql`analyze ${sql.table(relname)}`.execute(store.db);
  return rows.map((r) => r.relname);
}

/** Runs refreshStatistics every `intervalMs` until stopped; failures are reported, never thrown. */
export function keepStatistics(
  store: Store,
  intervalMs: number,
  onError: (err: unknown) => void,
): () => void {
  if (store.dialect !== 'postgres') return () => {};
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
