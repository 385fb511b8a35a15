import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import {
  type Captured,
  expectIntendedPlans,
  explainer,
  type Intended,
  planned,
  type Statement,
} from '../helpers/plans.js';
import { STORES } from '../helpers/stores.js';
import { type JsonResponse, startTestApp, type TestApp } from '../helpers/test-app.js';

// The management API's counts and customer search must read a handful of rows through their own
// indexes with no statistics at all, as the bulk path must (hot-path-plans.test.ts): a promotion's
// counts come from its counters, never from its issuals, and a customer's view probes by customer.
// The statements are the ones the service sends, caught while real requests run.

const CUSTOMERS = 50_000;
const ISSUALS = 30_000;
const EARNS = 10_000;
const DELETED = 5_000;
/** Other promotions' counters: so many shards and days that reading them all would show. */
const OTHER_PROMOTIONS = 200;
const DAYS = 120;
const BASE = 1_000_000;

const pgOrSqlite = (postgres: RegExp, sqlite: RegExp) => ({ postgres, sqlite });

// A list of customers (or of earns) is read by a probe per key: on PostgreSQL the probe finds the
// rows' addresses and a TID scan reads them; SQLite probes the index for each value of its list.
const customersBy = (index: string, column: string): Intended => ({
  indexes: [index, 'customers_pk', 'customers_id_idx', 'ctid'],
  cond: pgOrSqlite(
    new RegExp(`\\b${column} = |\\bid = k\\.key\\b|ctid = ANY`),
    new RegExp(`\\b${column}=\\?|\\bid=\\?`),
  ),
});

const CUSTOMER_VIEW: Record<string, Intended> = {
  customer_sources: {
    indexes: ['customer_sources_pk'],
    cond: pgOrSqlite(/\bcustomer_id = c\.id\b/, /\bcustomer_id=\?/),
  },
  program_members: {
    indexes: ['program_members_customer_idx'],
    cond: pgOrSqlite(/\bcustomer_id = c\.id\b/, /\bcustomer_id=\?/),
  },
  issuals: {
    indexes: ['issuals_customer_id_idx'],
    cond: pgOrSqlite(/\bcustomer_id = /, /\bcustomer_id=\?/),
  },
  earns: {
    indexes: ['earns_issual_idx', 'ctid'],
    cond: pgOrSqlite(/\bissual_id = k\.key\b|ctid = ANY/, /\bissual_id=\?/),
  },
};

const COUNTS: Record<string, Intended> = {
  promotion_day_counts: {
    indexes: ['promotion_day_counts_pk'],
    cond: pgOrSqlite(/\bpromotion_id = /, /\bpromotion_id=\?/),
  },
};

const LARGE = [
  'customers',
  'customer_sources',
  'program_members',
  'issuals',
  'earns',
  'deleted_customers',
  'promotion_day_counts',
];

for (const kind of STORES) {
  describe(`plans of the management API's counts and search on ${kind}`, () => {
    let t: TestApp;
    let org: StandardOrg;
    let capturing = false;
    let caught: Statement[] = [];
    let client: pg.Client | undefined;
    let explain: ReturnType<typeof explainer>;
    let requests: Map<string, Captured>;

    async function run(text: string): Promise<void> {
      await t.testStore.store.db.executeQuery(CompiledQuery.raw(text));
    }
    const numbers = (n: number) =>
      `with recursive g(n) as (select 1 union all select n + 1 from g where n < ${n})`;

    /** Customers, their rewards, deleted customers and counters, by SQL: no statistics taken. */
    async function seed(promotionId: number): Promise<void> {
      if (kind === 'postgres') {
        // Autovacuum, where it runs, would otherwise analyse the tables at a moment of its choosing.
        for (const table of LARGE) await run(`alter table ${table} set (autovacuum_enabled = false)`);
      }
      const o = org.orgId;
      await run(`insert into customers (org_id, id, mobile, email, external_id, created_at)
        ${numbers(CUSTOMERS)} select ${o}, ${BASE} + n, '91' || (9000000000 + n), 'c' || n || '@plans.example', 'x' || n, 0 from g`);
      await run(`insert into customer_sources (org_id, customer_id, source)
        ${numbers(CUSTOMERS)} select ${o}, ${BASE} + n, 'INSTORE' from g`);
      await run(`insert into program_members (org_id, program_id, customer_id)
        ${numbers(CUSTOMERS)} select ${o}, ${org.programId}, ${BASE} + n from g`);
      await run(`insert into issuals (org_id, id, promotion_id, customer_id, source, created_at, created_by, request_id)
        ${numbers(ISSUALS)} select ${o}, ${10 * BASE} + n, ${promotionId}, ${BASE} + n, 'INSTORE', 0, 'plans', 'r' from g`);
      await run(`insert into earns (org_id, id, issual_id, promotion_id, customer_id, source, created_at, created_by, request_id)
        ${numbers(EARNS)} select ${o}, ${10 * BASE} + n, ${10 * BASE} + n, ${promotionId}, ${BASE} + n, 'INSTORE', 0, 'plans', 'r' from g`);
      await run(`insert into deleted_customers (org_id, id, mobile, email, external_id, sources, program_ids, created_at, deleted_at)
        ${numbers(DELETED)} select ${o}, ${3 * BASE} + n, '92' || n, null, null, 'INSTORE', '', 0, 1 from g`);
      await run(`insert into promotion_day_counts (org_id, promotion_id, day, shard, issuals, issuals_revoked, earns, earns_revoked, customers)
        ${numbers(OTHER_PROMOTIONS * DAYS)} select ${o}, ${5 * BASE} + n / ${DAYS}, 20000 + n % ${DAYS}, 0, 1, 0, 1, 0, 1 from g`);
    }

    async function capture(
      send: () => Promise<JsonResponse>,
      intended: Record<string, Intended>,
    ): Promise<Captured> {
      caught = [];
      capturing = true;
      try {
        const res = await send();
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      } finally {
        capturing = false;
      }
      return { statements: caught.filter((s) => planned(s.text)), intended, unchecked: [] };
    }

    async function captureRequests(promotionId: number): Promise<Map<string, Captured>> {
      const base = `/admin/v1/orgs/${org.orgId}`;
      const get = (url: string) => () => t.admin('GET', `${base}${url}`);
      const view = (index: string, column: string) => ({
        customers: customersBy(index, column),
        ...CUSTOMER_VIEW,
      });
      const out = new Map<string, Captured>();
      out.set(
        'counts of a promotion',
        await capture(get(`/promotions/${promotionId}/counts?from=2024-10-01&to=2025-09-30`), COUNTS),
      );
      const n = 17;
      out.set(
        'search by id',
        await capture(get(`/customers/search?id=${BASE + n}`), view('customers_pk', 'id')),
      );
      out.set(
        'search by mobile',
        await capture(
          get(`/customers/search?mobile=${919_000_000_000 + n}`),
          view('customers_mobile_uq', 'mobile'),
        ),
      );
      out.set(
        'search by email',
        await capture(
          get(`/customers/search?email=c${n}@plans.example`),
          view('customers_email_uq', 'email'),
        ),
      );
      out.set(
        'search by externalId',
        await capture(
          get(`/customers/search?externalId=x${n}`),
          view('customers_external_id_uq', 'external_id'),
        ),
      );
      out.set('a customer', await capture(get(`/customers/${BASE + n}`), view('customers_pk', 'id')));
      out.set(
        'a deleted customer',
        await capture(get(`/customers/${3 * BASE + n}`), {
          // No issuals, so no earns to read.
          ...Object.fromEntries(Object.entries(view('customers_pk', 'id')).filter(([k]) => k !== 'earns')),
          deleted_customers: {
            indexes: ['deleted_customers_pk', 'deleted_customers_id_idx'],
            cond: pgOrSqlite(/\bid = /, /\bid=\?/),
          },
        }),
      );
      return out;
    }

    beforeAll(async () => {
      t = await startTestApp(kind, {
        onQuery: (text, parameters) => {
          if (capturing) caught.push({ text, parameters });
        },
        // No webhook delivery: its worker's statements would fall among the request's own.
        config: { events: { ...DEFAULT_EVENTS_CONFIG, deliver: false } },
      });
      org = await seedStandardOrg(t, 0);
      await seed(org.promotions.enrolAndIssue);
      requests = await captureRequests(org.promotions.enrolAndIssue);
      if (kind === 'postgres') {
        client = new pg.Client({
          connectionString: (t.testStore.config as { connectionString: string }).connectionString,
        });
        await client.connect();
      }
      explain = explainer(kind, t, client);
    }, 120_000);

    afterAll(async () => {
      await client?.end();
      await t?.close();
    });

    it('answers from the data seeded', async () => {
      const search = (await t.admin('GET', `/admin/v1/orgs/${org.orgId}/customers/search?id=${BASE + 17}`))
        .body;
      expect(search.customers[0].promotions[0].issuals[0].earns).toHaveLength(1);
      const counts = await t.admin(
        'GET',
        `/admin/v1/orgs/${org.orgId}/promotions/${5 * BASE + 3}/counts?from=2024-10-01&to=2025-09-30`,
      );
      // A promotion id with counters but no promotion: the counters are never read for it.
      expect(counts.status).toBe(404);
    });

    it('reads each table through its intended index on a store that was never analysed', async () => {
      if (kind === 'postgres') {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_user_tables
          where relname in ('customers', 'issuals', 'promotion_day_counts')
            and (last_analyze is not null or last_autoanalyze is not null)`.execute(t.testStore.store.db);
        expect(rows[0]?.n).toBe(0);
      }
      expect([...requests.keys()]).toHaveLength(7);
      await expectIntendedPlans(kind, explain, LARGE, requests);
    });

    it('reads each table through its intended index after ANALYZE', async () => {
      await sql`analyze`.execute(t.testStore.store.db);
      await expectIntendedPlans(kind, explain, LARGE, requests);
    });
  });
}
