import { sql } from 'kysely';
import type { Dialect, Trx } from './database.js';

export type SequenceName = 'orgs' | 'programs' | 'promotions' | 'customers' | 'issuals' | 'earns' | 'audit';

/**
 * Takes `counts[name]` fresh ids from each named sequence in one statement, whatever the counts.
 * Ids are unique across the deployment; on PostgreSQL they come from real sequences, so concurrent
 * transactions never wait on each other for them.
 */
export async function allocateIds(
  trx: Trx,
  dialect: Dialect,
  counts: Partial<Record<SequenceName, number>>,
): Promise<Record<SequenceName, number[]>> {
  const result: Record<SequenceName, number[]> = {
    orgs: [],
    programs: [],
    promotions: [],
    customers: [],
    issuals: [],
    earns: [],
    audit: [],
  };
  const wanted = (Object.entries(counts) as [SequenceName, number][]).filter(([, n]) => n > 0);
  if (wanted.length === 0) return result;

  if (dialect === 'postgres') {
    const parts = wanted.map(
      ([name, n]) =>
        sql`select ${name}::text as name, nextval(${`${name}_id_seq`}::regclass) as id from generate_series(1, ${n}::int)`,
    );
    const { rows } = await sql<{
      name: SequenceName;
      id: number;
    }>`${sql.join(parts, sql` union all `)}`.execute(trx);
    for (const row of rows) result[row.name].push(Number(row.id));
    return result;
  }

  const increments = sql.join(
    wanted.map(([name, n]) => sql`when ${name} then ${n}`),
    sql` `,
  );
  const rows = await trx
    .updateTable('id_sequences')
    .set({ value: sql`value + case name ${increments} else 0 end` })
    .where(
      'name',
      'in',
      wanted.map(([name]) => name),
    )
    .returning(['name', 'value'])
    .execute();
  for (const row of rows) {
    const n = counts[row.name as SequenceName] ?? 0;
    const ids = result[row.name as SequenceName];
    for (let id = row.value - n + 1; id <= row.value; id++) ids.push(id);
  }
  return result;
}

/** After records were inserted with ids of their own, moves the sequence past the largest of them. */
export async function advanceSequence(
  trx: Trx,
  dialect: Dialect,
  name: SequenceName,
  maxId: number,
): Promise<void> {
  if (dialect === 'postgres') {
    const seq = sql.id(`${name}_id_seq`);
    await sql`select setval(${`${name}_id_seq`}::regclass, ${maxId}::bigint) from ${seq}
      where ${maxId}::bigint > (case when is_called then last_value else last_value - 1 end)`.execute(trx);
    return;
  }
  await trx
    .updateTable('id_sequences')
    .set({ value: sql`max(value, ${maxId})` })
    .where('name', '=', name)
    .execute();
}
