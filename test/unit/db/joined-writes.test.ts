import { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { joinedWrites } from '../../../src/db/dialect/joined-writes.js';

// PostgreSQL's writes of a request, joined into one statement (StoreDialect.runWrites). What the
// store makes of the statement is tested through the service (test/v2/bulk-statements.test.ts).
describe('joinedWrites', () => {
  const issuals = CompiledQuery.raw(
    'insert into issuals (org_id, id) select $1, x from unnest($2::bigint[]) x',
    [7, [1, 2]],
  );
  const events = CompiledQuery.raw('insert into events (org_id, type) values ($1, $2), ($1, $3)', [
    7,
    'a',
    'b',
  ]);
  const counts = CompiledQuery.raw(
    'insert into promotion_day_counts as t (org_id, n) values ($1, $2) on conflict (org_id) do update set n = t.n + excluded.n',
    [7, 2],
  );

  it('joins writes of different tables into one statement, parameters renumbered in order', () => {
    const [joined, ...rest] = joinedWrites([issuals, events, counts]);
    expect(rest).toHaveLength(0);
    expect(joined?.sql).toBe(
      'with w1 as (insert into issuals (org_id, id) select $1, x from unnest($2::bigint[]) x), ' +
        'w2 as (insert into events (org_id, type) values ($3, $4), ($3, $5)) ' +
        'insert into promotion_day_counts as t (org_id, n) values ($6, $7) on conflict (org_id) do update set n = t.n + excluded.n',
    );
    expect(joined?.parameters).toStrictEqual([7, [1, 2], 7, 'a', 'b', 7, 2]);
  });

  it('makes the same text for the same statements, with each call its own values', () => {
    const again = CompiledQuery.raw(events.sql, [8, 'c', 'd']);
    const first = joinedWrites([issuals, events]);
    const second = joinedWrites([issuals, again]);
    expect(second[0]?.sql).toBe(first[0]?.sql);
    expect(second[0]?.parameters).toStrictEqual([7, [1, 2], 8, 'c', 'd']);
  });

  it('leaves a single statement, and none, as they are', () => {
    expect(joinedWrites([events])).toStrictEqual([events]);
    expect(joinedWrites([])).toStrictEqual([]);
  });

  it('sends writes of one table in turn: the parts of a statement run in no set order', () => {
    const more = CompiledQuery.raw('insert into events (org_id, type) values ($1, $2)', [7, 'c']);
    expect(joinedWrites([events, more, counts])).toStrictEqual([events, more, counts]);
  });

  it('sends in turn what is not a plain write, or has a $ that is not a parameter', () => {
    const select = CompiledQuery.raw('select $1::int', [1]);
    expect(joinedWrites([select, counts])).toStrictEqual([select, counts]);
    const quoted = CompiledQuery.raw('insert into notes (body) values ($$a $1 b$$)', []);
    expect(joinedWrites([quoted, counts])).toStrictEqual([quoted, counts]);
  });

  it('refuses a statement whose values are not its parameters', () => {
    const short = CompiledQuery.raw(events.sql, [7, 'a']);
    expect(() => joinedWrites([issuals, short])).toThrow(/2 parameters has \$3/);
  });
});
