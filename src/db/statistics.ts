import type { Store } from './database.js';

// The tables a bulk import grows. The bulk path's plans need no statistics (test/plans); what the
// import reads next does: its duplicate checks are lists of up to 1,000 values, which a planner
// without statistics takes for most of the table. So an import refreshes them; nothing else does, and
// a server no longer analyses on a timer (autovacuum, where it runs, keeps them fresh).
const TABLES = ['customers', 'customer_sources', 'program_members'];

/** Analyses those of the tables that changed much since (see the dialect's refreshStatistics). */
export function refreshStatistics(store: Store): Promise<string[]> {
  return store.dialect.refreshStatistics(store.db, TABLES);
}
