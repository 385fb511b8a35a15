import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, type LogEvent, type SqlBool, SqliteDialect, sql } from 'kysely';
import type { StoreConfig } from '../../config.js';
import { runFixed } from '../fixed-statement.js';
import type { Database } from '../schema.js';
import { FALLBACK_AUTOCHECKPOINT, startCheckpointer } from '../sqlite-checkpointer.js';
import { newWriterTurns, SqliteGroupCommit, type WriterTurns } from '../sqlite-group-commit.js';
import { WalSync } from '../sqlite-wal-sync.js';
import { cachingSqlite } from '../statement-cache.js';
import { exactId } from '../store-errors.js';
import { paddedInserts, paddedText } from './padded-rows.js';
import type {
  CustomerLookupRow,
  CustomerStateRow,
  Db,
  SequenceName,
  Store,
  StoreDialect,
  StoreOptions,
} from './store-dialect.js';

// One group committer per database (see sqlite-group-commit.ts); PostgreSQL groups commits itself.
const groupCommits = new WeakMap<Db, SqliteGroupCommit<Database>>();

// Lists travel as one JSON parameter, read back row by row with json_each.
const jsonList = (values: unknown) => sql`json_each(${JSON.stringify(values)})`;

// SQLite's statement texts for padded rows (padded-rows.ts), made here once, not by Kysely on every
// call (about 100 µs for 400 values); the store reads a VALUES list faster than rows sent as one JSON
// list: about 140 against 200 µs for 100 issuals, 115 against 170 for 100 events, their JSON included.
// `statement(list)` for `rows` rows of `width` placeholders, `list` being the VALUES list; made once
// for each `name` and row count.
function sqliteText(name: string, width: number, statement: (list: string) => string) {
  return (rows: number): string =>
    paddedText(`sqlite ${name}`, rows, (n) => {
      const values = `(${Array.from({ length: width }, () => '?').join(', ')})`;
      return statement(Array.from({ length: n }, () => values).join(', '));
    });
}

const EVENTS_ADVANCE = "update id_sequences set value = value + ? where name = 'events'";
const EVENTS_TEXT = sqliteText(
  'events',
  3,
  (list) => `insert into events (org_id, xid, id, type, at, data)
      select ?, 0, (select value from id_sequences where name = 'events') + column1, column2, ?, column3
      from (values ${list}) where column1 is not null`,
);

export const sqliteDialect: StoreDialect = {
  name: 'sqlite',
  embedded: true,
  sharedByProcesses: false,

  /**
   * One savepoint of a group transaction that takes the write lock at its start (BEGIN IMMEDIATE, so
   * reads inside are never stale against another writer process) and commits the requests that
   * arrived together at once.
   */
  writeTransaction(db, fn) {
    let writer = groupCommits.get(db);
    if (!writer) {
      writer = new SqliteGroupCommit(db);
      groupCommits.set(db, writer);
    }
    return writer.run(fn);
  },

  oneOf(column, values) {
    return sql<SqlBool>`${sql.ref(column)} in (select value from ${jsonList(values)})`;
  },

  // SQLite probes the index of (org_id, column) once per value of an IN list, statistics or none.
  keyedRows(_table, alias, orgId, column, keys) {
    return sql<SqlBool>`${sql.ref(`${alias}.org_id`)} = ${orgId}
      and ${sql.ref(`${alias}.${column}`)} in (select value from ${jsonList(keys)})`;
  },

  textList(column, from) {
    return sql<string | null>`(select group_concat(${sql.ref(column)}, ',') ${from})`;
  },

  rowsInsert(_db, table, fixed, columns, rows) {
    const names = [...fixed, ...columns].map((c) => c.name).join(', ');
    const head =
      `insert into ${table} (${names}) select ${fixed.map(() => '?').join(', ')}, ` +
      columns.map((_, i) => `column${i + 1}`).join(', ');
    return paddedInserts(
      rows.length,
      columns.length,
      fixed.map((c) => c.value),
      (i) => rows[i] as readonly unknown[],
      sqliteText(
        `${table} (${names})`,
        columns.length,
        (list) => `${head} from (values ${list}) where column1 is not null`,
      ),
    );
  },

  // In this process, each one a call of the driver: nothing to gain from joining them.
  async runWrites(trx, queries) {
    for (const query of queries) await trx.executeQuery(query);
  },

  // Write transactions are serial already: each took the database's write lock when it began.
  async lockKind() {},

  async nextIds(trx, wanted) {
    const names = wanted.map(([name]) => name);
    const rows = await runFixed<{ name: string; value: number }>(
      trx,
      `sqlite nextIds ${names.join(' ')}`,
      [...wanted.flat(), ...names],
      () => {
        const increments = sql.join(
          wanted.map(([name, n]) => sql`when ${name} then ${n}`),
          sql` `,
        );
        return sql`update id_sequences
      set value = value + case name ${increments} else 0 end
      where name in (${sql.join(names)}) returning name, value`;
      },
    );
    const ids: [SequenceName, number][] = [];
    for (const row of rows) {
      const n = wanted.find(([name]) => name === row.name)?.[1] ?? 0;
      // Past 2^53-1, id++ stops moving and this loop would never end (and the update rolls back).
      const last = exactId(row.name, row.value);
      for (let id = last - n + 1; id <= last; id++) ids.push([row.name as SequenceName, id]);
    }
    return ids;
  },

  async sequenceCounters(db) {
    const { rows } = await sql<{ name: string; value: string }>`
    select name, cast(value as text) as value from id_sequences`.execute(db);
    return rows;
  },

  async advanceSequence(trx, name, maxId) {
    await trx
      .updateTable('id_sequences')
      .set({ value: sql`max(value, ${maxId})` })
      .where('name', '=', name)
      .execute();
  },

  /**
   * SQLite's planner picks the identifier's index for a list of keys by itself, with or without
   * statistics (test/plans). Membership and sources are correlated subqueries: a few index probes each.
   */
  findCustomers(trx, orgId, programId, column, keys) {
    const list = JSON.stringify(keys);
    return runFixed<CustomerLookupRow>(
      trx,
      `sqlite findCustomers ${column}`,
      [programId, orgId, list],
      () => sql`
    select c.id, ${sql.ref(column)} as key,
      exists (select 1 from program_members m
        where m.org_id = c.org_id and m.program_id = ${programId} and m.customer_id = c.id) as member,
      (select group_concat(s.source, ',') from customer_sources s
        where s.org_id = c.org_id and s.customer_id = c.id) as sources
    from customers c
    where c.org_id = ${orgId} and ${sql.ref(column)} in (select value from json_each(${list}))`,
    );
  },

  /**
   * SQLite's statements cost no round trip, only their own work, and there grouping the customers'
   * index entries costs less than a correlated probe per customer (about 190 against 250 µs for 100):
   * a row for each customer who has issuals (or earns).
   */
  async customerStates(trx, orgId, promotionId, customerIds, countEarns) {
    const ids = JSON.stringify(customerIds);
    const values = [orgId, promotionId, ids];
    const rows = await runFixed<CustomerStateRow>(
      trx,
      'sqlite issual states',
      values,
      () => sql`
    select customer_id, count(*) as total, max(case when revoked_at is null then id end) as active_id,
      null as active_earns
    from issuals where org_id = ${orgId} and promotion_id = ${promotionId}
      and customer_id in (select value from json_each(${ids}))
    group by customer_id`,
    );
    if (!countEarns) return rows;
    const earns = await runFixed<CustomerStateRow>(
      trx,
      'sqlite earn states',
      values,
      () => sql`
    select customer_id, null as total, null as active_id, count(*) as active_earns
    from earns where org_id = ${orgId} and promotion_id = ${promotionId} and revoked_at is null
      and customer_id in (select value from json_each(${ids}))
    group by customer_id`,
    );
    return [...rows, ...earns];
  },

  // The write transaction took the database's write lock when it began: no other can touch the rows.
  forUpdate(query) {
    return query;
  },

  // One process writes the file: its own changes tell it directly (see Store.listen).
  async notify() {},

  // SQLite plans without statistics that go stale.
  async refreshStatistics() {
    return [];
  },

  // One write transaction at a time, so the id order is the commit order and every xid is 0. Ids
  // come from the 'events' counter, moved past the request's events by one update after the insert
  // (a row trigger did it before, an update a row: a third of the insert's time).
  eventsInsert(orgId, at, types, data) {
    const n = types.length;
    if (n === 0) return [];
    return [
      ...paddedInserts(n, 3, [orgId, at], (i) => [i + 1, types[i], data[i]], EVENTS_TEXT),
      CompiledQuery.raw(EVENTS_ADVANCE, [n]),
    ];
  },
  eventHorizon: sql<number>`1`,
  // Writers take the whole database in turn: there is no row lock to pass over.
  skipLocked: sql``,
};

export function openSqlite(
  config: Extract<StoreConfig, { kind: 'sqlite' }>,
  log: ((event: LogEvent) => void) | undefined,
  options: Pick<
    StoreOptions,
    'sqliteGuestOf' | 'sqliteCheckpointThread' | 'sqliteSyncOffThread' | 'onIdleError'
  > = {},
): Store {
  const guestOf = options.sqliteGuestOf;
  if (config.filename !== ':memory:')
    mkdirSync(path.dirname(path.resolve(config.filename)), { recursive: true });
  const database = new SqliteDatabase(config.filename);
  // Durability first: WAL with synchronous=FULL means an acknowledged commit survives a power cut.
  if (config.filename !== ':memory:') database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  // Another process (say `loyalty seed` beside a running server) may hold the write lock for a moment.
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: cachingSqlite(database) }),
    ...(log ? { log } : {}),
  });
  // Another thread's connection to this file takes turns with it (an in-memory database has none).
  const turns: WriterTurns | undefined = guestOf
    ? { buffer: guestOf, role: 'guest' }
    : config.filename !== ':memory:'
      ? { buffer: newWriterTurns(), role: 'host' }
      : undefined;
  const checkpointer =
    options.sqliteCheckpointThread && !guestOf && config.filename !== ':memory:'
      ? startCheckpointer(config.filename, (error) => {
          // The commits checkpoint for themselves again, as SQLite does by default.
          if (database.open) database.pragma('wal_autocheckpoint = 1000');
          options.onIdleError?.(error);
        })
      : undefined;
  if (checkpointer) database.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`);
  const walSync =
    options.sqliteSyncOffThread && !guestOf && config.filename !== ':memory:'
      ? new WalSync(`${config.filename}-wal`, options.onIdleError)
      : undefined;
  groupCommits.set(db, new SqliteGroupCommit(db, turns, checkpointer?.committed, walSync));
  return {
    db,
    dialect: sqliteDialect,
    // The thread's connection closes first, so that the last one to close (ours) checkpoints in full.
    destroy: async () => {
      await walSync?.pending();
      walSync?.close();
      await checkpointer?.stop();
      await db.destroy();
    },
    ...(walSync ? { durable: () => walSync.pending() } : {}),
    ...(turns?.role === 'host' ? { writerTurns: turns.buffer } : {}),
  };
}
