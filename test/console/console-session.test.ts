import { expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { describeEachStore } from '../helpers/each-store.js';
import { seedStandardOrg } from '../helpers/fixtures.js';
import type { TestApp } from '../helpers/test-app.js';

const PASSWORD = 'correct horse battery';

interface Signed {
  cookie: string;
  csrf: string;
}

async function addUser(t: TestApp, username: string, role: string, orgIds?: number[]) {
  const res = await t.admin('POST', '/admin/v1/users', {
    username,
    password: PASSWORD,
    role,
    ...(orgIds ? { orgIds } : {}),
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function signIn(t: TestApp, username: string, password = PASSWORD): Promise<Signed> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/console/api/session',
    payload: { username, password },
  });
  expect(res.statusCode).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  return { cookie: setCookie.split(';')[0] as string, csrf: res.json().csrfToken };
}

function call(
  t: TestApp,
  s: Signed,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  csrf = true,
) {
  return t.app.inject({
    method,
    url,
    headers: { cookie: s.cookie, ...(csrf ? { 'x-csrf-token': s.csrf } : {}) },
    ...(body === undefined ? {} : { payload: body as object }),
  });
}

const clock = fixedClock('2026-11-30T02:00:00Z');

describeEachStore(
  'console users and sessions',
  { clock, config: { consoleIdleMinutes: 30, consoleSessionHours: 12 } },
  (t, kind) => {
    it('creates, lists, disables users and never answers a password', async () => {
      const made = await addUser(t, `list-${kind}`, 'viewer', [1]);
      expect(made).toMatchObject({ username: `list-${kind}`, role: 'viewer', orgIds: [1], disabled: false });
      const again = await t.admin('POST', '/admin/v1/users', {
        username: `list-${kind}`,
        password: PASSWORD,
        role: 'viewer',
      });
      expect(again.status).toBe(409);
      const short = await t.admin('POST', '/admin/v1/users', {
        username: 'x',
        password: 'short',
        role: 'viewer',
      });
      expect(short.status).toBe(400);
      const list = await t.admin('GET', '/admin/v1/users');
      expect(list.body.users.map((u: any) => u.username)).toContain(`list-${kind}`);
      expect(JSON.stringify(list.body)).not.toContain(PASSWORD);
      expect(JSON.stringify(list.body)).not.toContain('scrypt');
    });

    it('signs in with the right password only, and a till never opens a session', async () => {
      const org = await seedStandardOrg(t, 1);
      await addUser(t, `sign-${kind}`, 'viewer');
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/console/api/session',
        payload: { username: `sign-${kind}`, password: 'wrong password!' },
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers['set-cookie']).toBeUndefined();
      const till = await t.app.inject({
        method: 'POST',
        url: '/console/api/session',
        payload: { username: `till-w-${org.orgId}`, password: 'x' },
      });
      expect(till.statusCode).toBe(401);
      const s = await signIn(t, `sign-${kind}`);
      const me = await call(t, s, 'GET', '/console/api/session');
      expect(me.json()).toMatchObject({ username: `sign-${kind}`, role: 'viewer', orgIds: null });
      // A session never authorises the /v2 API.
      const v2 = await t.app.inject({
        method: 'GET',
        url: '/v2/customers/lookup/promotionData?mobile=1',
        headers: { cookie: s.cookie },
      });
      expect(v2.statusCode).toBe(401);
    });

    it('limits failed sign-ins with 429', async () => {
      await addUser(t, `throttle-${kind}`, 'viewer');
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/console/api/session',
          payload: { username: `throttle-${kind}`, password: `wrong password ${i}` },
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const right = await t.app.inject({
        method: 'POST',
        url: '/console/api/session',
        payload: { username: `throttle-${kind}`, password: PASSWORD },
      });
      expect(right.statusCode).toBe(429);
    });

    it('enforces roles, CSRF and org scope on the management API, and audits under the user', async () => {
      const org = await seedStandardOrg(t, 1);
      const other = await seedStandardOrg(t, 1);
      await addUser(t, `viewer-${kind}`, 'viewer');
      await addUser(t, `operator-${kind}`, 'operator', [org.orgId]);
      const viewer = await signIn(t, `viewer-${kind}`);
      const operator = await signIn(t, `operator-${kind}`);
      const promo = `/admin/v1/orgs/${org.orgId}/promotions/${org.promotions.direct}`;

      expect((await call(t, viewer, 'GET', promo)).statusCode).toBe(200);
      const refused = await call(t, viewer, 'PATCH', promo, { name: 'Renamed' });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe('forbidden');

      const noToken = await call(t, operator, 'PATCH', promo, { name: 'Renamed' }, false);
      expect(noToken.statusCode).toBe(403);
      expect(noToken.json().error.field).toBe('x-csrf-token');
      const changed = await call(t, operator, 'PATCH', promo, { name: 'Renamed' });
      expect(changed.statusCode).toBe(200);
      expect(changed.json().name).toBe('Renamed');

      // An operator may not manage credentials, nor act outside its orgs, nor manage users.
      const till = await call(t, operator, 'POST', `/admin/v1/orgs/${org.orgId}/tills`, {
        username: `t-${kind}`,
        password: 'p',
        customerAccess: 'READ',
      });
      expect(till.statusCode).toBe(403);
      expect(
        (
          await call(
            t,
            operator,
            'GET',
            `/admin/v1/orgs/${other.orgId}/promotions/${other.promotions.direct}`,
          )
        ).statusCode,
      ).toBe(403);
      expect((await call(t, operator, 'GET', '/admin/v1/users')).statusCode).toBe(403);
      expect((await call(t, operator, 'GET', '/admin/v1/audit')).statusCode).toBe(403);

      const log = await t.admin('GET', `/admin/v1/audit?orgId=${org.orgId}`);
      const last = log.body.entries.at(-1);
      expect(last).toMatchObject({
        who: `user:operator-${kind}`,
        action: 'PATCH /admin/v1/orgs/:orgId/promotions/:promotionId',
      });
    });

    it('ends a session when idle, at its absolute limit, on sign-out, and when its user is disabled', async () => {
      await addUser(t, `expiry-${kind}`, 'viewer');
      const idle = await signIn(t, `expiry-${kind}`);
      clock.set(clock.now() + 31 * 60_000);
      expect((await call(t, idle, 'GET', '/console/api/session')).statusCode).toBe(401);

      const busy = await signIn(t, `expiry-${kind}`);
      const started = clock.now();
      while (clock.now() + 29 * 60_000 < started + 12 * 3_600_000) {
        clock.set(clock.now() + 29 * 60_000);
        expect((await call(t, busy, 'GET', '/console/api/session')).statusCode).toBe(200);
      }
      clock.set(started + 12 * 3_600_000);
      expect((await call(t, busy, 'GET', '/console/api/session')).statusCode).toBe(401);

      const out = await signIn(t, `expiry-${kind}`);
      const bye = await call(t, out, 'DELETE', '/console/api/session');
      expect(bye.statusCode).toBe(204);
      expect((await call(t, out, 'GET', '/console/api/session')).statusCode).toBe(401);

      const disabled = await signIn(t, `expiry-${kind}`);
      expect((await t.admin('PATCH', `/admin/v1/users/expiry-${kind}`, { disabled: true })).status).toBe(200);
      expect((await call(t, disabled, 'GET', '/console/api/session')).statusCode).toBe(401);
      const reset = await t.admin('POST', `/admin/v1/users/expiry-${kind}/password`, {
        password: 'another long password',
      });
      expect(reset.status).toBe(200);
    });
  },
);

describeEachStore(
  'console sessions on the events, webhooks, jobs and rewards routes',
  { config: { events: { ...DEFAULT_EVENTS_CONFIG, deliver: false } } },
  (t, kind) => {
    it('lets each role do what it may there, refuses the rest and changes without CSRF, and audits under the user', async () => {
      const org = await seedStandardOrg(t, 2);
      const other = await seedStandardOrg(t, 1);
      await addUser(t, `ops-${kind}`, 'operator', [org.orgId]);
      await addUser(t, `look-${kind}`, 'viewer');
      await addUser(t, `boss-${kind}`, 'admin');
      const ops = await signIn(t, `ops-${kind}`);
      const look = await signIn(t, `look-${kind}`);
      const boss = await signIn(t, `boss-${kind}`);
      const base = `/admin/v1/orgs/${org.orgId}`;
      const customer = org.customers[0]?.id as number;
      const reward = { action: 'ENROL', programId: org.programId, promotionId: org.promotions.enrolAndIssue };
      const job = `${base}/jobs?action=ENROL&programId=${org.programId}&promotionId=${org.promotions.enrolAndIssue}&identifierName=id`;
      const csv = (s: Signed, url: string, csrf = true) =>
        t.app.inject({
          method: 'POST',
          url,
          headers: {
            cookie: s.cookie,
            'content-type': 'text/csv',
            ...(csrf ? { 'x-csrf-token': s.csrf } : {}),
          },
          payload: `identifierValue,source\n${customer},INSTORE\n`,
        });

      // Reads: every role, within its orgs.
      for (const s of [ops, look, boss]) {
        expect((await call(t, s, 'GET', `${base}/events?limit=1`)).statusCode).toBe(200);
        expect((await call(t, s, 'GET', `${base}/webhooks`)).statusCode).toBe(200);
        expect((await call(t, s, 'GET', `${base}/jobs`)).statusCode).toBe(200);
      }
      expect((await call(t, ops, 'GET', `/admin/v1/orgs/${other.orgId}/jobs`)).statusCode).toBe(403);

      // The operator runs jobs and changes rewards, in its org only, and never without the CSRF token.
      expect((await csv(ops, job, false)).statusCode).toBe(403);
      expect((await csv(look, job)).statusCode).toBe(403);
      const submitted = await csv(ops, job);
      expect(submitted.statusCode).toBe(202);
      expect((await call(t, look, 'POST', `${base}/customers/${customer}/rewards`, reward)).statusCode).toBe(
        403,
      );
      expect(
        (await call(t, ops, 'POST', `${base}/customers/${customer}/rewards`, reward, false)).statusCode,
      ).toBe(403);
      const enrolled = await call(t, ops, 'POST', `${base}/customers/${customer}/rewards`, reward);
      expect(enrolled.statusCode).toBe(200);
      const otherUrl = `/admin/v1/orgs/${other.orgId}/customers/${other.customers[0]?.id}/rewards`;
      expect((await call(t, ops, 'POST', otherUrl, reward)).statusCode).toBe(403);

      // Webhooks are an admin's.
      const hook = { url: 'https://93.184.216.34/hook' };
      expect((await call(t, ops, 'POST', `${base}/webhooks`, hook)).statusCode).toBe(403);
      expect((await call(t, boss, 'POST', `${base}/webhooks`, hook, false)).statusCode).toBe(403);
      const made = await call(t, boss, 'POST', `${base}/webhooks`, hook);
      expect(made.statusCode).toBe(201);
      expect(
        (await call(t, boss, 'POST', `${base}/webhooks/${made.json().id}/rotate-secret`)).statusCode,
      ).toBe(200);

      const audit = await t.admin('GET', `/admin/v1/audit?orgId=${org.orgId}&limit=1000`);
      const who = (action: string) =>
        audit.body.entries.filter((e: any) => e.action === action).map((e: any) => e.who);
      expect(who('POST /admin/v1/orgs/:orgId/jobs')).toEqual([`user:ops-${kind}`]);
      expect(who('POST /admin/v1/orgs/:orgId/customers/:customerId/rewards')).toEqual([`user:ops-${kind}`]);
      expect(who('POST /admin/v1/orgs/:orgId/webhooks')).toEqual([`user:boss-${kind}`]);
      expect(who('POST /admin/v1/orgs/:orgId/webhooks/:webhookId/rotate-secret')).toEqual([
        `user:boss-${kind}`,
      ]);
      // The job and the reward both asked to enrol the customer: the second found it enrolled.
      const detail = await t.admin('GET', `${base}/customers/${customer}`);
      expect(detail.body.promotions[0].issuals).toHaveLength(1);
    });
  },
);
