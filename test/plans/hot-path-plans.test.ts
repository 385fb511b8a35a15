import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { bulkRequest, items, postBulk } from '../helpers/bulk.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
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

/** How a table of the bulk path must be read: through one of these indexes, naming this in its condition. */
interface Intended {
  indexes: string[];
  cond: { postgres: RegExp; sqlite: RegExp };
}

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
    indexes: ['program_members_pk'],
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
};

/** The tables that grow with customers and requests; the others hold a few rows an org. */
const LARGE = ['customers', ...Object.keys(BY_CUSTOMER)];

/** One read of a table in a plan. */
interface Read {
  table: string;
  /** null: the whole table is scanned. */
  index: string | null;
  cond: string;
}

interface Explained {
  reads: Read[];
  /** PostgreSQL: the unique indexes an INSERT ... ON CONFLICT checks. */
  arbiters: string[];
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Conflict Arbiter Indexes'?: string[];
  Plans?: PgNode[];
}

function pgReads(node: PgNode, out: Explained): Explained {
  const table = node['Relation Name'];
  if (node['Node Type'] === 'ModifyTable') {
    out.arbiters.push(...(node['Conflict Arbiter Indexes'] ?? []));
  } else if (table && node['Node Type'] === 'Bitmap Heap Scan') {
    const probes: PgNode[] = [];
    const collect = (n: PgNode) => {
      if (n['Node Type'] === 'Bitmap Index Scan') probes.push(n);
      for (const child of n.Plans ?? []) collect(child);
    };
    for (const child of node.Plans ?? []) collect(child);
    for (const p of probes)
      out.reads.push({ table, index: p['Index Name'] ?? null, cond: p['Index Cond'] ?? '' });
  } else if (table) {
    out.reads.push({ table, index: node['Index Name'] ?? null, cond: node['Index Cond'] ?? '' });
  }
  for (const child of node.Plans ?? []) pgReads(child, out);
  return out;
}

// SQLite names a table by its alias in the plan; these are the aliases the repositories use.
const SQLITE_ALIASES: Record<string, string> = {
  c: 'customers',
  m: 'program_members',
  s: 'customer_sources',
  i: 'issuals',
  e: 'earns',
};

function sqliteReads(details: string[]): Explained {
  const out: Explained = { reads: [], arbiters: [] };
  for (const detail of details) {
    const match = /^(?:SCAN|SEARCH) (\S+)(?: USING (?:COVERING )?INDEX (\S+)(?: \((.*)\))?)?/.exec(detail);
    if (!match) continue;
    const [, name, index, cond] = match as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    const table = SQLITE_ALIASES[name] ?? name;
    // SQLite names a table's primary key index itself.
    const named = index?.replace(/^sqlite_autoindex_(\w+)_1$/, '$1_pk') ?? null;
    out.reads.push({ table, index: named, cond: cond ?? '' });
  }
  return out;
}

/** The statements worth a plan: reads and writes, not BEGIN, SAVEPOINT or COMMIT. */
const planned = (text: string) => /^\s*(select|insert|update|delete|with)\b/i.test(text);

interface Statement {
  text: string;
  parameters: readonly unknown[];
}

/** What one request sent, and how each large table must be read by it. */
interface Captured {
  statements: Statement[];
  intended: Record<string, Intended>;
  /** Large tables read by the request that this test leaves alone (with the reason at the call). */
  unchecked: string[];
  /** PostgreSQL: the unique index an INSERT ... ON CONFLICT must check. */
  arbiter?: string;
}

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
      // Not the bulk path, but the one reader of the partial index that keeps out of its way. The
      // page's earns (`issual_id in (...)`, up to 1,000 values) are not checked yet: PostgreSQL
      // without statistics reads them through the org's every earn.
      out.set(
        'the issuals report',
        await capture(
          () => t.admin('GET', `/admin/v1/orgs/${org.orgId}/promotions/${promotionId}/issuals?limit=1000`),
          REPORT,
          { unchecked: ['earns'] },
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
    }, 120_000);

    afterAll(async () => {
      await client?.end();
      await t?.close();
    });

    /**
     * SQLite's plan for the statement with its parameters. PostgreSQL's two: the custom plan made for
     * these parameters, which a named statement gets on its first runs, and the generic plan it may
     * keep after five, which depends on no value.
     */
    async function explain({ text, parameters }: Statement): Promise<Explained[]> {
      if (kind === 'sqlite') {
        const { rows } = await t.testStore.store.db.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${text}`, [...parameters]),
        );
        return [sqliteReads(rows.map((r) => r.detail))];
      }
      const db = client as pg.Client;
      const tree = (rows: { 'QUERY PLAN': { Plan: PgNode }[] }[]) =>
        pgReads((rows[0] as { 'QUERY PLAN': { Plan: PgNode }[] })['QUERY PLAN'][0]?.Plan as PgNode, {
          reads: [],
          arbiters: [],
        });
      await db.query('set plan_cache_mode = force_custom_plan');
      const custom = tree((await db.query(`explain (format json) ${text}`, [...parameters])).rows);
      await db.query('set plan_cache_mode = force_generic_plan');
      await db.query(`prepare hot_path as ${text}`);
      try {
        const { rows } = await db.query<{ n: number }>(
          `select cardinality(parameter_types) as n from pg_prepared_statements where name = 'hot_path'`,
        );
        const nulls = Array.from({ length: Number(rows[0]?.n ?? 0) }, () => 'null').join(', ');
        const generic = tree(
          (await db.query(`explain (format json) execute hot_path${nulls ? `(${nulls})` : ''}`)).rows,
        );
        return [custom, generic];
      } finally {
        await db.query('deallocate hot_path');
      }
    }

    async function expectIntendedPlans(captured: Map<string, Captured>): Promise<void> {
      expect([...captured.keys()]).toHaveLength(6);
      for (const [label, request] of captured) {
        const read = new Set<string>();
        const arbiters: string[] = [];
        for (const statement of request.statements) {
          for (const plan of await explain(statement)) {
            arbiters.push(...plan.arbiters);
            for (const r of plan.reads) {
              if (!LARGE.includes(r.table) || request.unchecked.includes(r.table)) continue;
              const where = `${label}: ${r.table} in ${statement.text.replace(/\s+/g, ' ').slice(0, 160)}`;
              const want = request.intended[r.table];
              expect(want, `${where} is read, which the request should not need`).toBeDefined();
              expect(want?.indexes, `${where} is read through ${r.index ?? 'a full scan'}`).toContain(
                r.index,
              );
              expect(r.cond, where).toMatch((want as Intended).cond[kind]);
              read.add(r.table);
            }
          }
        }
        // Every table the request needs was seen, so that no statement escaped the check.
        expect([...read].sort(), label).toStrictEqual(Object.keys(request.intended).sort());
        if (request.arbiter && kind === 'postgres') expect(arbiters, label).toContain(request.arbiter);
      }
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
