import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/cli.js';
import { asOwner } from '../helpers/private-pg.js';
import {
  type Answer,
  bulkBody,
  call,
  type LoadOrg,
  newReceived,
  type PrivateBuild,
  privateBuild,
  record,
  type ServerProcess,
  seedLoadOrg,
  slice,
  startServerProcess,
} from '../helpers/server-process.js';

/**
 * Losing the database host: a primary and a synchronous streaming standby (clusters of this test's
 * own, in temporary directories, never the shared server), two `loyalty serve` processes whose
 * DATABASE_URL names both hosts with target_session_attrs=read-write, ENROL/EARN load through both;
 * the primary is stopped in immediate mode (a crash), then the standby promoted. Meanwhile every
 * answer is 200 or 503 (never a 500, never a wrong answer); the service recovers by itself on the new
 * primary; and every id it acknowledged exists there (synchronous replication: an acknowledged COMMIT
 * is on the standby). PostgreSQL only, and never skipped.
 */

const ADMIN_TOKEN = 'failover-admin-token-0123456789abcdef';
const CUSTOMERS = 200;

interface Cluster {
  dir: string;
  data: string;
  port: number;
  running: boolean;
}

async function ctl(c: Cluster, ...args: string[]): Promise<void> {
  await asOwner('pg_ctl', ['-D', c.data, '-w', '-t', '60', ...args]);
}

async function newDir(prefix: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  if (userInfo().uid === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  chmodSync(dir, 0o700);
  return dir;
}

async function start(c: Cluster): Promise<void> {
  const options = `-p ${c.port} -k ${c.dir} -c listen_addresses=127.0.0.1 -c max_connections=60`;
  await ctl(c, '-o', options, '-l', path.join(c.dir, 'log'), 'start');
  c.running = true;
}

async function query(port: number, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/loyalty` });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('failover to a synchronous standby under load', { timeout: 400_000 }, () => {
  const clusters: Cluster[] = [];
  let build: PrivateBuild | undefined;
  const servers: ServerProcess[] = [];
  let org: LoadOrg;

  beforeAll(async () => {
    const buildDone = privateBuild('lp-failover-');
    const primary: Cluster = {
      dir: await newDir('lp-primary-'),
      data: '',
      port: await freePort(),
      running: false,
    };
    primary.data = path.join(primary.dir, 'data');
    clusters.push(primary);
    await asOwner('initdb', [
      '-D',
      primary.data,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    const conf = ['synchronous_commit = on', 'wal_level = replica', 'max_wal_senders = 4'].join('\n');
    appendFileSync(path.join(primary.data, 'postgresql.conf'), `\n${conf}\n`);
    await start(primary);
    const admin = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${primary.port}/postgres`,
    });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query('create database loyalty');
    await admin.end();

    const standby: Cluster = {
      dir: await newDir('lp-standby-'),
      data: '',
      port: await freePort(),
      running: false,
    };
    standby.data = path.join(standby.dir, 'data');
    clusters.push(standby);
    await asOwner('pg_basebackup', [
      '-D',
      standby.data,
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-X',
      'stream',
      '-R',
      '--checkpoint=fast',
    ]);
    await start(standby);
    // Synchronous only now: before the standby existed, every COMMIT would have waited for it.
    await query(primary.port, "alter system set synchronous_standby_names = '*'");
    await query(primary.port, 'select pg_reload_conf()');
    // Until the standby is the synchronous one, a COMMIT acknowledged might exist on the primary only.
    for (let i = 0; ; i++) {
      const { rows } = await query(primary.port, 'select sync_state from pg_stat_replication');
      if (rows[0]?.sync_state === 'sync') break;
      if (i > 300) throw new Error('the standby never became synchronous');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    build = await buildDone;
    const env = {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/loyalty?target_session_attrs=read-write`,
      LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
    };
    // One after the other: the first migrates the new database.
    servers.push(await startServerProcess(build.cli, env));
    servers.push(await startServerProcess(build.cli, env));
    org = await seedLoadOrg(servers[0]?.url as string, ADMIN_TOKEN, CUSTOMERS);
  }, 400_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const c of clusters) {
      if (c.running) await ctl(c, '-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(c.dir, { recursive: true, force: true });
    }
    build?.remove();
  }, 120_000);

  it('answers 503 while no host takes writes, never a 500, recovers by itself, and loses no acknowledged id', async () => {
    const [primary, standby] = clusters as [Cluster, Cluster];
    const received = newReceived();
    const answers: { phase: string; server: number; answer: Answer }[] = [];
    let phase = 'before';
    let stop = false;

    async function client(n: number): Promise<void> {
      const server = servers[n % 2] as ServerProcess;
      for (let i = 0; !stop; i++) {
        const earn = i % 2 === 1;
        const ids = slice(org.customerIds, (n * 53 + i * 31) % CUSTOMERS, 20);
        const body = bulkBody(earn ? 'EARN' : 'ENROL', org.programId, org.enrolAndIssue, ids);
        const answer = await call(`${server.url}/v2/promotion/bulk/enrolAndEarn`, 'POST', body, {
          authorization: org.auth,
        });
        answers.push({ phase, server: n % 2, answer });
        if (answer.status === 200 || answer.status === 201) record(received, org.enrolAndIssue, answer.body);
        // The 503s come back at once while no host takes writes: pace them.
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    const load = Promise.all([0, 1, 2, 3].map(client));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      phase = 'no primary';
      await ctl(primary, '-m', 'immediate', 'stop');
      primary.running = false;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const ready = await call(`${servers[0]?.url}/ready`, 'GET');
      phase = 'promoting';
      await ctl(standby, 'promote');
      phase = 'after';
      // Recovered: each process answers 200 again, by itself, within 30 s of the promotion.
      const deadline = Date.now() + 30_000;
      const recovered = (server: number) =>
        answers.some((a) => a.phase === 'after' && a.server === server && a.answer.status !== 503);
      while (!(recovered(0) && recovered(1)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(ready.status).toBe(503);
    } finally {
      stop = true;
      await load;
    }

    const unexpected = answers.filter((a) => ![200, 201, 503].includes(a.answer.status));
    expect(unexpected.map((a) => [a.phase, a.answer.status, a.answer.text.slice(0, 300)])).toStrictEqual([]);
    expect(answers.filter((a) => a.phase === 'before' && a.answer.status !== 503).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.phase === 'no primary' && a.answer.status === 503).length).toBeGreaterThan(
      0,
    );
    for (const server of [0, 1]) {
      expect(
        answers.filter((a) => a.phase === 'after' && a.server === server && a.answer.status !== 503).length,
      ).toBeGreaterThan(0);
    }
    for (const server of servers) expect((await call(`${server.url}/ready`, 'GET')).status).toBe(200);
    // A 503 is in the bulk envelope; a 200 or 201 (Capillary's, when some customer failed) has one item a customer.
    for (const { answer } of answers) {
      if (answer.status === 503) expect(answer.body.response[0].errors[0].code, answer.text).toBe(503);
      else expect(answer.body.response, answer.text).toHaveLength(20);
    }

    // Every acknowledged id, on the new primary, for its customer and promotion.
    const issuals = await query(
      standby.port,
      `select id::text, customer_id::text from issuals where org_id = ${org.orgId}`,
    );
    const earns = await query(
      standby.port,
      `select id::text, customer_id::text from earns where org_id = ${org.orgId}`,
    );
    const issualOwner = new Map(issuals.rows.map((r) => [r.id, r.customer_id]));
    const earnOwner = new Map(earns.rows.map((r) => [r.id, r.customer_id]));
    expect(received.issuals.size).toBeGreaterThan(0);
    for (const [id, { customer }] of received.issuals)
      expect(issualOwner.get(String(id))).toBe(String(customer));
    for (const [id, { customer }] of received.earns) expect(earnOwner.get(String(id))).toBe(String(customer));
  });
});
