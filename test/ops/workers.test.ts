import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/auth/secret-box.js';
import { createStore } from '../../src/db/database.js';
import { cleanEnv, createTempPg, freePort, type TempPg } from '../helpers/cli.js';
import { bulkBody, call, type PrivateBuild, privateBuild, seedLoadOrg } from '../helpers/server-process.js';
import { STORES } from '../helpers/stores.js';

const ADMIN = 'workers-admin-token-0123456789abcdef0123456789';

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

let build: PrivateBuild;
beforeAll(async () => {
  build = await privateBuild('loyalty-workers-');
}, 300_000);
afterAll(() => build?.remove());

interface Primary {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** `loyalty serve --workers 2` on `pgUrl` (with `env`, in `cwd`), once /health answers 200. */
async function startWorkers(pgUrl: string, env: Record<string, string> = {}, cwd?: string): Promise<Primary> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(process.execPath, [build.cli, 'serve', '--workers', '2'], {
    env: cleanEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: pgUrl,
      LOYALTY_ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'warn',
      ...env,
    }),
    ...(cwd === undefined ? {} : { cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no healthy workers:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url, output: () => output };
}

/** Kills the primary and its workers, whatever state they are in. */
function killWorkers(primary: ChildProcess | undefined): void {
  if (primary && primary.exitCode === null) primary.kill('SIGKILL');
  for (const pid of primary?.pid ? childrenOf(primary.pid) : []) process.kill(pid, 'SIGKILL');
}

// node:cluster workers share one port; the primary migrates once and drains them all on SIGTERM.
if (STORES.includes('postgres')) {
  describe('loyalty serve --workers on PostgreSQL', () => {
    let pg: TempPg;
    let primary: ChildProcess;
    let url: string;

    beforeAll(async () => {
      pg = await createTempPg();
      ({ child: primary, url } = await startWorkers(pg.url));
    });

    afterAll(async () => {
      killWorkers(primary);
      await pg?.drop();
    });

    it('runs two workers that serve the API, and drains them all on SIGTERM with exit 0', async () => {
      const workers = childrenOf(primary.pid as number);
      expect(workers).toHaveLength(2);
      const org = await seedLoadOrg(url, ADMIN, 200);
      const answers = await Promise.all(
        [0, 1, 2, 3].map((k) =>
          call(
            `${url}/v2/promotion/bulk/enrolAndEarn`,
            'POST',
            bulkBody('ENROL', org.programId, org.enrolAndIssue, org.customerIds.slice(k * 50, k * 50 + 50)),
            { authorization: org.auth },
          ),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
      primary.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    });
  });

  // Without LOYALTY_SECRET_KEY: the primary makes the key file before it forks, and every worker
  // seals and opens with that one key (a worker with a key of its own would answer 503 to tokens
  // another signed, or refuse to start on what another sealed).
  describe('loyalty serve --workers on PostgreSQL with the key file', () => {
    let pg: TempPg;
    let primary: Primary | undefined;
    let cwd: string;

    beforeAll(async () => {
      pg = await createTempPg();
      cwd = mkdtempSync(path.join(tmpdir(), 'workers-key-'));
      primary = await startWorkers(pg.url, { LOYALTY_SECRET_KEY: '' }, cwd);
    }, 90_000);
    afterAll(async () => {
      killWorkers(primary?.child);
      await pg?.drop();
      rmSync(cwd, { recursive: true, force: true });
    });

    it('every worker uses the key file the primary made', async () => {
      const { url } = primary as Primary;
      const file = path.join(cwd, 'data', 'secret.key');
      const key = readFileSync(file, 'utf8').trim();
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // One warning, from the primary: the workers found the file made.
      expect((primary as Primary).output().split(file).length - 1).toBe(1);
      const admin = { authorization: `Bearer ${ADMIN}` };
      const org = await call(`${url}/admin/v1/orgs`, 'POST', { name: 'Workers key' }, admin);
      const orgId = (org.body as { id: number }).id;
      const customer = await call(
        `${url}/admin/v1/orgs/${orgId}/customers`,
        'POST',
        { customers: [{ mobile: '9100' }] },
        admin,
      );
      const customerId = (customer.body as { customers: { id: number }[] }).customers[0]?.id;
      const client = { key: 'workers-key-client', secret: 'workers-key-secret', customerAccess: 'READ' };
      expect((await call(`${url}/admin/v1/orgs/${orgId}/api-clients`, 'POST', client, admin)).status).toBe(
        201,
      );
      // Several connections at once, so that both workers sign and verify.
      const tokens = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const r = await call(`${url}/v3/oauth/token/generate`, 'POST', {
            key: client.key,
            secret: client.secret,
          });
          expect(r.status).toBe(200);
          return (r.body as { data: { accessToken: string } }).data.accessToken;
        }),
      );
      const lookups = await Promise.all(
        tokens.flatMap((token) =>
          [0, 1].map(
            async () =>
              (
                await fetch(
                  `${url}/v2/customers/lookup/promotionData?identifierName=id&identifierValue=${customerId}&source=INSTORE`,
                  {
                    headers: { 'x-cap-api-oauth-token': token },
                  },
                )
              ).status,
          ),
        ),
      );
      expect(new Set(lookups)).toStrictEqual(new Set([200]));
      const store = createStore({ kind: 'postgres', connectionString: pg.url, poolSize: 1 });
      try {
        const rows = await store.db.selectFrom('oauth_keys').select('sealed_secret').execute();
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) expect(row.sealed_secret).toMatch(`sealed:v1:${keyIdOf(key)}:`);
      } finally {
        await store.destroy();
      }
    });
  });
}

// The refusals need no database, so they run whichever stores TEST_STORES names (SQLite only too).
describe('loyalty serve --workers refusals', () => {
  it('refuses SQLite and a bad count, with a message', async () => {
    const run = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; text: string }>((resolve) => {
        let text = '';
        const child = spawn(process.execPath, [build.cli, ...args], {
          env: cleanEnv(env),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout?.setEncoding('utf8').on('data', (c: string) => (text += c));
        child.stderr?.setEncoding('utf8').on('data', (c: string) => (text += c));
        child.once('exit', (code) => resolve({ code, text }));
      });
    const sqlite = await run(['serve', '--workers', '2'], { DATABASE_URL: 'sqlite::memory:' });
    expect(sqlite.code).toBe(78);
    expect(sqlite.text).toContain('--workers needs PostgreSQL');
    const bad = await run(['serve', '--workers', 'many'], {});
    expect(bad.code).toBe(64);
    expect(bad.text).toContain('--workers N');
  });
});
