import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  killChildren,
  killSuiteChildren,
  runCli,
  type ServedStore,
  serveStore,
  startCli,
} from '../helpers/bulk-cli.js';
import { waitFor } from '../helpers/cli.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import { type Fault, startFaultyProxy } from '../helpers/faulty-proxy.js';
import { type PrivateBuild, privateBuild } from '../helpers/server-process.js';

const ADMIN_TOKEN = 'bulk-test-admin-token-0123456789abcdef';

let dist: PrivateBuild;
let tmp: string;

beforeAll(async () => {
  dist = await privateBuild('lp-bulk-');
  tmp = mkdtempSync(path.join(tmpdir(), 'loyalty-bulk-'));
}, 120_000);

afterEach(() => killChildren());

afterAll(async () => {
  await killSuiteChildren();
  dist?.remove();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function admin(server: ServedStore, url: string, body: unknown): Promise<any> {
  const res = await fetch(`${server.url}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (res.status !== 201) throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

interface Org {
  orgId: number;
  programId: number;
  enrolAndIssue: number;
  /** A direct promotion without an earn limit, so that a doubled earn would show. */
  direct: number;
  till: string;
  client: { key: string; secret: string };
  customers: number[];
}

let orgs = 0;

/** An org with `count` customers, made through the management API 10,000 at a time. */
async function seedOrg(server: ServedStore, count: number): Promise<Org> {
  const tag = `${process.pid}-${++orgs}`;
  const org = await admin(server, '/admin/v1/orgs', { name: `Bulk ${tag}` });
  const base = `/admin/v1/orgs/${org.id}`;
  const program = await admin(server, `${base}/programs`, { name: 'Main' });
  const enrolAndIssue = await admin(server, `${base}/promotions`, {
    programId: program.id,
    name: 'Enrol',
    type: 'ENROL_AND_ISSUE',
  });
  const direct = await admin(server, `${base}/promotions`, {
    programId: program.id,
    name: 'Direct',
    type: 'DIRECT',
  });
  await admin(server, `${base}/tills`, {
    username: `till-${tag}`,
    password: 'till-password',
    customerAccess: 'WRITE',
  });
  const client = { key: `client-${tag}`, secret: 'client-secret-0123456789' };
  await admin(server, `${base}/api-clients`, { ...client, customerAccess: 'WRITE' });
  const customers: number[] = [];
  for (let start = 0; start < count; start += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, count - start) }, () => ({
      programIds: [program.id],
    }));
    const made = await admin(server, `${base}/customers`, { customers: batch });
    customers.push(...made.customers.map((c: { id: number }) => c.id));
  }
  return {
    orgId: org.id,
    programId: program.id,
    enrolAndIssue: enrolAndIssue.id,
    direct: direct.id,
    till: `till-${tag}:till-password`,
    client,
    customers,
  };
}

/** A CSV of customer ids, with a header. */
function writeCsv(name: string, ids: readonly (number | string)[]): string {
  const file = path.join(tmp, name);
  writeFileSync(file, `identifierValue,source\n${ids.map((id) => `${id},INSTORE\n`).join('')}`);
  return file;
}

interface ResultRow {
  row: number;
  identifier: string;
  status: string;
  entityId: string;
  issualId: string;
  earnedId: string;
  code: string;
  message: string;
}

/** The results CSV (its fields hold no commas or quotes in these tests). */
function readResults(file: string): ResultRow[] {
  const lines = readFileSync(file, 'utf8').split('\r\n');
  expect(lines[0]).toBe('row,identifier,status,entityId,issualId,earnedId,code,message');
  expect(lines.at(-1)).toBe('');
  return lines.slice(1, -1).map((line) => {
    const [row, identifier, status, entityId, issualId, earnedId, code, message] = line.split(',');
    return {
      row: Number(row),
      identifier: identifier ?? '',
      status: status ?? '',
      entityId: entityId ?? '',
      issualId: issualId ?? '',
      earnedId: earnedId ?? '',
      code: code ?? '',
      message: message ?? '',
    };
  });
}

/** Every customer of `ids` appears once, in file order (row 2 onward), with the outcome `status`. */
function expectEveryRowOnce(results: ResultRow[], ids: readonly number[], status = 'ok'): void {
  expect(results).toHaveLength(ids.length);
  results.forEach((r, i) => {
    if (
      r.row !== i + 2 ||
      r.identifier !== String(ids[i]) ||
      r.status !== status ||
      r.entityId !== String(ids[i])
    ) {
      throw new Error(
        `results line ${i + 2} is ${JSON.stringify(r)}; expected row ${i + 2}, customer ${ids[i]}`,
      );
    }
  });
}

const count = (rows: Record<string, unknown>[]) => Number(rows[0]?.n);

/** Issuals (or earns) of a promotion: all of them, those not revoked, and distinct customers. */
async function records(server: ServedStore, table: 'issuals' | 'earns', promotionId: number) {
  const [all, active, customers] = await Promise.all([
    server.query(`select count(*) as n from ${table} where promotion_id = ${promotionId}`),
    server.query(
      `select count(*) as n from ${table} where promotion_id = ${promotionId} and revoked_at is null`,
    ),
    server.query(`select count(distinct customer_id) as n from ${table} where promotion_id = ${promotionId}`),
  ]);
  return { all: count(all), active: count(active), customers: count(customers) };
}

async function ids(server: ServedStore, table: 'issuals' | 'earns', promotionId: number): Promise<string[]> {
  const rows = await server.query<{ id: unknown }>(
    `select id from ${table} where promotion_id = ${promotionId}`,
  );
  return rows.map((r) => String(r.id)).sort();
}

function bulkArgs(
  server: { url: string },
  action: string,
  org: Org,
  csv: string,
  out: string,
  extra: string[] = [],
): string[] {
  return [
    'bulk',
    action,
    '--csv',
    csv,
    '--url',
    server.url,
    '--program',
    String(org.programId),
    '--promotion',
    String(action.includes('earn') ? org.direct : org.enrolAndIssue),
    '--identifier',
    'id',
    '--till',
    org.till,
    '--out',
    out,
    ...extra,
  ];
}

describe('loyalty bulk, without a server', () => {
  it('is listed by loyalty help, and bulk --help lists its options', async () => {
    const help = await runCli(dist.cli, ['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^\s+bulk ACTION/m);
    const bulkHelp = await runCli(dist.cli, ['bulk', '--help']);
    expect(bulkHelp.code).toBe(0);
    for (const option of [
      '--csv',
      '--url',
      '--program',
      '--promotion',
      '--identifier',
      '--till',
      '--resume',
    ]) {
      expect(bulkHelp.stdout).toContain(option);
    }
  });

  it('exits 1 naming a missing or bad option', async () => {
    const missing = await runCli(dist.cli, ['bulk', 'enrol', '--url', 'http://127.0.0.1:1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--csv');
    const action = await runCli(dist.cli, ['bulk', 'frobnicate']);
    expect(action.code).toBe(1);
    expect(action.stderr).toContain('frobnicate');
  });
});

describeEachStoreKind('loyalty bulk against a server', (kind) => {
  let server: ServedStore;

  beforeAll(async () => {
    server = await serveStore(dist.cli, kind, tmp, ADMIN_TOKEN);
  }, 60_000);
  afterAll(() => server?.stop());

  // 100,000 rows on SQLite; PostgreSQL takes the same test at a tenth of the size, since this
  // machine enrols there several times slower and the suite's time has a budget.
  const big = kind === 'sqlite' ? 100_000 : 10_000;
  it(`enrols a ${big.toLocaleString('en-US')}-row CSV: every customer once in the results and in the database`, async () => {
    const org = await seedOrg(server, big);
    const csv = writeCsv(`big-${kind}.csv`, org.customers);
    const out = path.join(tmp, `big-${kind}.results.csv`);
    const run = await runCli(
      dist.cli,
      bulkArgs(server, 'enrol', org, csv, out, ['--concurrency', '4']),
      240_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const total = big.toLocaleString('en-US');
    expect(run.stdout).toContain(`enrol: ${total} customers, ${big / 100} chunk(s)`);
    expect(run.stdout).toMatch(new RegExp(`ok\\s+${big}\\n`));
    expect(run.stderr).toContain(`progress: ${total}/${total} rows 100%`);

    const results = readResults(out);
    expectEveryRowOnce(results, org.customers);
    expect(await records(server, 'issuals', org.enrolAndIssue)).toEqual({
      all: big,
      active: big,
      customers: big,
    });
    expect(results.map((r) => r.issualId).sort()).toEqual(await ids(server, 'issuals', org.enrolAndIssue));
  }, 300_000);

  it('resumes after being killed half-way: every customer enrolled once, every row written once', async () => {
    const org = await seedOrg(server, 20_000);
    const csv = writeCsv(`kill-${kind}.csv`, org.customers);
    const out = path.join(tmp, `kill-${kind}.results.csv`);
    const journal = `${out}.journal`;
    const args = bulkArgs(server, 'enrol', org, csv, out, ['--concurrency', '2']);
    const first = startCli(dist.cli, args);
    const chunksDone = () => {
      try {
        return readFileSync(journal, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{"chunk"')).length;
      } catch {
        return 0;
      }
    };
    await waitFor(
      () => chunksDone() >= 60 || first.child.exitCode !== null,
      () => `${chunksDone()} chunks done; ${first.stderr()}`,
      120_000,
    );
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    const doneAtKill = chunksDone();
    expect(doneAtKill).toBeLessThan(200);
    expect(readFileSync(journal, 'utf8')).not.toContain('"finished"');

    // Without --resume the journal's done chunks would be lost: refused.
    const fresh = await runCli(dist.cli, args);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/unfinished run: add --resume/);

    const resumed = await runCli(dist.cli, [...args, '--resume'], 120_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming: ${doneAtKill} of 200 chunk`));
    // ENROL of an enrolled customer answers a warning; a resent chunk is answered from the replay instead.
    expectEveryRowOnce(readResults(out), org.customers, 'ok');
    expect(await records(server, 'issuals', org.enrolAndIssue)).toEqual({
      all: 20_000,
      active: 20_000,
      customers: 20_000,
    });
    expect(
      readResults(out)
        .map((r) => r.issualId)
        .sort(),
    ).toEqual(await ids(server, 'issuals', org.enrolAndIssue));

    // A resume of a finished run sends nothing and says so.
    const again = await runCli(dist.cli, [...args, '--resume']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('the run had finished');
    expectEveryRowOnce(readResults(out), org.customers, 'ok');
  }, 300_000);

  it('stops on Ctrl-C (SIGINT) with exit 1, and --resume finishes the run', async () => {
    const org = await seedOrg(server, 5_000);
    const csv = writeCsv(`sigint-${kind}.csv`, org.customers);
    const out = path.join(tmp, `sigint-${kind}.results.csv`);
    const args = bulkArgs(server, 'earn', org, csv, out, ['--concurrency', '1']);
    const first = startCli(dist.cli, args);
    const journal = `${out}.journal`;
    await waitFor(
      () => {
        try {
          return readFileSync(journal, 'utf8').includes('{"chunk":2,') || first.child.exitCode !== null;
        } catch {
          return false;
        }
      },
      () => first.stderr(),
      60_000,
    );
    first.child.kill('SIGINT');
    const stopped = await first.exited;
    expect(stopped.code).toBe(1);
    expect(first.stderr()).toContain('interrupted');
    expect(first.stderr()).toContain('--resume');
    const resumed = await runCli(dist.cli, [...args, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectEveryRowOnce(readResults(out), org.customers, 'ok');
    expect(await records(server, 'earns', org.direct)).toEqual({
      all: 5_000,
      active: 5_000,
      customers: 5_000,
    });
  }, 120_000);

  it('rewards every customer exactly once through a proxy that drops, loses answers, and answers 503 and 429', async () => {
    const org = await seedOrg(server, 3_000);
    // The first 24 calls: every other one meets a fault, three of each kind; then all pass.
    const kinds: Fault[] = ['drop', 'lose-response', '503', '429'];
    const proxy = await startFaultyProxy(server.url, (n) =>
      n <= 24 && n % 2 === 1 ? kinds[((n - 1) / 2) % 4] : undefined,
    );
    try {
      const csv = writeCsv(`proxy-${kind}.csv`, org.customers);
      const out = path.join(tmp, `proxy-${kind}.results.csv`);
      const args = [
        ...bulkArgs(proxy, 'earn', org, csv, out, ['--concurrency', '4']).filter(
          (a, i, all) => a !== '--till' && all[i - 1] !== '--till',
        ),
        '--client-key',
        org.client.key,
        '--client-secret',
        org.client.secret,
        // 12 faults in all: more attempts than that, so no chunk can run out of them.
        '--max-attempts',
        '20',
        '--retry-delay',
        '50',
      ];
      const run = await runCli(dist.cli, args, 120_000);
      expect(run.code, run.stderr).toBe(0);
      expect(proxy.counts).toMatchObject({ drop: 3, 'lose-response': 3, '503': 3, '429': 3 });
      expect(run.stderr).toMatch(/retry 2 of 20/);

      const results = readResults(out);
      expectEveryRowOnce(results, org.customers, 'ok');
      expect(new Set(results.map((r) => r.earnedId)).size).toBe(3_000);
      expect(await records(server, 'earns', org.direct)).toEqual({
        all: 3_000,
        active: 3_000,
        customers: 3_000,
      });
      expect(await records(server, 'issuals', org.direct)).toEqual({
        all: 3_000,
        active: 3_000,
        customers: 3_000,
      });
      expect(results.map((r) => r.earnedId).sort()).toEqual(await ids(server, 'earns', org.direct));
    } finally {
      await proxy.close();
    }
  }, 180_000);

  it('exits 2 when some customers fail, and the results say which and why', async () => {
    const org = await seedOrg(server, 3);
    const file = path.join(tmp, `some-fail-${kind}.csv`);
    // No header, no source column: the default source applies.
    const [a, b, c] = org.customers;
    writeFileSync(file, `${a}\n999999999991\n${b}\r\n\r\n"${c}"\n999999999992`);
    const out = path.join(tmp, `some-fail-${kind}.results.csv`);
    const run = await runCli(dist.cli, bulkArgs(server, 'earn', org, file, out));
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toMatch(/failed\s+2/);
    const results = readResults(out);
    expect(results.map((r) => [r.row, r.identifier, r.status, r.code])).toEqual([
      [1, String(a), 'ok', ''],
      [2, '999999999991', 'failed', '8015'],
      [3, String(b), 'ok', ''],
      [5, String(c), 'ok', ''],
      [6, '999999999992', 'failed', '8015'],
    ]);
    expect(results[1]?.message).toBe('Customer not found for the given identifiers');
    expect(await records(server, 'earns', org.direct)).toEqual({ all: 3, active: 3, customers: 3 });
  });

  it('exits 1 before sending anything for an empty file, a missing column, or a malformed row', async () => {
    const org = await seedOrg(server, 3);
    const [a, b] = org.customers.map(String);
    const cases: [string, string, RegExp[]][] = [
      ['empty', '', [/empty/]],
      ['header only', 'identifierValue,source\n', [/row 1/, /no customer rows/]],
      ['no identifier column', `name,source\n${a},INSTORE\n`, [/row 1/, /no id column/]],
      ['unclosed quote', `identifierValue,source\n${a},INSTORE\n"${b},INSTORE\n`, [/row 3/, /never closed/]],
      ['quote inside a field', `identifierValue,source\n${a},INSTORE\n${b}"x,INSTORE\n`, [/row 3/, /quote/]],
      ['text after a closing quote', `identifierValue,source\n"${a}"x,INSTORE\n`, [/row 2/, /closing quote/]],
      [
        'a row with an extra field',
        `identifierValue,source\n${a},INSTORE\n${b},INSTORE,x\n`,
        [/row 3/, /3 field/],
      ],
      [
        'an empty identifier',
        `identifierValue,source\n${a},INSTORE\n,INSTORE\n`,
        [/row 3/, /identifier is empty/],
      ],
    ];
    for (const [label, content, patterns] of cases) {
      const file = path.join(tmp, `bad-${label.replace(/\W+/g, '-')}-${kind}.csv`);
      writeFileSync(file, content);
      const run = await runCli(
        dist.cli,
        bulkArgs(server, 'enrol', org, file, path.join(tmp, `bad-${kind}.results.csv`)),
      );
      expect(run.code, `${label}: ${run.stderr}`).toBe(1);
      for (const pattern of patterns) expect(run.stderr, label).toMatch(pattern);
      expect(run.stderr, label).toContain(file);
    }
    expect(await records(server, 'issuals', org.enrolAndIssue)).toEqual({
      all: 0,
      active: 0,
      customers: 0,
    });
  }, 60_000);

  it('exits 1 when the server refuses the whole request, naming the code', async () => {
    const org = await seedOrg(server, 2);
    const csv = writeCsv(`refused-${kind}.csv`, org.customers);
    const run = await runCli(dist.cli, [
      ...bulkArgs(server, 'enrol', org, csv, path.join(tmp, `refused-${kind}.results.csv`)),
      '--promotion',
      '987654321',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/could not finish: rows 2-3: HTTP 400: 8874 promotion id passed is invalid/);
    // Nothing was done, so the corrected command may start afresh without --resume.
    const fixed = await runCli(
      dist.cli,
      bulkArgs(server, 'enrol', org, csv, path.join(tmp, `refused-${kind}.results.csv`)),
    );
    expect(fixed.code, fixed.stderr).toBe(0);
  });

  // revokeEnrolAndEarn's page serves REVOKE_EARN on a DIRECT promotion too ("Direct + REVOKE_EARN"),
  // so the first endpoint tried takes the chunk and no fallback to revokeDirectEarn is needed.
  it('revokes earns and enrolments, the earns of a direct promotion through revokeEnrolAndEarn', async () => {
    const org = await seedOrg(server, 150);
    const csv = writeCsv(`revoke-${kind}.csv`, org.customers);
    const out = (name: string) => path.join(tmp, `revoke-${name}-${kind}.results.csv`);
    expect((await runCli(dist.cli, bulkArgs(server, 'earn', org, csv, out('earn')))).code).toBe(0);
    const revoke = await runCli(dist.cli, bulkArgs(server, 'revoke-earn', org, csv, out('revoke-earn')));
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stderr).not.toContain('revokeDirectEarn');
    const earned = readResults(out('earn')).map((r) => r.earnedId);
    expect(readResults(out('revoke-earn')).map((r) => r.earnedId)).toEqual(earned);
    expect(await records(server, 'earns', org.direct)).toEqual({ all: 150, active: 0, customers: 150 });

    expect((await runCli(dist.cli, bulkArgs(server, 'enrol', org, csv, out('enrol')))).code).toBe(0);
    const unenrol = await runCli(dist.cli, bulkArgs(server, 'revoke-enrol', org, csv, out('revoke-enrol')));
    expect(unenrol.code, unenrol.stderr).toBe(0);
    expect(readResults(out('revoke-enrol')).map((r) => r.issualId)).toEqual(
      readResults(out('enrol')).map((r) => r.issualId),
    );
    expect(await records(server, 'issuals', org.enrolAndIssue)).toEqual({
      all: 150,
      active: 0,
      customers: 150,
    });
  }, 60_000);
});
