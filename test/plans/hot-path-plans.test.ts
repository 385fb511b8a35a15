import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { bulkRequest, items, postBulk } from '../helpers/bulk.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import {
  type Captured,
  expectIntendedPlans as expectPlans,
  explainer,
  type Intended,
  planned,
  type Statement,
} from '../helpers/plans.js';
import { STORES } from '../helpers/stores.js';
import { type JsonResponse, startTestApp, type TestApp } from '../helpers/test-app.js';

// The plans of the bulk path must be right with no statistics at all (a store just filled, autovacuum
// off or not there yet) and after ANALYZE, including for a promotion that fills after its statistics
// were taken. The statements are the ones the service sends, caught through the store's onQuery hook
// while real requests run, so this follows the code. A plan is deterministic: no timing here.

const CUSTOMERS = 50_000;
const ISSUALS = 30_000;
const EARNS = 10_000;
const KEYS = 20_000;
// Explicit ids far above what the sequences hand out while the test runs.
const BASE = 1_000_000;

type Identifier = 'id' | 'mobile' | 'email';
const mobileOf = (n: number) => `91${9_000_000_000 + n}`;
const emailOf = (n: number) => `c${n}@plans.example`;

const LOOKUP: Record<Identifier, Intended> = {
  id: {
    indexes: ['customers_pk', 'customers_id_idx'],
    cond: { postgres: /\bid = k\.key\b/, sqlite: /\bid=\?/ },
  },
  mobile: {
    indexes: ['customers_mobile_uq'],
    cond: { postgres: /\bmobile = k\.key\b/, sqlite: /\bmobile=\?/ },
  },
  email: {
    indexes: ['customers_email_uq'],
    cond: { postgres: /\bemail = k\.key\b/, sqlite: /\bemail=\?/ },
  },
};

const BY_CUSTOMER = {
  program_members: {
    // Either matches all three columns of the probe: (org_id, program_id, customer_id) or the
    // customer's own (org_id, customer_id, program_id) that the management API reads by.
    indexes: ['program_members_pk', 'program_members_customer_idx'],
    cond: { postgres: /\bcustomer_id = c\.id\b/, sqlite: /\bcustomer_id=\?/ },
  },
  customer_sources: {
    indexes: ['customer_sources_pk'],
    cond: { postgres: /\bcustomer_id = c\.id\b/, sqlite: /\bcustomer_id=\?/ },
  },
  issuals: {
    indexes: ['issuals_customer_idx'],
    cond: { postgres: /\bcustomer_id = k\.customer_id\b/, sqlite: /\bcustomer_id=\?/ },
  },
  earns: {
    indexes: ['earns_customer_idx'],
    cond: { postgres: /\bcustomer_id = k\.customer_id\b/, sqlite: /\bcustomer_id=\?/ },
  },
  idempotency_keys: {
    indexes: ['idempotency_keys_pk'],
    cond: { postgres: /\bkey = /, sqlite: /\bkey=\?/ },
  },
} satisfies Record<string, Intended>;

// The report pages through a promotion's issuals in id order: through its own partial index, or
// through the primary key (org_id, id) from the cursor on when the promotion is most of the org's
// issuals; either way a page stops after its rows and nothing is sorted. (A custom plan whose cursor
// is 0 drops `id > 0` from the partial index's condition: its predicate says as much.)
const REPORT: Record<string, Intended> = {
  issuals: {
    indexes: ['issuals_report_idx', 'issuals_pk'],
    cond: { postgres: /\bpromotion_id = |\bid > /, sqlite: /\bpromotion_id=\?|\bid>\?/ },
  },
  // The page's earns, probed by issual (keyedRows): on PostgreSQL the probe finds their addresses and
  // a TID scan reads them.
  earns: {
    indexes: ['earns_issual_idx', 'ctid'],
    cond: { postgres: /\bissual_id = k\.key\b|ctid = ANY/, sqlite: /\bissual_id=\?/ },
  },
};

/** The tables that grow with customers and requests; the others hold a few rows an org. */
const LARGE = ['customers', ...Object.keys(BY_CUSTOMER)];

for (const kind of STORES) {
  describe(`plans of the bulk path on ${kind}`, () => {
    let t: TestApp;
    let org: StandardOrg;
    let credential: string;
    let capturing = false;
    let caught: Statement[] = [];
    let client: pg.Client | undefined;

    async function run(text: string): Promise<void> {
      await t.testStore.store.db.executeQuery(CompiledQuery.raw(text));
    }

    const numbers = (n: number) =>
      `with recursive g(n) as (select 1 union all select n + 1 from g where n < ${n})`;

    /** Issuals and earns in bulk, by SQL, as weeks of traffic would leave them: no statistics taken. */
    async function fill(promotionId: number, firstId: number): Promise<void> {
      await run(`insert into issuals (org_id, id, promotion_id, customer_id, source, created_at, created_by, request_id)
        ${numbers(ISSUALS)} select ${org.orgId}, ${firstId} + n, ${promotionId}, ${BASE} + n, 'INSTORE', 0, 'plans', 'r' from g`);
      await run(`insert into earns (org_id, id, issual_id, promotion_id, customer_id, source, created_at, created_by, request_id)
        ${numbers(EARNS)} select ${org.orgId}, ${firstId} + n, ${firstId} + n, ${promotionId}, ${BASE} + n, 'INSTORE', 0, 'plans', 'r' from g`);
    }

    /** Customers as an import leaves them, and a day of replayable answers. */
    async function seed(): Promise<void> {
      if (kind === 'postgres') {
        // Autovacuum, where it runs, would otherwise analyse the tables at a moment of its choosing.
        for (const table of LARGE) await run(`alter table ${table} set (autovacuum_enabled = false)`);
      }
      await run(`insert into customers (org_id, id, mobile, email, created_at)
        ${numbers(CUSTOMERS)} select ${org.orgId}, ${BASE} + n, '91' || (9000000000 + n), 'c' || n || '@plans.example', 0 from g`);
      await run(`insert into customer_sources (org_id, customer_id, source)
        ${numbers(CUSTOMERS)} select ${org.orgId}, ${BASE} + n, 'INSTORE' from g`);
      await run(`insert into program_members (org_id, program_id, customer_id)
        ${numbers(CUSTOMERS)} select ${org.orgId}, ${org.programId}, ${BASE} + n from g`);
      await run(`insert into idempotency_keys (org_id, credential, key, request_hash, response, created_at)
        ${numbers(KEYS)} select ${org.orgId}, '${credential}', 'key-' || n, 'h', '{}', ${Date.now()} from g`);
    }

    async function capture(
      send: () => Promise<JsonResponse>,
      intended: Record<string, Intended>,
      extra: { arbiter?: string; unchecked?: string[] } = {},
    ): Promise<Captured> {
      caught = [];
      capturing = true;
      try {
        const res = await send();
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      } finally {
        capturing = false;
      }
      return {
        statements: caught.filter((s) => planned(s.text)),
        intended,
        unchecked: extra.unchecked ?? [],
        ...(extra.arbiter ? { arbiter: extra.arbiter } : {}),
      };
    }

    const range = (from: number) => Array.from({ length: 100 }, (_, i) => from + i);

    /**
     * The statements of every kind of bulk request into a promotion whose customers 1 to ISSUALS are
     * enrolled (and 1 to EARNS have earned), and of its issuals report, as the service sends them.
     */
    async function captureRequests(promotionId: number, key: string): Promise<Map<string, Captured>> {
      const bulk = (
        action: 'ENROL' | 'EARN',
        identifier: Identifier,
        from: number,
        idempotencyKey?: string,
      ) => {
        const values = range(from).map((n) =>
          identifier === 'id' ? BASE + n : identifier === 'mobile' ? mobileOf(n) : emailOf(n),
        );
        return () =>
          postBulk(
            t,
            bulkRequest(action, { programId: org.programId, promotionId }, identifier, items(values)),
            {
              auth: org.auth.write,
              ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
            },
          );
      };
      const { program_members, customer_sources, issuals, earns, idempotency_keys } = BY_CUSTOMER;
      const enrol = (identifier: Identifier) => ({
        customers: LOOKUP[identifier],
        program_members,
        customer_sources,
        issuals,
      });
      const out = new Map<string, Captured>();
      // Fresh customers for each ENROL (past the enrolled ones); EARN for enrolled customers.
      out.set('ENROL by id', await capture(bulk('ENROL', 'id', ISSUALS + 1), enrol('id')));
      out.set('ENROL by mobile', await capture(bulk('ENROL', 'mobile', ISSUALS + 101), enrol('mobile')));
      out.set('ENROL by email', await capture(bulk('ENROL', 'email', ISSUALS + 201), enrol('email')));
      out.set('EARN by id', await capture(bulk('EARN', 'id', EARNS + 1), { ...enrol('id'), earns }));
      out.set(
        'ENROL with an Idempotency-Key',
        await capture(
          bulk('ENROL', 'id', ISSUALS + 301, key),
          { ...enrol('id'), idempotency_keys },
          { arbiter: 'idempotency_keys_pk' },
        ),
      );
      // Not the bulk path, but the one reader of the partial index that keeps out of its way.
      out.set(
        'the issuals report',
        await capture(
          () => t.admin('GET', `/admin/v1/orgs/${org.orgId}/promotions/${promotionId}/issuals?limit=1000`),
          REPORT,
        ),
      );
      return out;
    }

    let requests: Map<string, Captured>;

    beforeAll(async () => {
      t = await startTestApp(kind, {
        onQuery: (text, parameters) => {
          if (capturing) caught.push({ text, parameters });
        },
        // Authentication is not the bulk path: a verified credential stays cached for the whole file.
        // No webhook delivery, and the idle job runner looks for work once an hour: their
        // statements would fall among the request's own.
        config: {
          credentialCacheMs: 3_600_000,
          events: { ...DEFAULT_EVENTS_CONFIG, deliver: false },
          jobPollMs: 3_600_000,
        },
      });
      org = await seedStandardOrg(t, 0);
      const username = Buffer.from(org.auth.write.slice('Basic '.length), 'base64').toString().split(':')[0];
      credential = `till:${username}`;
      await seed();
      await fill(org.promotions.enrolAndIssue, 10 * BASE);
      requests = await captureRequests(org.promotions.enrolAndIssue, 'plans-key-1');
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

    let explain: ReturnType<typeof explainer>;

    async function expectIntendedPlans(captured: Map<string, Captured>): Promise<void> {
      expect([...captured.keys()]).toHaveLength(6);
      await expectPlans(kind, explain, LARGE, captured);
    }

    async function analyze(): Promise<void> {
      await sql`analyze`.execute(t.testStore.store.db);
    }

    it('reads each table through its intended index on a store that was never analysed', async () => {
      if (kind === 'postgres') {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_user_tables
          where relname in ('issuals', 'customers') and (last_analyze is not null or last_autoanalyze is not null)`.execute(
          t.testStore.store.db,
        );
        expect(rows[0]?.n).toBe(0);
      }
      await expectIntendedPlans(requests);
    });

    it('reads each table through its intended index after ANALYZE', async () => {
      await analyze();
      await expectIntendedPlans(requests);
    });

    it('keeps those plans for a promotion that filled after its statistics were taken', async () => {
      // Statistics taken while the promotion was empty say it holds next to nothing; then it fills.
      const res = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/promotions`, {
        programId: org.programId,
        name: 'Launched after ANALYZE',
        type: 'ENROL_AND_ISSUE',
        maxEarnsPerCustomer: null,
      });
      expect(res.status).toBe(201);
      await analyze();
      await fill(res.body.id, 20 * BASE);
      await expectIntendedPlans(await captureRequests(res.body.id, 'plans-key-2'));
    });
  });
}
