import { Kysely, type LogEvent, PostgresDialect, type SqlBool, sql } from 'kysely';
import pg from 'pg';
import type { StoreConfig } from '../../config.js';
import { fixedQuery, runFixed } from '../fixed-statement.js';
import type { Database } from '../schema.js';
import { namedStatementPool } from '../statement-cache.js';
import { CommitOutcomeUnknown, commitMayHaveHappened, exactId } from '../store-errors.js';
import { joinedWrites } from './joined-writes.js';
import { paddedInserts, paddedText } from './padded-rows.js';
import { hostPools, listenOnHosts, parseHosts } from './postgres-hosts.js';
import type {
  CustomerLookupRow,
  CustomerStateRow,
  SequenceName,
  Store,
  StoreDialect,
  StoreOptions,
} from './store-dialect.js';

const PG_INT8_OID = 20;

/**
 * The insert of `rows` events (a multiple of a hundred; padded-rows.ts, a type is never null): $1 the
 * org, $2 the time, then each row's type and data (null for padding). The bench's raw-store baseline
 * sends the same statement.
 */
export function pgEventsInsert(rows: number): string {
  return paddedText('postgres events', rows, (n) => {
    const list = Array.from({ length: n }, (_, i) => `($${2 * i + 3}::text, $${2 * i + 4}::text)`);
    return (
      'insert into events (org_id, xid, id, type, at, data) ' +
      "select $1::bigint, pg_current_xact_id()::text::bigint, nextval('events_id_seq'), v.type, $2::bigint, v.data " +
      `from (values ${list.join(', ')}) as v(type, data) where v.type is not null`
    );
  });
}

export const postgresDialect: StoreDialect = {
  name: 'postgres',
  embedded: false,
  sharedByProcesses: true,

  async writeTransaction(db, fn) {
    let committing = false;
    try {
      return await db.transaction().execute(async (trx) => {
        const result = await fn(trx);
        committing = true;
        return result;
      });
    } catch (err) {
      // Lost between sending COMMIT and hearing back, the writes may be there or not. SQLite cannot
      // end up here: its COMMIT runs in this process, and one that fails is rolled back.
      if (committing && commitMayHaveHappened(err)) throw new CommitOutcomeUnknown(err);
      throw err;
    }
  },

  oneOf(column, values) {
    const type = typeof values[0] === 'string' ? sql`text[]` : sql`bigint[]`;
    return sql<SqlBool>`${sql.ref(column)} = any(${values}::${type})`;
  },

  // The rows' addresses, found by a probe per key (OFFSET 0 keeps each probe from being flattened
  // into a join, which a planner without statistics would run as a scan of the org's rows), then read
  // or changed by address: a TID scan, whatever the plan of the statement around it.
  keyedRows(table, alias, orgId, column, keys) {
    const type = typeof keys[0] === 'string' ? sql`text[]` : sql`bigint[]`;
    return sql<SqlBool>`${sql.ref(`${alias}.ctid`)} = any(array(select x.ctid
      from unnest(${[...new Set(keys)]}::${type}) as k(key)
      cross join lateral (select x.ctid from ${sql.table(table)} x
        where x.org_id = ${orgId} and ${sql.ref(`x.${column}`)} = k.key offset 0) x))`;
  },

  textList(column, from) {
    return sql<string | null>`array_to_string(array(select ${sql.ref(column)} ${from}), ',')`;
  },

  // Rows travel as one array parameter a column, whatever their number: one statement shape.
  rowsInsert(db, table, fixed, columns, rows) {
    if (rows.length === 0) return [];
    const columnValues = columns.map((_, i) => rows.map((row) => row[i]));
    const names = [...fixed, ...columns].map((c) => c.name).join(', ');
    return [
      fixedQuery(
        db,
        `postgres insert ${table} (${names}) ${columns.map((c) => c.type).join(' ')}`,
        [...fixed.map((c) => c.value), ...columnValues],
        () => {
          const lists = columns.map((c, i) => sql`${columnValues[i]}::${sql.raw(c.type)}[]`);
          const values = sql.join([
            ...fixed.map((c) => sql`${c.value}`),
            ...columns.map((c) => sql.raw(`r.${c.name}`)),
          ]);
          const rowNames = sql.raw(columns.map((c) => c.name).join(', '));
          return sql`insert into ${sql.table(table)} (${sql.raw(names)})
      select ${values} from unnest(${sql.join(lists)}) as r(${rowNames})`;
        },
      ),
    ];
  },

  async runWrites(trx, queries) {
    for (const query of joinedWrites(queries)) await trx.executeQuery(query);
  },

  async lockKind(trx, kind) {
    await sql`select pg_advisory_xact_lock(hashtext(${`loyalty:${kind}`}))`.execute(trx);
  },

  // Real sequences, so that concurrent transactions never wait on each other for ids.
  async nextIds(trx, wanted) {
    const values = wanted.flatMap(([name, n]) => [name, `${name}_id_seq`, n]);
    const rows = await runFixed<{ name: SequenceName; id: string }>(
      trx,
      `postgres nextIds ${wanted.map(([name]) => name).join(' ')}`,
      values,
      () => {
        const parts = wanted.map(
          ([name, n]) =>
            sql`select ${name}::text as name, nextval(${`${name}_id_seq`}::regclass)::text as id from generate_series(1, ${n}::int)`,
        );
        return sql`${sql.join(parts, sql` union all `)}`;
      },
    );
    // int8 arrives as digits: past 2^53-1, Number() would round them into another record's id.
    return rows.map((row) => [row.name, exactId(row.name, row.id)]);
  },

  async sequenceCounters(db) {
    const { rows } = await sql<{ name: string; value: string }>`
    select replace(sequencename, '_id_seq', '') as name, coalesce(last_value, 0)::text as value
    from pg_sequences where schemaname = current_schema() and sequencename like '%\_id\_seq'`.execute(db);
    return rows;
  },

  async advanceSequence(trx, name, maxId) {
    const seq = sql.id(`${name}_id_seq`);
    await sql`select setval(${`${name}_id_seq`}::regclass, ${maxId}::bigint) from ${seq}
      where ${maxId}::bigint > (case when is_called then last_value else last_value - 1 end)`.execute(trx);
  },

  /**
   * A lateral probe per key. `c.org_id = $1 and c.id = any($2)` looked cheap to a planner without
   * statistics through any index that leads with org_id (it takes org_id = $1 for one row in 200, and
   * 100 values in a list for 40% of the table), and the first requests then read the org's every
   * customer. LIMIT 1 (an identifier is unique in the org) keeps the subquery from being flattened
   * into a join, so each key is one probe of the identifier's own index.
   */
  findCustomers(trx, orgId, programId, column, keys, lockPromotionId) {
    const texts = typeof keys[0] === 'string';
    const distinct = [...new Set(keys)];
    const locking = lockPromotionId !== undefined;
    const shape = `postgres findCustomers ${column} ${texts ? 'text' : 'bigint'}${locking ? ' locked' : ''}`;
    const values = locking ? [programId, distinct, orgId, lockPromotionId] : [programId, distinct, orgId];
    return runFixed<CustomerLookupRow>(trx, shape, values, () => {
      const type = texts ? sql`text[]` : sql`bigint[]`;
      const lookup = sql<CustomerLookupRow>`
    select c.id, c.key,
      exists (select 1 from program_members m
        where m.org_id = c.org_id and m.program_id = ${programId} and m.customer_id = c.id) as member,
      array_to_string(array(select s.source from customer_sources s
        where s.org_id = c.org_id and s.customer_id = c.id), ',') as sources
    from unnest(${distinct}::${type}) as k(key)
    cross join lateral (select c.id, c.org_id, ${sql.ref(column)} as key from customers c
      where c.org_id = ${orgId} and ${sql.ref(column)} = k.key limit 1) c`;
      if (!locking) return lookup;
      // The lock of each pair is a 64-bit key, the promotion in the high half and the customer
      // xor'ed into it. The sort (kept by OFFSET 0 under the aggregate that calls the lock) takes
      // them in one order whatever the request's; the join on the aggregate's one row makes every
      // lock held before the statement answers. Found customers who fail a later check are locked
      // too, which only narrows what may run beside this request.
      return sql<CustomerLookupRow>`
    with found as materialized (${lookup}),
    locked as (select count(pg_advisory_xact_lock(l.k)) as n
      from (select distinct (${lockPromotionId}::bigint << 32) # f.id as k from found f order by 1 offset 0) l)
    select f.id, f.key, f.member, f.sources from found f cross join locked`;
    });
  },

  /**
   * One row a customer, one statement: a lateral subquery reads the count and the active id in one
   * index probe, and the earns are counted beside it. Probes per customer rather than a join, so that
   * no statistics can turn it into a scan of the promotion's issuals.
   */
  customerStates(trx, orgId, promotionId, customerIds, countEarns) {
    const values = [...(countEarns ? [orgId, promotionId] : []), customerIds, orgId, promotionId];
    return runFixed<CustomerStateRow>(trx, `postgres states ${countEarns}`, values, () => {
      const earns = countEarns
        ? sql`(select count(*) from earns e where e.org_id = ${orgId} and e.promotion_id = ${promotionId}
        and e.customer_id = k.customer_id and e.revoked_at is null)`
        : sql`null`;
      return sql`
    select k.customer_id, s.total, s.active_id, ${earns} as active_earns
    from unnest(${customerIds}::bigint[]) as k(customer_id)
    cross join lateral (select count(*) as total, max(i.id) filter (where i.revoked_at is null) as active_id
      from issuals i where i.org_id = ${orgId} and i.promotion_id = ${promotionId}
        and i.customer_id = k.customer_id) s`;
    });
  },

  forUpdate(query, skipLocked) {
    const locked = query.forUpdate();
    return (skipLocked ? locked.skipLocked() : locked) as typeof query;
  },

  async notify(trx, channel, payload) {
    await sql`select pg_notify(${channel}, ${payload})`.execute(trx);
  },

  /**
   * Where autovacuum is off (as on some managed or test servers), tables that grew from empty keep
   * statistics that say "no rows". This analyses the way autovacuum would: once a tenth of a table
   * (and at least 500 rows) changed. Only the bulk import asks (see db/statistics.ts).
   */
  async refreshStatistics(db, tables) {
    const { rows } = await sql<{ relname: string }>`
    select relname from pg_stat_user_tables
    where schemaname = current_schema() and relname = any(${tables}::text[])
      and n_mod_since_analyze > 500 + 0.1 * greatest(n_live_tup, 0)`.execute(db);
    for (const { relname } of rows) await sql`analyze ${sql.table(relname)}`.execute(db);
    return rows.map((r) => r.relname);
  },

  // Ids come from a sequence, so their order is the order in which transactions took them, not the
  // order in which they committed: a reader that moved past an id whose transaction was still running
  // would never see it. So each event stores its transaction's id, and the feed reads only events
  // whose transaction id is below the current snapshot's xmin: every transaction below it has ended,
  // and every transaction still to commit has an id at or above it, so whatever shows up later sorts
  // after what was read. (xmin is the cluster's: a long write transaction anywhere delays the feed.)
  // The events' data go as plain text parameters of a VALUES list, not as a text[]: the driver
  // escapes every quote of an array's elements (100 events of JSON: 100-190 µs of the request's
  // thread), while a text parameter goes as it is. PostgreSQL does the same work either way.
  eventsInsert(orgId, at, types, data) {
    return paddedInserts(types.length, 2, [orgId, at], (i) => [types[i], data[i]], pgEventsInsert);
  },
  eventHorizon: sql<number>`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`,
  skipLocked: sql`for update skip locked`,
};

export function openPostgres(
  config: Extract<StoreConfig, { kind: 'postgres' }>,
  options: StoreOptions,
  log: ((event: LogEvent) => void) | undefined,
): Store {
  const hosts = parseHosts(config.connectionString);
  const pools = hostPools(hosts, (connectionString) => {
    const pool = new pg.Pool({
      connectionString,
      max: config.poolSize,
      // While the store is down, a request fails fast with 503 rather than waiting without end.
      connectionTimeoutMillis: 5_000,
      // Ids and epoch milliseconds are bigint columns; all of them fit in a double.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === PG_INT8_OID
            ? Number
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // Without a listener, an idle connection that the server drops would crash the process.
    pool.on('error', (err) => options.onIdleError?.(err));
    // A connection in use has no pool listener: a server ending it between two statements (an admin
    // shutdown, a restart) emitted an unhandled 'error' and crashed the process. Now the statement
    // that follows fails (a 503), and the pool drops the broken connection when it is released.
    pool.on('connect', (client) => {
      client.on('error', () => undefined);
    });
    return pool;
  });
  // Behind PgBouncer in transaction pooling mode, consecutive statements may reach different server
  // connections: a statement prepared on one is unknown on the next, so none is named there.
  const named = config.pooler !== 'transaction';
  // LISTEN holds a session: through a transaction pooler it must go straight to the server. Sent
  // through the pooler it would seem to work and hear nothing, so without a direct URL there is none
  // (the cache lifetime bounds other processes' changes; the server warns at start).
  const listenHosts = config.listenConnectionString
    ? parseHosts(config.listenConnectionString)
    : named
      ? hosts
      : undefined;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: namedStatementPool(pools, named) }),
    ...(log ? { log } : {}),
  });
  return {
    db,
    dialect: postgresDialect,
    destroy: () => db.destroy(),
    poolStats: () => {
      const sum = (f: (p: pg.Pool) => number) => pools.pools.reduce((n, p) => n + f(p), 0);
      return {
        total: sum((p) => p.totalCount),
        idle: sum((p) => p.idleCount),
        waiting: sum((p) => p.waitingCount),
      };
    },
    ...(listenHosts
      ? {
          listen: (channel: string, onMessage: (payload: string) => void, onConnected?: () => void) =>
            listenOnHosts(listenHosts, channel, onMessage, onConnected),
        }
      : {}),
  };
}
