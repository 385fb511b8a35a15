import { type Kysely, sql } from 'kysely';

// Plans of the bulk path that are right with no statistics at all (issue 14). PostgreSQL estimates an
// equality on a column it has no statistics for to match one row in 200, so `org_id = $1 and
// promotion_id = $2` looks like one row in 40,000: any index that leads with (org_id, promotion_id)
// then seems as good as issuals_customer_idx for finding one customer's issuals, whose third column is
// the customer. Below about 40,000 issuals both are estimated at one row, the tie went to the index
// made last (issuals_report_idx), and each of a request's 100 customers read every issual of the
// promotion. A new promotion after an ANALYZE is estimated at one row too, whatever its size later.
//
// So no index of the bulk path's tables may offer a statement of that path a tempting wrong way in:
// - The report's index becomes partial on a condition that every issual meets (ids are positive), so
//   only a statement that names the condition can use it. The report names it; the bulk path's
//   statements do not, and the customer's index is the only one that leads with (org_id, promotion_id).
// - idempotency_keys_created_idx (org_id, created_at) goes: nothing reads by it, and for a replay
//   lookup on an unanalysed table it tied with the key itself and won, reading the org's every key of
//   the last day.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('issuals_report_idx').execute();
  await db.schema
    .createIndex('issuals_report_idx')
    .on('issuals')
    .columns(['org_id', 'promotion_id', 'id'])
    .where(sql.ref('id'), '>', sql.lit(0))
    .execute();
  await db.schema.dropIndex('idempotency_keys_created_idx').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('idempotency_keys_created_idx')
    .on('idempotency_keys')
    .columns(['org_id', 'created_at'])
    .execute();
  await db.schema.dropIndex('issuals_report_idx').execute();
  await db.schema
    .createIndex('issuals_report_idx')
    .on('issuals')
    .columns(['org_id', 'promotion_id', 'id'])
    .execute();
}
