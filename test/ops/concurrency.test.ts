import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Answer,
  call,
  type PrivateBuild,
  privateBuild,
  type ServerProcess,
  startServerProcess,
  tillHeader,
} from '../helpers/server-process.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

/**
 * Exactly-once under real concurrency: two `loyalty serve` processes on one PostgreSQL database,
 * hit at the same moment with the same requests for the same customers. PostgreSQL only, and never
 * skipped: an unreachable PostgreSQL fails this file.
 */

const ADMIN_TOKEN = 'concurrency-admin-token-0123456789abcdef';
const CUSTOMERS = 100;
const REQUESTS = 40; // in flight at once, half to each process
const MAX_EARNS = 3;
const DIRECT_MAX_EARNS = 2;

describe('two server processes on one PostgreSQL database', { timeout: 180_000 }, () => {
  let store: TestStore;
  let build: PrivateBuild | undefined;
  const servers: ServerProcess[] = [];
  let orgId: number;
  let programId: number;
  let tillAuth: string;
  let customerIds: number[];

  async function admin(urlPath: string, body: unknown): Promise<any> {
    const res = await call(`${servers[0]?.url}${urlPath}`, 'POST', body, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    if (res.status !== 201) throw new Error(`POST ${urlPath} answered ${res.status}: ${res.text}`);
    return res.body;
  }

  async function promotion(body: Record<string, unknown>): Promise<number> {
    return (
      await admin(`/admin/v1/orgs/${orgId}/promotions`, { programId, name: `P ${Math.random()}`, ...body })
    ).id;
  }

  /** `count` requests fired at once, alternating between the two processes. */
  function fire(
    count: number,
    request: (i: number) => { path: string; body: unknown; headers?: Record<string, string> },
  ): Promise<Answer[]> {
    return Promise.all(
      Array.from({ length: count }, (_, i) => {
        const { path: p, body, headers } = request(i);
        const server = servers[i % 2] as ServerProcess;
        return call(`${server.url}${p}`, 'POST', body, { authorization: tillAuth, ...headers });
      }),
    );
  }

  const bulkBody = (action: string, promotionId: number, ids = customerIds) => ({
    type: 'CUSTOMER',
    bulkAction: action,
    promotionDetails: { programId, promotionId },
    identifierName: 'id',
    customers: ids.map((id) => ({ identifierValue: String(id), source: 'INSTORE' })),
  });

  async function issualsOf(promotionId: number) {
    return store.store.db
      .selectFrom('issuals')
      .select(['id', 'customer_id', 'revoked_at'])
      .where('org_id', '=', orgId)
      .where('promotion_id', '=', promotionId)
      .execute();
  }

  async function earnsOf(promotionId: number) {
    return store.store.db
      .selectFrom('earns')
      .select(['id', 'customer_id', 'issual_id', 'revoked_at'])
      .where('org_id', '=', orgId)
      .where('promotion_id', '=', promotionId)
      .execute();
  }

  /** The store's invariants for a promotion, and that every id answered to a client exists. */
  async function checkStore(promotionId: number, answers: Answer[], maxEarns: number | null) {
    const issuals = await issualsOf(promotionId);
    const earns = await earnsOf(promotionId);
    const activeIssuals = new Map<number, number[]>();
    for (const i of issuals) {
      if (i.revoked_at !== null) continue;
      activeIssuals.set(i.customer_id, [...(activeIssuals.get(i.customer_id) ?? []), Number(i.id)]);
    }
    for (const [customer, ids] of activeIssuals) {
      expect({ customer, activeIssuals: ids.length }).toStrictEqual({ customer, activeIssuals: 1 });
    }
    const earnsPer = new Map<number, number>();
    for (const e of earns) {
      if (e.revoked_at === null) earnsPer.set(e.customer_id, (earnsPer.get(e.customer_id) ?? 0) + 1);
    }
    if (maxEarns !== null) {
      for (const [customer, n] of earnsPer) {
        expect({ customer, ok: n <= maxEarns }).toStrictEqual({ customer, ok: true });
      }
    }
    const issualById = new Map(issuals.map((i) => [String(i.id), i]));
    const earnById = new Map(earns.map((e) => [String(e.id), e]));
    const answeredEarns = new Set<string>();
    for (const answer of answers) {
      for (const item of answer.body.response) {
        const r = item.result;
        if (!r) continue;
        if (r.issualId !== undefined) {
          expect(issualById.get(r.issualId)?.customer_id, `issual ${r.issualId}`).toBe(r.entityId);
        }
        if (r.earnedId !== undefined) {
          const earn = earnById.get(r.earnedId);
          expect(earn?.customer_id, `earn ${r.earnedId}`).toBe(r.entityId);
          expect(String(earn?.issual_id)).toBe(r.issualId);
          // An earn is reported to one client only: no two answers claim the same new earn.
          expect(answeredEarns.has(r.earnedId), `earn ${r.earnedId} answered twice`).toBe(false);
          answeredEarns.add(r.earnedId);
        }
      }
    }
    return { issuals, earns, activeIssuals, earnsPer, answeredEarns };
  }

  beforeAll(async () => {
    store = await openTestStore('postgres');
    if (store.config.kind !== 'postgres') throw new Error('expected a PostgreSQL store');
    build = await privateBuild('lp-concurrency-');
    const env = { DATABASE_URL: store.config.connectionString, LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN };
    // One after the other, so that the second finds the schema the first checked.
    servers.push(await startServerProcess(build.cli, env));
    servers.push(await startServerProcess(build.cli, env));

    const org = await admin('/admin/v1/orgs', { name: 'Concurrency' });
    orgId = org.id;
    programId = (await admin(`/admin/v1/orgs/${orgId}/programs`, { name: 'Main' })).id;
    const made = await admin(`/admin/v1/orgs/${orgId}/customers`, {
      customers: Array.from({ length: CUSTOMERS }, (_, i) => ({
        mobile: `55${String(i).padStart(8, '0')}`,
        sources: ['INSTORE'],
        programIds: [programId],
      })),
    });
    customerIds = made.customers.map((c: any) => c.id);
    const username = `conc-till-${process.pid}`;
    const password = 'conc-till-password';
    await admin(`/admin/v1/orgs/${orgId}/tills`, { username, password, customerAccess: 'WRITE' });
    tillAuth = tillHeader(username, password);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await store?.dispose();
    build?.remove();
  }, 60_000);

  it('both processes serve the same database', async () => {
    for (const server of servers) {
      const res = await call(`${server.url}/health`, 'GET', undefined, {});
      expect(res.status).toBe(200);
    }
    expect(servers[0]?.url).not.toBe(servers[1]?.url);
  });

  it('the same ENROL, then the same EARN, at both at once: one issual per customer, never over the earn limit', async () => {
    const promo = await promotion({ type: 'ENROL_AND_ISSUE', maxEarnsPerCustomer: MAX_EARNS });

    const enrols = await fire(REQUESTS, () => ({
      path: '/v2/promotion/bulk/enrolAndEarn',
      body: bulkBody('ENROL', promo),
    }));
    for (const a of enrols) {
      expect(a.status, a.text.slice(0, 300)).toBe(200);
      expect(a.body.totalCount).toBe(CUSTOMERS);
      expect(a.body.failureCount).toBe(0);
    }
    const afterEnrol = await checkStore(promo, enrols, MAX_EARNS);
    expect(afterEnrol.issuals).toHaveLength(CUSTOMERS);
    expect(afterEnrol.activeIssuals.size).toBe(CUSTOMERS);
    // With one issual per customer, every answer names that one.
    for (const a of enrols) {
      a.body.response.forEach((item: any, i: number) => {
        const customer = customerIds[i] as number;
        expect(item.result.entityId).toBe(customer);
        expect(item.result.issualId).toBe(String(afterEnrol.activeIssuals.get(customer)?.[0]));
      });
    }
    // Exactly one answer created each issual; every other answer warned that it existed.
    const warned = enrols.flatMap((a) => a.body.response.filter((item: any) => item.warnings.length > 0));
    expect(warned).toHaveLength(CUSTOMERS * (REQUESTS - 1));

    const earns = await fire(REQUESTS, () => ({
      path: '/v2/promotion/bulk/enrolAndEarn',
      body: bulkBody('EARN', promo),
    }));
    for (const a of earns) {
      expect(a.status, a.text.slice(0, 300)).toBe(200);
      expect(a.body.failureCount).toBe(0);
    }
    const afterEarn = await checkStore(promo, earns, MAX_EARNS);
    expect(afterEarn.issuals).toHaveLength(CUSTOMERS);
    expect(afterEarn.earns).toHaveLength(CUSTOMERS * MAX_EARNS);
    for (const id of customerIds) expect(afterEarn.earnsPer.get(id)).toBe(MAX_EARNS);
    expect(afterEarn.answeredEarns.size).toBe(CUSTOMERS * MAX_EARNS);
  });

  it('the same DIRECT EARN at both at once: one implicit issual per customer, never over the earn limit', async () => {
    const promo = await promotion({ type: 'DIRECT', maxEarnsPerCustomer: DIRECT_MAX_EARNS });
    const answers = await fire(REQUESTS, () => ({
      path: '/v2/promotion/bulk/directEarn',
      body: bulkBody('EARN', promo),
    }));
    for (const a of answers) {
      expect(a.status, a.text.slice(0, 300)).toBe(200);
      expect(a.body.failureCount).toBe(0);
    }
    const after = await checkStore(promo, answers, DIRECT_MAX_EARNS);
    expect(after.issuals).toHaveLength(CUSTOMERS);
    expect(after.earns).toHaveLength(CUSTOMERS * DIRECT_MAX_EARNS);
    for (const id of customerIds) expect(after.earnsPer.get(id)).toBe(DIRECT_MAX_EARNS);
    // Every answer names the customer's one issual, or (its page's answer at the limit) no ids and
    // warning 8890.
    for (const a of answers) {
      a.body.response.forEach((item: any, i: number) => {
        if (item.result.issualId === undefined) {
          expect(item.warnings.map((w: any) => w.code)).toStrictEqual([8890]);
          expect(item.result).not.toHaveProperty('earnedId');
        } else {
          expect(item.result.issualId).toBe(String(after.activeIssuals.get(customerIds[i] as number)?.[0]));
        }
      });
    }
  });

  it('the same DIRECT EARN through single issue calls at both at once stays within the limit', async () => {
    const promo = await promotion({ type: 'DIRECT', maxEarnsPerCustomer: 1 });
    const customer = customerIds[0] as number;
    const answers = await fire(REQUESTS, () => ({
      path: `/v2/promotion/issue?identifierName=id&identifierValue=${customer}&source=INSTORE`,
      body: { programId, promotionId: promo },
    }));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const effects = answers.flatMap((a) => a.body.sideEffects);
    expect(effects).toHaveLength(1);
    const earns = await earnsOf(promo);
    // The issue pages' side effects carry numeric ids.
    expect(earns.map((e) => Number(e.id))).toStrictEqual([effects[0].earnedId]);
    expect((await issualsOf(promo)).map((i) => Number(i.id))).toStrictEqual([effects[0].issualId]);
  });

  it('ENROL and EARN mixed at both at once keep the invariants', async () => {
    const promo = await promotion({ type: 'ENROL_AND_ISSUE', maxEarnsPerCustomer: MAX_EARNS });
    const answers = await fire(REQUESTS, (i) => ({
      path: '/v2/promotion/bulk/enrolAndEarn',
      body: bulkBody(i % 4 < 2 ? 'ENROL' : 'EARN', promo),
    }));
    for (const a of answers) {
      expect([200, 201], a.text.slice(0, 300)).toContain(a.status);
      for (const item of a.body.response) {
        // The only failure an EARN may meet here is "not enrolled yet".
        for (const e of item.errors) expect(e.code).toBe(8896);
      }
    }
    const after = await checkStore(promo, answers, MAX_EARNS);
    expect(after.activeIssuals.size).toBe(CUSTOMERS);
    expect(after.issuals).toHaveLength(CUSTOMERS);
  });

  it('the same REVOKE_EARN, then the same REVOKE_ENROL, at both at once: each record is revoked once', async () => {
    const promo = await promotion({ type: 'ENROL_AND_ISSUE', maxEarnsPerCustomer: null });
    const setup = async (action: string) => {
      const [res] = await fire(1, () => ({
        path: '/v2/promotion/bulk/enrolAndEarn',
        body: bulkBody(action, promo),
      }));
      expect(res?.status, res?.text.slice(0, 300)).toBe(200);
    };
    await setup('ENROL');
    await setup('EARN');
    await setup('EARN');

    const earnRevokes = await fire(REQUESTS, () => ({
      path: '/v2/promotion/bulk/revokeEnrolAndEarn',
      body: bulkBody('REVOKE_EARN', promo),
    }));
    // The revoke pages: a customer with nothing left to revoke is 2305 (HTTP 201), where ours
    // answered an empty list; revoked ids are integers.
    const revokedEarnIds: number[] = [];
    for (const a of earnRevokes) {
      expect([200, 201], a.text.slice(0, 300)).toContain(a.status);
      for (const item of a.body.response) {
        if (item.result) revokedEarnIds.push(...item.result.revokedEarnIds);
        else expect(item.errors.map((e: any) => e.code)).toStrictEqual([2305]);
      }
    }
    const earns = await earnsOf(promo);
    expect(earns).toHaveLength(2 * CUSTOMERS);
    expect(earns.every((e) => e.revoked_at !== null)).toBe(true);
    // Each earn is answered as revoked exactly once.
    const byNumber = (x: number, y: number) => x - y;
    expect(revokedEarnIds.sort(byNumber)).toStrictEqual(earns.map((e) => Number(e.id)).sort(byNumber));

    const enrolRevokes = await fire(REQUESTS, () => ({
      path: '/v2/promotion/bulk/revokeEnrolAndEarn',
      body: bulkBody('REVOKE_ENROL', promo),
    }));
    const revokedIssualIds: number[] = [];
    for (const a of enrolRevokes) {
      expect([200, 201], a.text.slice(0, 300)).toContain(a.status);
      for (const item of a.body.response) {
        if (item.result) {
          revokedIssualIds.push(item.result.revokedIssualId);
          expect(item.result).not.toHaveProperty('revokedEarnIds');
        } else {
          expect(item.errors.map((e: any) => e.code)).toStrictEqual([2305]);
        }
      }
    }
    const issuals = await issualsOf(promo);
    expect(issuals).toHaveLength(CUSTOMERS);
    expect(issuals.every((i) => i.revoked_at !== null)).toBe(true);
    expect(revokedIssualIds.sort(byNumber)).toStrictEqual(issuals.map((i) => Number(i.id)).sort(byNumber));
  });

  it('one Idempotency-Key sent to both processes at once runs once, and every caller gets that answer', async () => {
    const promo = await promotion({ type: 'DIRECT', maxEarnsPerCustomer: null });
    const key = `conc-key-${process.pid}-${Date.now()}`;
    const answers = await fire(REQUESTS, () => ({
      path: '/v2/promotion/bulk/directEarn',
      body: bulkBody('EARN', promo),
      headers: { 'idempotency-key': key },
    }));
    for (const a of answers) {
      expect(a.status, a.text.slice(0, 300)).toBe(200);
      expect(a.text).toBe(answers[0]?.text);
    }
    const after = await checkStore(promo, answers.slice(0, 1), null);
    expect(after.earns).toHaveLength(CUSTOMERS);
    expect(after.issuals).toHaveLength(CUSTOMERS);
  });

  it('the processes are still healthy and logged no failure', async () => {
    for (const server of servers) {
      expect(server.child.exitCode).toBeNull();
      expect((await call(`${server.url}/health`, 'GET', undefined, {})).status).toBe(200);
      const failures = server
        .output()
        .split('\n')
        .filter((line) => line.includes('"level":50') || line.includes('"level":60'));
      expect(failures).toStrictEqual([]);
    }
  });
});
