import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// node:cluster workers share one port; the primary migrates once and drains them all on SIGTERM.
if (STORES.includes('postgres')) {
  describe('loyalty serve --workers on PostgreSQL', () => {
    let pg: TempPg;
    let primary: ChildProcess;
    let url: string;
    let output = '';

    beforeAll(async () => {
      pg = await createTempPg();
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      primary = spawn(process.execPath, [build.cli, 'serve', '--workers', '2'], {
        env: cleanEnv({
          HOST: '127.0.0.1',
          PORT: String(port),
          DATABASE_URL: pg.url,
          LOYALTY_ADMIN_TOKEN: ADMIN,
          LOG_LEVEL: 'warn',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      primary.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      primary.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          if ((await fetch(`${url}/health`)).status === 200) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline || primary.exitCode !== null)
          throw new Error(`no healthy workers:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    afterAll(async () => {
      if (primary && primary.exitCode === null) primary.kill('SIGKILL');
      for (const pid of primary?.pid ? childrenOf(primary.pid) : []) process.kill(pid, 'SIGKILL');
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
