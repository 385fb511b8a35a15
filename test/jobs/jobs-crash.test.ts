import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTempPg } from '../helpers/cli.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import {
  type PrivateBuild,
  privateBuild,
  type ServerProcess,
  seedLoadOrg,
  startServerProcess,
} from '../helpers/server-process.js';

/**
 * kill -9 of a real `loyalty serve` in the middle of a job, then a restart on the same store: the job
 * resumes at the first chunk not committed, and every row is processed exactly once.
 */
const ADMIN_TOKEN = 'jobs-crash-admin-token-0123456789abcdef01234';
const CUSTOMERS = 4_000;
const ROWS = 20_000;

let build: PrivateBuild;
beforeAll(async () => {
  build = await privateBuild('lp-jobs-crash-build-');
}, 180_000);
afterAll(() => build?.remove());

describeEachStoreKind(
  'a job survives kill -9',
  (kind) => {
    let url: string;
    let query: <T>(text: string) => Promise<T[]>;
    let dispose: () => Promise<void>;
    let server: ServerProcess | undefined;

    beforeAll(async () => {
      if (kind === 'sqlite') {
        const dir = mkdtempSync(path.join(tmpdir(), 'lp-jobs-crash-'));
        const file = path.join(dir, 'loyalty.db');
        url = `sqlite:${file}`;
        query = async <T>(text: string) => {
          const db = new SqliteDatabase(file, { fileMustExist: true });
          try {
            return db.prepare(text).all() as T[];
          } finally {
            db.close();
          }
        };
        dispose = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const pg = await createTempPg();
        url = pg.url;
        query = (text) => pg.query(text);
        dispose = () => pg.drop();
      }
    }, 60_000);
    afterAll(async () => {
      await server?.kill9();
      await dispose?.();
    }, 60_000);

    const env = () => ({
      DATABASE_URL: url,
      LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOYALTY_JOB_POLL_MS: '50',
      LOYALTY_JOB_LEASE_MS: '2000',
    });
    const get = async (s: ServerProcess, p: string) =>
      (
        await fetch(`${s.url}${p}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json() as Promise<any>;

    it('resumes at the first chunk not committed, with no row done twice or skipped', async () => {
      server = await startServerProcess(build.cli, env());
      const org = await seedLoadOrg(server.url, ADMIN_TOKEN, CUSTOMERS);
      const rows = Array.from({ length: ROWS }, (_, i) => String(org.customerIds[(i * 7) % CUSTOMERS]));
      const res = await fetch(
        `${server.url}/admin/v1/orgs/${org.orgId}/jobs?action=ENROL&programId=${org.programId}&promotionId=${org.enrolAndIssue}&identifierName=id`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv' },
          body: `id\n${rows.join('\n')}\n`,
        },
      );
      expect(res.status).toBe(202);
      const jobId = ((await res.json()) as { id: string }).id;
      const base = `/admin/v1/orgs/${org.orgId}/jobs/${jobId}`;
      for (;;) {
        const job = await get(server, base);
        if (job.rows.processed > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await server.kill9();
      const [mid] = await query<{ processed: number; next_chunk: number }>(
        `select processed, next_chunk from jobs where id = ${jobId}`,
      );
      expect(Number(mid?.processed)).toBeLessThan(ROWS);
      expect(Number(mid?.processed)).toBe(Number(mid?.next_chunk) * 100);

      server = await startServerProcess(build.cli, env());
      const deadline = Date.now() + 120_000;
      let job: any;
      for (;;) {
        job = await get(server as ServerProcess, base);
        if (job.status !== 'running' && job.status !== 'queued') break;
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(job.status).toBe('succeeded');
      expect(job.rows.processed).toBe(ROWS);
      const text = await (
        await fetch(`${(server as ServerProcess).url}${base}/results`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).text();
      const lines = text
        .split('\r\n')
        .filter((l) => l !== '')
        .slice(1)
        .map((l) => l.split(','));
      expect(lines.map((l) => l[0])).toEqual(rows.map((_, i) => String(i + 2)));
      // The first time a customer appears it is enrolled; every later time it is already enrolled.
      const fresh = lines.filter((l) => l[6] === '');
      expect(fresh.length).toBe(CUSTOMERS);
      expect(lines.filter((l) => l[6] === '8890').length).toBe(ROWS - CUSTOMERS);
      const stored = await query<{ id: number; customer_id: number }>(
        `select id, customer_id from issuals where request_id = 'job:${jobId}'`,
      );
      expect(stored.length).toBe(CUSTOMERS);
      expect(new Set(fresh.map((l) => l[4]))).toEqual(new Set(stored.map((r) => String(r.id))));
    });
  },
  { timeout: 300_000 },
);
