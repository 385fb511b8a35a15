import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../../src/errors.js';
import { createPrivatePg, type PrivatePg } from '../helpers/private-pg.js';
import {
  type Answer,
  bulkBody,
  call,
  type LoadOrg,
  type PrivateBuild,
  privateBuild,
  type ServerProcess,
  seedLoadOrg,
  slice,
  startServerProcess,
} from '../helpers/server-process.js';

/**
 * PostgreSQL goes away under load and comes back. The cluster is this file's own (never the shared
 * one other files use), stopped and started with pg_ctl. Requests in the gap must fail with 503 in
 * the bulk envelope, nothing may be half-written, /ready must say "not ready" meanwhile, and the
 * server must recover by itself. PostgreSQL only: SQLite has no server to lose.
 */

const ADMIN_TOKEN = 'outage-admin-token-0123456789abcdef0123456789';
const CUSTOMERS = 200;
const CLIENTS = 3;
const MAX_REQUESTS_PER_CLIENT = 5_000;

interface Sent {
  requestId: string;
  action: string;
  promotion: number;
  /** The customer ids the request named. */
  customers: number[];
  answer?: Answer;
  networkError?: string;
}

async function waitUntil(
  what: string | (() => string),
  test: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting until ${typeof what === 'function' ? (what as () => string)() : what}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('PostgreSQL stopped and started under load', { timeout: 240_000 }, () => {
  let cluster: PrivatePg;
  let build: PrivateBuild;
  let server: ServerProcess;
  let org: LoadOrg;
  let databaseUrl: string;

  beforeAll(async () => {
    [cluster, build] = await Promise.all([createPrivatePg(), privateBuild('lp-outage-build-')]);
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('create database loyalty');
    await admin.end();
    databaseUrl = cluster.url.replace(/\/postgres$/, '/loyalty');
    server = await startServerProcess(build.cli, {
      DATABASE_URL: databaseUrl,
      LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOYALTY_PG_POOL_SIZE: '5',
    });
    org = await seedLoadOrg(server.url, ADMIN_TOKEN, CUSTOMERS);
  }, 180_000);

  afterAll(async () => {
    await server?.kill9();
    await cluster?.destroy();
    build?.remove();
  }, 120_000);

  it('stopped fast, then immediately: answers 503 in the envelope while the store is down, writes nothing half, and recovers by itself', async () => {
    const sent: Sent[] = [];
    let stop = false;
    const readiness: { status: number; body: any }[] = [];

    async function client(n: number): Promise<void> {
      for (let i = 0; i < MAX_REQUESTS_PER_CLIENT && !stop; i++) {
        const step = i % 3;
        const promotion = step === 2 ? org.direct : org.enrolAndIssue;
        const action = step === 0 ? 'ENROL' : 'EARN';
        const path = step === 2 ? '/v2/promotion/bulk/directEarn' : '/v2/promotion/bulk/enrolAndEarn';
        const ids = slice(org.customerIds, (n * 50 + i * 31) % CUSTOMERS, 100);
        const entry: Sent = { requestId: `outage-${n}-${i}`, action, promotion, customers: ids };
        sent.push(entry);
        try {
          entry.answer = await call(
            `${server.url}${path}`,
            'POST',
            bulkBody(action, org.programId, promotion, ids),
            {
              authorization: org.auth,
              'x-request-id': entry.requestId,
            },
          );
        } catch (err) {
          entry.networkError = (err as Error).message;
        }
        // Pace the 503s a little: they come back at once while the store is down.
        if (entry.answer?.status === 503) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    const count = (test: (s: Sent) => boolean) => sent.filter(test).length;
    const ok = (s: Sent) => s.answer?.status === 200 || s.answer?.status === 201;
    const unavailable = (s: Sent) => s.answer?.status === 503;
    const outcomeUnknown = (s: Sent) =>
      unavailable(s) && s.answer?.body?.response?.[0]?.errors?.[0]?.message === MESSAGES.commitOutcomeUnknown;

    const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
    try {
      await waitUntil('the load is under way', () => count(ok) >= 10);
      expect((await call(`${server.url}/ready`, 'GET')).status).toBe(200);

      for (const mode of ['fast', 'immediate'] as const) {
        await cluster.stop(mode);
        const okBeforeRestart = count(ok);
        const unavailableBefore = count(unavailable);
        await waitUntil(
          () =>
            `clients get 503s (server: ${server.output().slice(-4000)}) (so far: ${JSON.stringify(sent.slice(-5).map((s) => [s.answer?.status, s.answer?.text.slice(0, 200), s.networkError]))})`,
          () => count(unavailable) >= unavailableBefore + 10,
        );
        const ready = await call(`${server.url}/ready`, 'GET');
        readiness.push(ready);
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({ status: 'not ready', reason: expect.any(String) });
        expect(await call(`${server.url}/health`, 'GET')).toMatchObject({ status: 200 });

        await cluster.start();
        await waitUntil(
          'the server is ready again',
          async () => (await call(`${server.url}/ready`, 'GET')).status === 200,
        );
        await waitUntil('the load succeeds again', () => count(ok) >= okBeforeRestart + 10);
      }
    } finally {
      stop = true;
      await Promise.all(clients);
    }

    // Every answer is a success, or a 503 in the bulk envelope; none is a 500 or another failure.
    const statuses = new Map<number | string, number>();
    for (const s of sent) {
      const key = s.answer?.status ?? 'network error';
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    expect(
      [...statuses.keys()].every((k) => k === 200 || k === 201 || k === 503),
      JSON.stringify([...statuses]),
    ).toBe(true);
    for (const s of sent.filter(unavailable)) {
      expect(s.answer?.body).toStrictEqual({
        response: [{ errors: [{ status: false, code: 503, message: expect.any(String) }], warnings: [] }],
        totalCount: 1,
        failureCount: 1,
      });
    }

    // Nothing half-written: a request's rows are exactly what its answer reported, or none at all.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      type Row = { id: string; request_id: string; customer_id: string; promotion_id: string };
      const rows = async (table: string) =>
        (
          await db.query<Row>(
            `select id::text as id, request_id, customer_id::text as customer_id,
                    promotion_id::text as promotion_id from ${table} where org_id = $1`,
            [org.orgId],
          )
        ).rows;
      const byRequest = (list: Row[]) => {
        const map = new Map<string, Set<string>>();
        for (const r of list) map.set(r.request_id, (map.get(r.request_id) ?? new Set()).add(r.id));
        return map;
      };
      const customersByRequest = (list: Row[]) => {
        const map = new Map<string, { customer: string; promotion: string }[]>();
        for (const r of list)
          map.set(r.request_id, [
            ...(map.get(r.request_id) ?? []),
            { customer: r.customer_id, promotion: r.promotion_id },
          ]);
        return map;
      };
      const issualRows = await rows('issuals');
      const earnRows = await rows('earns');
      const issuals = byRequest(issualRows);
      const earns = byRequest(earnRows);
      const issualCustomers = customersByRequest(issualRows);
      const earnCustomers = customersByRequest(earnRows);
      const allIssuals = new Set([...issuals.values()].flatMap((s) => [...s]));
      const allEarns = new Set([...earns.values()].flatMap((s) => [...s]));
      for (const s of sent) {
        const wroteIssuals = [...(issuals.get(s.requestId) ?? [])].sort();
        const wroteEarns = [...(earns.get(s.requestId) ?? [])].sort();
        if (!ok(s)) {
          // Cut off between sending COMMIT and hearing back, the server cannot know whether the
          // request was written, and says so (the client's Idempotency-Key would tell). Such a request
          // may have written its records; one at most per request and customer, as checked below.
          if (outcomeUnknown(s)) {
            // What it wrote is bounded by what it asked: its own promotion, only customers it named,
            // each at most once among its issuals and once among its earns.
            const named = [...new Set(s.customers.map(String))].sort();
            for (const [what, list] of [
              ['issuals', issualCustomers.get(s.requestId) ?? []],
              ['earns', earnCustomers.get(s.requestId) ?? []],
            ] as const) {
              const customers = list.map((r) => r.customer);
              expect(new Set(customers).size, `${what} of ${s.requestId}: a customer twice`).toBe(
                customers.length,
              );
              expect(
                customers.filter((c) => !named.includes(c)),
                `${what} of ${s.requestId}: customers it did not name`,
              ).toStrictEqual([]);
              expect(
                list.filter((r) => r.promotion !== String(s.promotion)),
                `${what} of ${s.requestId}: another promotion`,
              ).toStrictEqual([]);
            }
            continue;
          }
          expect({ request: s.requestId, issuals: wroteIssuals, earns: wroteEarns }).toStrictEqual({
            request: s.requestId,
            issuals: [],
            earns: [],
          });
          continue;
        }
        const results = (s.answer?.body.response ?? []).filter((item: any) => item.result);
        const earned = results.map((item: any) => item.result.earnedId).filter(Boolean);
        const named = new Set(results.map((item: any) => item.result.issualId).filter(Boolean));
        const newIssuals = results
          .filter((item: any) => item.warnings.length === 0 && s.action === 'ENROL')
          .map((item: any) => item.result.issualId);
        expect(wroteEarns).toStrictEqual([...earned].sort());
        for (const id of wroteIssuals) expect(named.has(id), `issual ${id} of ${s.requestId}`).toBe(true);
        for (const id of newIssuals) expect(wroteIssuals).toContain(id);
        for (const id of named) expect(allIssuals.has(id as string), `issual ${id}`).toBe(true);
        for (const id of earned) expect(allEarns.has(id), `earn ${id}`).toBe(true);
      }
      const doubled = await db.query(
        'select customer_id from issuals where revoked_at is null group by org_id, promotion_id, customer_id having count(*) > 1',
      );
      expect(doubled.rows).toStrictEqual([]);
      // Nor an earn written twice: one request earns at most once per customer and promotion.
      const doubledEarns = await db.query(
        'select request_id, customer_id from earns group by org_id, request_id, promotion_id, customer_id having count(*) > 1',
      );
      expect(doubledEarns.rows).toStrictEqual([]);
    } finally {
      await db.end();
    }
    expect(readiness).toHaveLength(2);
    const failures = server
      .output()
      .split('\n')
      .filter((line) => line.includes('"statusCode":500') || line.includes('"level":60'));
    expect(failures).toStrictEqual([]);
  });
});
