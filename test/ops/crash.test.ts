import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTempPg, type TempPg } from '../helpers/cli.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import {
  bulkBody,
  call,
  type LoadOrg,
  newReceived,
  type PrivateBuild,
  privateBuild,
  type Received,
  record,
  type ServerProcess,
  seedLoadOrg,
  slice,
  startServerProcess,
} from '../helpers/server-process.js';
import type { StoreKind } from '../helpers/stores.js';

/**
 * kill -9 under load: several clients send ENROL and EARN of 100 customers each to a real
 * `loyalty serve`, the process is killed mid-load and started again on the same database. Every
 * issualId and earnedId a client was given must exist, no earn may lack its issual, no customer may
 * hold two active issuals in one promotion, and SQLite's integrity check must pass.
 */

const ADMIN_TOKEN = 'crash-admin-token-0123456789abcdef0123456789';
const CUSTOMERS = 300;
const CLIENTS = 4;
/** Answers to wait for before the kill, so that the kill lands in the middle of the load. */
const ANSWERS_BEFORE_KILL = 24;
const MAX_REQUESTS_PER_CLIENT = 2_000;

interface Store {
  url: string;
  /** Rows of a query against the store (SQLite opened beside the server, PostgreSQL by a client). */
  query<T>(text: string): Promise<T[]>;
  dispose(): Promise<void>;
}

async function openStore(kind: StoreKind): Promise<Store> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-crash-'));
    const file = path.join(dir, 'loyalty.db');
    return {
      url: `sqlite:${file}`,
      query: async <T>(text: string) => {
        const db = new SqliteDatabase(file, { fileMustExist: true });
        try {
          return db.prepare(text).all() as T[];
        } finally {
          db.close();
        }
      },
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const pg: TempPg = await createTempPg();
  return { url: pg.url, query: (text) => pg.query(text), dispose: () => pg.drop() };
}

let build: PrivateBuild;
beforeAll(async () => {
  build = await privateBuild('lp-crash-build-');
}, 120_000);
afterAll(() => build?.remove());

describeEachStoreKind(
  'kill -9 under load',
  (kind) => {
    let store: Store;
    let server: ServerProcess | undefined;
    let org: LoadOrg;
    const received: Received = newReceived();
    let answered = 0;
    let failedInFlight = 0;
    /** Set just before the kill: only from then on may a request fail for want of a server. */
    let killed = false;

    beforeAll(async () => {
      store = await openStore(kind);
      server = await startServerProcess(build.cli, {
        DATABASE_URL: store.url,
        LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      org = await seedLoadOrg(server.url, ADMIN_TOKEN, CUSTOMERS);
    }, 120_000);

    afterAll(async () => {
      await server?.kill9();
      await store?.dispose();
    }, 60_000);

    /** One client: ENROL, EARN and direct EARN of 100 customers, until the server goes away. */
    async function client(n: number, url: string): Promise<void> {
      for (let i = 0; i < MAX_REQUESTS_PER_CLIENT; i++) {
        const step = i % 3;
        const promotion = step === 2 ? org.direct : org.enrolAndIssue;
        const action = step === 0 ? 'ENROL' : 'EARN';
        const path = step === 2 ? '/v2/promotion/bulk/directEarn' : '/v2/promotion/bulk/enrolAndEarn';
        const ids = slice(org.customerIds, (n * 70 + i * 37) % CUSTOMERS, 100);
        try {
          const res = await call(`${url}${path}`, 'POST', bulkBody(action, org.programId, promotion, ids), {
            authorization: org.auth,
          });
          expect([200, 201], res.text.slice(0, 300)).toContain(res.status);
          record(received, promotion, res.body);
          answered += 1;
        } catch (err) {
          if ((err as Error).name === 'AssertionError') throw err;
          // A reset or a refused connection before the kill is a failure of the server, not the crash.
          if (!killed)
            throw new Error(`request failed before the kill: ${(err as Error).message}`, { cause: err });
          // The server is gone: the answer of this request is lost, which is what a crash does.
          failedInFlight += 1;
          return;
        }
      }
    }

    it('every id a client was given survives the crash, and the store keeps its invariants', async () => {
      const first = server as ServerProcess;
      const clients = Array.from({ length: CLIENTS }, (_, n) => client(n, first.url));
      const deadline = Date.now() + 90_000;
      while (answered < ANSWERS_BEFORE_KILL && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(answered).toBeGreaterThanOrEqual(ANSWERS_BEFORE_KILL);
      killed = true;
      await first.kill9();
      await Promise.all(clients);
      // Every client had a request in flight, or was about to send one, when the process died.
      expect(failedInFlight).toBe(CLIENTS);
      expect(received.issuals.size).toBeGreaterThan(0);
      expect(received.earns.size).toBeGreaterThan(0);

      server = await startServerProcess(build.cli, {
        DATABASE_URL: store.url,
        LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      const ready = await call(`${server.url}/ready`, 'GET');
      expect(ready.status, ready.text).toBe(200);

      const issuals = await store.query<{ id: number; customer_id: number; promotion_id: number }>(
        `select id, customer_id, promotion_id from issuals where org_id = ${org.orgId}`,
      );
      const earns = await store.query<{
        id: number;
        customer_id: number;
        promotion_id: number;
        issual_id: number;
      }>(`select id, customer_id, promotion_id, issual_id from earns where org_id = ${org.orgId}`);
      const issualById = new Map(issuals.map((r) => [String(r.id), r]));
      const earnById = new Map(earns.map((r) => [String(r.id), r]));
      for (const [id, what] of received.issuals) {
        const row = issualById.get(id);
        expect(row, `issual ${id}`).toBeDefined();
        expect([Number(row?.customer_id), Number(row?.promotion_id)]).toStrictEqual([
          what.customer,
          what.promotion,
        ]);
      }
      for (const [id, what] of received.earns) {
        const row = earnById.get(id);
        expect(row, `earn ${id}`).toBeDefined();
        expect([Number(row?.customer_id), Number(row?.promotion_id), String(row?.issual_id)]).toStrictEqual([
          what.customer,
          what.promotion,
          what.issual,
        ]);
      }

      const orphans = await store.query<{ id: number }>(
        'select e.id from earns e left join issuals i on i.org_id = e.org_id and i.id = e.issual_id ' +
          'where i.id is null or i.customer_id <> e.customer_id or i.promotion_id <> e.promotion_id',
      );
      expect(orphans).toStrictEqual([]);
      // No foreign key guards issuals (they cost too much on the bulk path): check what it would.
      const orphanIssuals = await store.query<{ id: number }>(
        'select i.id from issuals i ' +
          'left join customers c on c.org_id = i.org_id and c.id = i.customer_id ' +
          'left join promotions p on p.org_id = i.org_id and p.id = i.promotion_id ' +
          'where c.id is null or p.id is null',
      );
      expect(orphanIssuals).toStrictEqual([]);
      const doubled = await store.query<{ customer_id: number }>(
        'select customer_id from issuals where revoked_at is null ' +
          'group by org_id, promotion_id, customer_id having count(*) > 1',
      );
      expect(doubled).toStrictEqual([]);
      if (kind === 'sqlite') {
        expect(await store.query('pragma integrity_check')).toStrictEqual([{ integrity_check: 'ok' }]);
        expect(await store.query('pragma foreign_key_check')).toStrictEqual([]);
      }

      // The restarted server carries on where the first left off: ids keep growing, nothing is reused.
      const maxIssual = Math.max(...issuals.map((r) => Number(r.id)));
      const fresh = org.customerIds.filter(
        (id) => !issuals.some((r) => Number(r.customer_id) === id && r.promotion_id === org.enrolAndIssue),
      );
      const target = fresh[0] ?? (org.customerIds[0] as number);
      const after = await call(
        `${server.url}/v2/promotion/bulk/directEarn`,
        'POST',
        bulkBody('EARN', org.programId, org.direct, [target]),
        { authorization: org.auth },
      );
      expect(after.status, after.text).toBe(200);
      expect(Number(after.body.response[0].result.earnedId)).toBeGreaterThan(
        Math.max(0, ...earns.map((r) => Number(r.id))),
      );
      expect(maxIssual).toBeGreaterThan(0);
    });
  },
  { timeout: 180_000 },
);
