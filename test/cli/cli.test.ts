import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  cleanEnv,
  createTempPg,
  killAll,
  killTestChildren,
  postJson,
  runCli,
  type Served,
  startServe,
  tillAuth,
  waitFor,
} from '../helpers/cli.js';
import { STORES } from '../helpers/stores.js';

// Each test starts the command as a process, some of them three or four times, and a Node start
// takes several seconds on a loaded machine (three tests ran out of the default 30 s under load).
vi.setConfig({ testTimeout: 120_000 });

const ADMIN_TOKEN = 'cli-test-admin-token-0123456789abcdef';
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DEMO_AUTH = { authorization: tillAuth('demo.till', 'demo-till-password') };
const BULK = '/v2/promotion/bulk/enrolAndEarn';

// The four example requests of the reference page, exactly as the page prints them.
const PAGE_EXAMPLES = [
  `{
"type" : "CUSTOMER",
"bulkAction" : "ENROL",
"promotionDetails" : {
"programId": 469,
"promotionId":57099
},
"identifierName":"id",
"customers":
[
{
"identifierValue":"555567088",
"source":"INSTORE"
}
]
}`,
  `{
"type" : "CUSTOMER",
"bulkAction" : "ENROL",
"promotionDetails" : {
"programId": 469,
"promotionId":69218
},
"identifierName":"mobile",
"customers":
[
{
"identifierValue":"11223569865",
"source":"INSTORE"
},
{
"identifierValue":"919986000586",
"source":"INSTORE"
}
]
}`,
  `{
"type" : "CUSTOMER",
"bulkAction" : "EARN",
"promotionDetails" : {
"programId": 469,
"promotionId":57099
},
"identifierName":"id",
"customers":
[
{
"identifierValue":"555567088",
"source":"INSTORE"
}
]
}`,
  `{
"type" : "CUSTOMER",
"bulkAction" : "EARN",
"promotionDetails" : {
"programId": 469,
"promotionId":69218
},
"identifierName":"mobile",
"customers":
[
{
"identifierValue":"11223569865",
"source":"INSTORE"
},
{
"identifierValue":"919986000586",
"source":"INSTORE"
}
]
}`,
];

const DIGITS = /^\d+$/;

/** A success item of the page's response: `result` with exactly these keys, no errors, no warnings. */
function expectSuccessItem(
  item: any,
  expected: { entityId?: number; promotionId: number; programId: number; earn: boolean },
): void {
  expect(Object.keys(item).sort()).toEqual(['errors', 'result', 'warnings']);
  expect(item.errors).toEqual([]);
  expect(item.warnings).toEqual([]);
  const keys = ['entityType', 'entityId', 'promotionId', 'programId', 'issualId'];
  if (expected.earn) keys.push('earnedId');
  expect(Object.keys(item.result).sort()).toEqual(keys.sort());
  expect(item.result).toMatchObject({
    entityType: 'CUSTOMER',
    entityId: expected.entityId ?? expect.any(Number),
    promotionId: expected.promotionId,
    programId: expected.programId,
    issualId: expect.stringMatching(DIGITS),
    ...(expected.earn ? { earnedId: expect.stringMatching(DIGITS) } : {}),
  });
}

function expectPageEnvelope(body: any, count: number): void {
  expect(Object.keys(body).sort()).toEqual(['failureCount', 'response', 'totalCount']);
  expect(body.totalCount).toBe(count);
  expect(body.failureCount).toBe(0);
  expect(body.response).toHaveLength(count);
}

/** The warn-level (or worse) log lines that speak of public demo credentials. */
function demoWarnings(served: Served): Record<string, any>[] {
  return served
    .logs()
    .filter((line) => line.level >= 40 && /public/i.test(String(line.msg)) && /demo/i.test(String(line.msg)));
}

let tmp: string;
const sqliteUrl = (name: string) => `sqlite:${path.join(tmp, name)}`;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'loyalty-cli-'));
}, 120_000);

afterEach(() => killTestChildren());

afterAll(async () => {
  await killAll();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('loyalty with no command, or help', () => {
  for (const args of [[], ['help'], ['--help']]) {
    it(`loyalty ${args.join(' ')} prints the usage and exits 0`, async () => {
      const run = await runCli(args, cleanEnv({}));
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Usage: loyalty/);
      for (const command of ['serve', 'migrate', 'seed']) expect(run.stdout).toContain(command);
    });
  }

  it('an unknown command exits non-zero, naming it, with the usage', async () => {
    const run = await runCli(['frobnicate'], cleanEnv({}));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('frobnicate');
    expect(run.stderr).toMatch(/Usage: loyalty/);
  });
});

describe('a bad environment', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['PORT=70000', { PORT: '70000' }, 'PORT'],
    ['DATABASE_URL=mysql://x', { DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    ['LOYALTY_DEMO=maybe', { LOYALTY_DEMO: 'maybe' }, 'LOYALTY_DEMO'],
  ];
  for (const [label, env, variable] of cases) {
    it(`serve with ${label} exits non-zero naming ${variable}`, async () => {
      const run = await runCli(
        ['serve'],
        cleanEnv({ DATABASE_URL: sqliteUrl(`bad-env-${variable}.db`), HOST: '127.0.0.1', PORT: '0', ...env }),
      );
      expect(run.code).not.toBe(0);
      expect(run.code).not.toBeNull();
      expect(run.stderr).toContain(variable);
    });
  }

  it('migrate and seed with DATABASE_URL=mysql://x exit non-zero naming DATABASE_URL', async () => {
    const fixture = path.join(tmp, 'unused-fixture.json');
    writeFileSync(fixture, JSON.stringify({ orgs: [{ name: 'x' }] }));
    for (const args of [['migrate'], ['seed', fixture]]) {
      const run = await runCli(args, cleanEnv({ DATABASE_URL: 'mysql://x' }));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('DATABASE_URL');
    }
  });

  it('reports every bad variable at once, and never prints a password of DATABASE_URL', async () => {
    const run = await runCli(
      ['serve'],
      cleanEnv({ PORT: 'abc', DATABASE_URL: 'mysql://admin:hunter2secret@db.example/x' }),
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('PORT');
    expect(run.stderr).toContain('DATABASE_URL');
    expect(run.stderr + run.stdout).not.toContain('hunter2secret');
  });
});

describe('loyalty serve on a fresh SQLite file', () => {
  let served: Served;
  const file = () => sqliteUrl('demo.db');
  /** issualIds the page's first two examples were given. */
  let enrolled: { first: string; mobiles: string[] };

  beforeAll(async () => {
    served = await startServe({ DATABASE_URL: file(), LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN }, { suite: true });
  }, 60_000);

  afterAll(async () => {
    await served?.stop('SIGTERM');
  });

  it('answers GET /health with 200', async () => {
    const res = await fetch(`${served.url}/health`);
    expect(res.status).toBe(200);
  });

  it('prints a warning that the demo credentials are public', () => {
    const warnings = demoWarnings(served);
    expect(warnings.length).toBeGreaterThan(0);
    const text = JSON.stringify(warnings);
    expect(text).toContain('demo.till');
    expect(text).toContain('demo-till-password');
  });

  it('answers the page’s first example (ENROL by id) with the page’s response shape', async () => {
    const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], DEMO_AUTH);
    expect(res.status).toBe(200);
    expectPageEnvelope(res.body, 1);
    expectSuccessItem(res.body.response[0], {
      entityId: 555567088,
      promotionId: 57099,
      programId: 469,
      earn: false,
    });
    enrolled = { first: res.body.response[0].result.issualId, mobiles: [] };
  });

  it('answers the page’s second example (ENROL by mobile, two customers)', async () => {
    const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[1], DEMO_AUTH);
    expect(res.status).toBe(200);
    expectPageEnvelope(res.body, 2);
    for (const item of res.body.response) {
      expectSuccessItem(item, { promotionId: 69218, programId: 469, earn: false });
    }
    const [a, b] = res.body.response.map((item: any) => item.result);
    expect(a.entityId).not.toBe(b.entityId);
    expect(a.issualId).not.toBe(b.issualId);
    enrolled.mobiles = [a.issualId, b.issualId];
  });

  it('answers the page’s third example (EARN by id) on the issual of the first', async () => {
    const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[2], DEMO_AUTH);
    expect(res.status).toBe(200);
    expectPageEnvelope(res.body, 1);
    expectSuccessItem(res.body.response[0], {
      entityId: 555567088,
      promotionId: 57099,
      programId: 469,
      earn: true,
    });
    expect(res.body.response[0].result.issualId).toBe(enrolled.first);
  });

  it('answers the page’s fourth example (EARN by mobile) on the issuals of the second', async () => {
    const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[3], DEMO_AUTH);
    expect(res.status).toBe(200);
    expectPageEnvelope(res.body, 2);
    for (const item of res.body.response) {
      expectSuccessItem(item, { promotionId: 69218, programId: 469, earn: true });
    }
    expect(res.body.response.map((item: any) => item.result.issualId)).toEqual(enrolled.mobiles);
    const earned = res.body.response.map((item: any) => item.result.earnedId);
    expect(new Set(earned).size).toBe(2);
  });

  it('answers the page’s response examples of program 2714 (enrol-and-issue, then direct issue)', async () => {
    const ids = ['423926199', '423926198', '423926200', '423926201'];
    const body = (bulkAction: string, promotionId: number) => ({
      type: 'CUSTOMER',
      bulkAction,
      promotionDetails: { programId: 2714, promotionId },
      identifierName: 'id',
      customers: ids.map((identifierValue) => ({ identifierValue, source: 'INSTORE' })),
    });
    const enrol = await postJson(`${served.url}${BULK}`, body('ENROL', 202188), DEMO_AUTH);
    expect(enrol.status).toBe(200);
    expectPageEnvelope(enrol.body, 4);
    enrol.body.response.forEach((item: any, i: number) => {
      expectSuccessItem(item, {
        entityId: Number(ids[i]),
        promotionId: 202188,
        programId: 2714,
        earn: false,
      });
    });
    const earn = await postJson(`${served.url}${BULK}`, body('EARN', 202188), DEMO_AUTH);
    expect(earn.status).toBe(200);
    expectPageEnvelope(earn.body, 4);
    earn.body.response.forEach((item: any, i: number) => {
      expectSuccessItem(item, { entityId: Number(ids[i]), promotionId: 202188, programId: 2714, earn: true });
      expect(item.result.issualId).toBe(enrol.body.response[i].result.issualId);
    });
    const direct = await postJson(`${served.url}${BULK}`, body('EARN', 202090), DEMO_AUTH);
    expect(direct.status).toBe(200);
    expectPageEnvelope(direct.body, 4);
    direct.body.response.forEach((item: any, i: number) => {
      expectSuccessItem(item, { entityId: Number(ids[i]), promotionId: 202090, programId: 2714, earn: true });
    });
    // ENROL on a direct promotion is the page's 8902 example.
    const refused = await postJson(`${served.url}${BULK}`, body('ENROL', 202090), DEMO_AUTH);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      response: [
        {
          errors: [
            {
              status: false,
              message: 'bulk action passed not supported for loyalty/generic promotion type',
              code: 8902,
            },
          ],
          warnings: [],
        },
      ],
      totalCount: 1,
      failureCount: 1,
    });
  });

  it('the demo API client gets an OAuth token that the bulk endpoint takes', async () => {
    const token = await postJson(`${served.url}/v3/oauth/token/generate`, {
      key: 'demo-client',
      secret: 'demo-client-secret',
    });
    expect(token.status).toBe(200);
    expect(token.body).toEqual({
      data: { accessToken: expect.any(String), ttlSeconds: expect.any(Number) },
      errors: null,
    });
    const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], {
      'X-CAP-API-OAUTH-TOKEN': token.body.data.accessToken,
    });
    expect(res.status).toBe(200);
    expect(res.body.response[0].result.issualId).toBe(enrolled.first);
  });

  it('refuses a wrong demo password', async () => {
    const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], {
      authorization: tillAuth('demo.till', 'not-the-password'),
    });
    expect(res.status).toBe(401);
  });

  it('exits 0 on SIGTERM, then starts again on the same file without loading the demo twice', async () => {
    const stopped = await served.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    served = await startServe({ DATABASE_URL: file(), LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN }, { suite: true });
    expect(demoWarnings(served)).toEqual([]);
    const again = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], DEMO_AUTH);
    expect(again.status).toBe(200);
    expect(again.body.response[0].result.issualId).toBe(enrolled.first);
    expect(again.body.response[0].warnings).toEqual([
      { status: false, code: 8890, message: 'Customer is already enrolled' },
    ]);
    const db = new Database(file().slice('sqlite:'.length), { readonly: true });
    try {
      expect(db.prepare('select count(*) as n from orgs').get()).toEqual({ n: 1 });
      expect(db.prepare("select count(*) as n from tills where username = 'demo.till'").get()).toEqual({
        n: 1,
      });
    } finally {
      db.close();
    }
  });
});

describe('loyalty serve without the demo', () => {
  it('LOYALTY_DEMO=0 starts with an empty database: the demo till gets 401 and no warning is printed', async () => {
    const served = await startServe({ DATABASE_URL: sqliteUrl('nodemo.db'), LOYALTY_DEMO: '0' });
    try {
      const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], DEMO_AUTH);
      expect(res.status).toBe(401);
      expect(demoWarnings(served)).toEqual([]);
    } finally {
      expect((await served.stop()).code).toBe(0);
    }
    const db = new Database(path.join(tmp, 'nodemo.db'), { readonly: true });
    try {
      expect(db.prepare('select count(*) as n from orgs').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });

  it('does not load the demo into a database that already holds an org', async () => {
    const url = sqliteUrl('holds-data.db');
    const first = await startServe({
      DATABASE_URL: url,
      LOYALTY_DEMO: '0',
      LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    try {
      const org = await postJson(`${first.url}/admin/v1/orgs`, { name: 'Real org' }, ADMIN);
      expect(org.status).toBe(201);
    } finally {
      expect((await first.stop()).code).toBe(0);
    }
    const second = await startServe({ DATABASE_URL: url, LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN });
    try {
      expect(demoWarnings(second)).toEqual([]);
      const res = await postJson(`${second.url}${BULK}`, PAGE_EXAMPLES[0], DEMO_AUTH);
      expect(res.status).toBe(401);
    } finally {
      await second.stop();
    }
    const db = new Database(path.join(tmp, 'holds-data.db'), { readonly: true });
    try {
      expect(db.prepare('select name from orgs').all()).toEqual([{ name: 'Real org' }]);
    } finally {
      db.close();
    }
  });
});

describe('SIGTERM while a request is in flight', () => {
  /**
   * Starts a server, sends half of a management request, and once the server has logged the request
   * sends SIGTERM; once the server logs its shutdown, sends the rest. Answers the response.
   */
  async function requestAcrossSigterm(file: string, agent: http.Agent | false) {
    const served = await startServe({
      DATABASE_URL: `sqlite:${file}`,
      LOYALTY_DEMO: '0',
      LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const requestId = `drain-${process.pid}-${path.basename(file, '.db')}`;
    const body = JSON.stringify({ name: 'Created while draining' });
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: served.port,
          method: 'POST',
          path: '/admin/v1/orgs',
          agent,
          headers: {
            ...ADMIN,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-request-id': requestId,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      // Half the body now; the rest only once the server is shutting down.
      req.write(body.slice(0, 10));
      waitFor(
        () => served.output.stdout.includes(requestId),
        () => `the server to log request ${requestId}:\n${served.output.stdout}`,
      )
        .then(() => {
          served.child.kill('SIGTERM');
          return waitFor(
            () => /shutting down/i.test(served.output.stdout),
            () => `the server to log its shutdown:\n${served.output.stdout}`,
          );
        })
        .then(() => req.end(body.slice(10)), reject);
    });
    return { served, answer };
  }

  function expectOrgWritten(file: string): void {
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('select name from orgs').all()).toEqual([{ name: 'Created while draining' }]);
    } finally {
      db.close();
    }
  }

  it('lets the request complete, then exits 0', async () => {
    const file = path.join(tmp, 'drain.db');
    const { served, answer } = await requestAcrossSigterm(file, false);
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ name: 'Created while draining' });
    expect(await served.exited).toEqual({ code: 0, signal: null });
    expectOrgWritten(file);
  });

  it('exits 0 after the drain even when the client keeps its connection alive', async () => {
    // Tills and HTTP libraries keep connections open between calls; an idle kept-alive connection
    // must not hold the shutdown up (the server would otherwise wait for its keep-alive timeout,
    // longer than a typical orchestrator's grace period). 20 s is a generous bound for that.
    const file = path.join(tmp, 'drain-keepalive.db');
    const agent = new http.Agent({ keepAlive: true });
    try {
      const { served, answer } = await requestAcrossSigterm(file, agent);
      expect(answer.status).toBe(201);
      const exit = await Promise.race([
        served.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running 20 s after the drain'), 20_000)),
      ]);
      expect(exit).toEqual({ code: 0, signal: null });
      expectOrgWritten(file);
    } finally {
      agent.destroy();
    }
  }, 40_000);

  it('exits 0 on SIGTERM when idle, and stops listening', async () => {
    const served = await startServe({ DATABASE_URL: sqliteUrl('drain2.db'), LOYALTY_DEMO: '0' });
    const exit = await served.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    await expect(fetch(`${served.url}/health`)).rejects.toThrow();
  });
});

describe('loyalty migrate', () => {
  it('migrates a fresh SQLite file, and a second run says the schema is current', async () => {
    const file = path.join(tmp, 'migrate.db');
    const env = cleanEnv({ DATABASE_URL: `sqlite:${file}` });
    const first = await runCli(['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toMatch(/schema is current/);
    const db = new Database(file, { readonly: true });
    try {
      const tables = db
        .prepare("select name from sqlite_master where type = 'table'")
        .all()
        .map((r: any) => r.name);
      for (const table of ['orgs', 'programs', 'promotions', 'customers', 'tills', 'issuals', 'earns']) {
        expect(tables).toContain(table);
      }
      // migrate loads no demo data.
      expect(db.prepare('select count(*) as n from orgs').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    const second = await runCli(['migrate'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/schema is current/);
  });

  if (STORES.includes('postgres'))
    it('migrates a fresh PostgreSQL database, and a second run says the schema is current', async () => {
      const database = await createTempPg();
      try {
        const env = cleanEnv({ DATABASE_URL: database.url });
        const first = await runCli(['migrate'], env);
        expect(first.code, first.stderr).toBe(0);
        expect(first.stdout).not.toMatch(/schema is current/);
        const tables = (
          await database.query<{ tablename: string }>(
            "select tablename from pg_tables where schemaname = 'public'",
          )
        ).map((r) => r.tablename);
        for (const table of ['orgs', 'programs', 'promotions', 'customers', 'tills', 'issuals', 'earns']) {
          expect(tables).toContain(table);
        }
        const second = await runCli(['migrate'], env);
        expect(second.code, second.stderr).toBe(0);
        expect(second.stdout).toMatch(/schema is current/);
      } finally {
        await database.drop();
      }
    });
});

describe('loyalty seed', () => {
  const fixture = {
    orgs: [
      {
        id: 4242,
        name: 'Seeded org',
        programs: [{ id: 777001, name: 'Seeded program' }],
        promotions: [
          {
            id: 888001,
            programId: 777001,
            promoIdentifier: 'SEED-PROMO',
            name: 'Seeded promotion',
            type: 'LOYALTY_EARNING',
            maxEarnsPerCustomer: 2,
          },
        ],
        customers: [
          { id: 999001, mobile: '+1 (555) 010-0100', sources: ['INSTORE'], programIds: [777001] },
          { email: 'Seeded@Example.com', programIds: [777001] },
        ],
        tills: [{ username: 'seed.till', password: 'seed-till-password', customerAccess: 'WRITE' }],
        apiClients: [{ key: 'seed-client', secret: 'seed-client-secret', customerAccess: 'READ' }],
      },
    ],
  };

  it('loads a fixture; a server on that database then answers the seeded till, and loads no demo', async () => {
    const file = path.join(tmp, 'seeded.db');
    const fixtureFile = path.join(tmp, 'fixture.json');
    writeFileSync(fixtureFile, JSON.stringify(fixture));
    const run = await runCli(['seed', fixtureFile], cleanEnv({ DATABASE_URL: `sqlite:${file}` }));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1 org/);
    expect(run.stdout).toMatch(/2 customer/);

    const served = await startServe({ DATABASE_URL: `sqlite:${file}` });
    try {
      expect(demoWarnings(served)).toEqual([]);
      const auth = { authorization: tillAuth('seed.till', 'seed-till-password') };
      const enrol = await postJson(
        `${served.url}${BULK}`,
        {
          type: 'CUSTOMER',
          bulkAction: 'ENROL',
          promotionDetails: { programId: 777001, promoIdentifier: 'SEED-PROMO' },
          identifierName: 'mobile',
          customers: [{ identifierValue: '15550100100', source: 'INSTORE' }],
        },
        auth,
      );
      expect(enrol.status).toBe(200);
      expect(enrol.body.response[0].result).toEqual({
        entityType: 'CUSTOMER',
        entityId: 999001,
        promotionId: 888001,
        promoIdentifier: 'SEED-PROMO',
        programId: 777001,
        issualId: expect.stringMatching(DIGITS),
      });
      const byEmail = await postJson(
        `${served.url}${BULK}`,
        {
          type: 'CUSTOMER',
          bulkAction: 'ENROL',
          promotionDetails: { programId: 777001, promotionId: 888001 },
          identifierName: 'email',
          customers: [{ identifierValue: 'seeded@example.com', source: 'INSTORE' }],
        },
        auth,
      );
      expect(byEmail.status).toBe(200);
      expect(byEmail.body.response[0].errors).toEqual([]);
      const demo = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], DEMO_AUTH);
      expect(demo.status).toBe(401);
      // The seeded API client is READ: it gets a token, and the write endpoint refuses it.
      const token = await postJson(`${served.url}/v3/oauth/token/generate`, {
        key: 'seed-client',
        secret: 'seed-client-secret',
      });
      expect(token.status).toBe(200);
      const refused = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], {
        'X-CAP-API-OAUTH-TOKEN': token.body.data.accessToken,
      });
      expect(refused.status).toBe(403);
    } finally {
      await served.stop();
    }
  });

  const badFixtures: [string, unknown, RegExp[]][] = [
    [
      'a bad promotion type',
      {
        orgs: [
          {
            name: 'Bad type',
            programs: [{ id: 1, name: 'p' }],
            promotions: [{ programId: 1, name: 'x', type: 'BOGUS' }],
          },
        ],
      },
      [/promotions\[0\]/, /type/],
    ],
    [
      'a malformed mobile',
      { orgs: [{ name: 'Bad mobile', customers: [{}, { mobile: 'call me' }] }] },
      [/customers\[1\]\.mobile/],
    ],
    [
      'a till without an access level',
      { orgs: [{ name: 'Bad till', tills: [{ username: 'bad.till', password: 'pw' }] }] },
      [/tills\[0\]/, /customerAccess/],
    ],
    ['an unknown field of an org', { orgs: [{ name: 'Bad field', colour: 'red' }] }, [/colour/]],
    ['no orgs', { organisations: [] }, [/organisations|orgs/]],
  ];
  for (const [label, bad, patterns] of badFixtures) {
    it(`exits non-zero naming the field for ${label}`, async () => {
      const name = label.replace(/\W+/g, '-');
      const fixtureFile = path.join(tmp, `bad-${name}.json`);
      writeFileSync(fixtureFile, JSON.stringify(bad));
      const run = await runCli(
        ['seed', fixtureFile],
        cleanEnv({ DATABASE_URL: sqliteUrl(`bad-${name}.db`) }),
      );
      expect(run.code).not.toBe(0);
      expect(run.code).not.toBeNull();
      for (const pattern of patterns) expect(run.stderr).toMatch(pattern);
    });
  }

  it('exits non-zero for a file that is not JSON, a missing file, or no file', async () => {
    const notJson = path.join(tmp, 'not-json.json');
    writeFileSync(notJson, '{"orgs": [');
    const env = cleanEnv({ DATABASE_URL: sqliteUrl('seed-errors.db') });
    const broken = await runCli(['seed', notJson], env);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain(notJson);
    const missing = await runCli(['seed', path.join(tmp, 'does-not-exist.json')], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('does-not-exist.json');
    const none = await runCli(['seed'], env);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/FILE/);
  });
});

if (STORES.includes('postgres'))
  describe('loyalty serve on PostgreSQL', () => {
    it('never loads the demo data into a fresh database', async () => {
      const database = await createTempPg();
      try {
        const served = await startServe({ DATABASE_URL: database.url, LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN });
        try {
          expect(demoWarnings(served)).toEqual([]);
          const res = await postJson(`${served.url}${BULK}`, PAGE_EXAMPLES[0], DEMO_AUTH);
          expect(res.status).toBe(401);
          const org = await postJson(`${served.url}/admin/v1/orgs`, { name: 'Real' }, ADMIN);
          expect(org.status).toBe(201);
        } finally {
          expect((await served.stop()).code).toBe(0);
        }
        expect(await database.query('select name from orgs')).toEqual([{ name: 'Real' }]);
        expect(await database.query('select username from tills')).toEqual([]);
      } finally {
        await database.drop();
      }
    });
  });
