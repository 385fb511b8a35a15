import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { call, startAppOverStore } from '../helpers/auth-apps.js';
import {
  AUTH_FAILED,
  basic,
  capToken,
  type Endpoint,
  endpoints,
  expectStatus,
  lookupUrl,
  newClient,
  newTill,
  send,
  tokenFor,
  unique,
} from '../helpers/auth-cases.js';
import { freePort } from '../helpers/cli.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/test-app.js';

describeEachStore('authentication and access', (t, kind) => {
  let a: StandardOrg;

  beforeAll(async () => {
    a = await seedStandardOrg(t);
  });

  describe('rate limit', () => {
    it('is off by default', async () => {
      const till = await newTill(t, a.orgId, 'READ');
      const url = lookupUrl('id', a.customers[0]?.id as number);
      for (let i = 0; i < 8; i++) {
        expect((await call(t.app, { url, headers: basic(till.auth) })).status).toBe(200);
      }
    });

    it("answers 429 with Retry-After past a till's own limit, and lets it through in the next minute", async () => {
      const clock = fixedClock('2031-03-01T10:00:00Z');
      const rt = await startTestApp(kind, { clock });
      try {
        const org = await seedStandardOrg(rt, 2);
        const till = await newTill(rt, org.orgId, 'WRITE');
        const other = await newTill(rt, org.orgId, 'WRITE');
        const patched = await rt.admin('PATCH', `/admin/v1/orgs/${org.orgId}/tills/${till.username}`, {
          rateLimitPerMinute: 2,
        });
        expect(patched.status, JSON.stringify(patched.body)).toBe(200);
        expect(patched.body.rateLimitPerMinute).toBe(2);

        const enrol = endpoints(org)[0] as Endpoint;
        const url = lookupUrl('id', org.customers[0]?.id as number);
        expect((await send(rt, enrol, basic(till.auth))).status).toBe(200);
        clock.set('2031-03-01T10:00:30Z');
        expect((await call(rt.app, { url, headers: basic(till.auth) })).status).toBe(200);

        const third = await send(rt, enrol, basic(till.auth));
        expect(third.status).toBe(429);
        expect(third.body).toStrictEqual({
          response: [{ errors: [{ status: false, code: 429, message: expect.any(String) }], warnings: [] }],
          totalCount: 1,
          failureCount: 1,
        });
        const retryAfter = String(third.headers['retry-after']);
        expect(retryAfter).toMatch(/^\d+$/);
        expect(Number(retryAfter)).toBe(30);

        // The rate is checked before the content type.
        const plain = await call(rt.app, {
          url: BULK_URL,
          headers: { authorization: till.auth, 'content-type': 'text/plain' },
          body: 'hello',
        });
        expect(plain.status).toBe(429);

        const lookup = await call(rt.app, { url, headers: basic(till.auth) });
        expect(lookup.status).toBe(429);
        expect(String(lookup.headers['retry-after'])).toMatch(/^\d+$/);
        expect(lookup.body.errors[0].code).toBe(429);

        // Another credential is counted on its own.
        expect((await call(rt.app, { url, headers: basic(other.auth) })).status).toBe(200);

        clock.set('2031-03-01T10:01:00Z');
        expect((await call(rt.app, { url, headers: basic(till.auth) })).status).toBe(200);
        expect((await send(rt, enrol, basic(till.auth))).status).toBe(200);
        expect((await call(rt.app, { url, headers: basic(till.auth) })).status).toBe(429);
      } finally {
        await rt.close();
      }
    });

    it('applies LOYALTY_RATE_LIMIT_PER_MINUTE to credentials without a limit of their own', async () => {
      const clock = fixedClock('2031-03-01T10:00:00Z');
      const rt = await startTestApp(kind, { clock, config: { rateLimitPerMinute: 1 } });
      try {
        const org = await seedStandardOrg(rt, 2);
        const url = lookupUrl('id', org.customers[0]?.id as number);
        const till = await newTill(rt, org.orgId, 'WRITE');
        expect((await call(rt.app, { url, headers: basic(till.auth) })).status).toBe(200);
        const second = await send(rt, endpoints(org)[0] as Endpoint, basic(till.auth));
        expect(second.status).toBe(429);
        expect(second.body.response[0].errors[0].code).toBe(429);
        expect(String(second.headers['retry-after'])).toMatch(/^\d+$/);

        const token = await tokenFor(rt, await newClient(rt, org.orgId, 'WRITE'));
        expect((await call(rt.app, { url, headers: capToken(token) })).status).toBe(200);
        expect((await call(rt.app, { url, headers: capToken(token) })).status).toBe(429);

        // A credential's own limit wins over the server's.
        const generous = await newTill(rt, org.orgId, 'WRITE');
        const patched = await rt.admin('PATCH', `/admin/v1/orgs/${org.orgId}/tills/${generous.username}`, {
          rateLimitPerMinute: 3,
        });
        expect(patched.status).toBe(200);
        for (let i = 0; i < 3; i++) {
          expect((await call(rt.app, { url, headers: basic(generous.auth) })).status).toBe(200);
        }
        expect((await call(rt.app, { url, headers: basic(generous.auth) })).status).toBe(429);

        clock.set('2031-03-01T10:01:00Z');
        expect((await call(rt.app, { url, headers: basic(till.auth) })).status).toBe(200);
        expect((await call(rt.app, { url, headers: capToken(token) })).status).toBe(200);
      } finally {
        await rt.close();
      }
    });
  });

  describe('counted in Redis (REDIS_URL)', () => {
    // Redis is one of the machine's services, as PostgreSQL is: not reaching it fails, never skips.
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

    it('three applications on one store let a limit of 5 a minute through once, with the RateLimit fields', async () => {
      const clock = fixedClock('2031-03-02T10:00:15Z');
      const config = { redisUrl };
      const first = await startTestApp(kind, { clock, config });
      const apps = [first];
      try {
        for (let i = 0; i < 2; i++)
          apps.push(await startAppOverStore(first.testStore, kind, { clock, config }));
        const org = await seedStandardOrg(first, 1);
        const url = lookupUrl('id', org.customers[0]?.id as number);
        const till = await newTill(first, org.orgId, 'WRITE');
        const base = `/admin/v1/orgs/${org.orgId}/tills/${till.username}`;
        expect((await first.admin('PATCH', base, { rateLimitPerMinute: 5 })).status).toBe(200);

        const answers = [];
        for (let i = 0; i < 15; i++) {
          answers.push(await call((apps[i % 3] as TestApp).app, { url, headers: basic(till.auth) }));
        }
        expect(answers.map((a) => a.status)).toStrictEqual([...Array(5).fill(200), ...Array(10).fill(429)]);
        for (const [i, a] of answers.entries()) {
          expect(a.headers['ratelimit-policy']).toBe('"credential";q=5;w=60');
          expect(a.headers.ratelimit).toBe(`"credential";r=${Math.max(0, 4 - i)};t=45`);
          expect(a.headers['retry-after']).toBe(a.status === 429 ? '45' : undefined);
        }
        // The next minute is a new window for all three.
        clock.set('2031-03-02T10:01:00Z');
        for (const rt of apps)
          expect((await call(rt.app, { url, headers: basic(till.auth) })).status).toBe(200);
      } finally {
        for (const rt of apps.reverse()) await rt.close();
      }
    });

    it('counts in each process while Redis does not answer, rather than refusing requests', async () => {
      const clock = fixedClock('2031-03-02T11:00:00Z');
      const rt = await startTestApp(kind, {
        clock,
        config: { redisUrl: `redis://127.0.0.1:${await freePort()}` },
      });
      try {
        const org = await seedStandardOrg(rt, 1);
        const url = lookupUrl('id', org.customers[0]?.id as number);
        const till = await newTill(rt, org.orgId, 'WRITE');
        const base = `/admin/v1/orgs/${org.orgId}/tills/${till.username}`;
        expect((await rt.admin('PATCH', base, { rateLimitPerMinute: 2 })).status).toBe(200);
        const statuses = [];
        for (let i = 0; i < 3; i++)
          statuses.push((await call(rt.app, { url, headers: basic(till.auth) })).status);
        expect(statuses).toStrictEqual([200, 200, 429]);
      } finally {
        await rt.close();
      }
    });
  });

  describe('another process on the same database', () => {
    it('stops accepting a disabled or rotated credential once its cache lifetime has passed', async () => {
      const clock = fixedClock('2031-05-01T12:00:00Z');
      const first = await startTestApp(kind, { clock, config: { credentialCacheMs: 30_000 } });
      const second = await startAppOverStore(first.testStore, kind, {
        clock,
        config: { credentialCacheMs: 30_000 },
      });
      try {
        const org = await seedStandardOrg(first, 1);
        const url = lookupUrl('id', org.customers[0]?.id as number);
        const disabled = await newTill(first, org.orgId, 'WRITE');
        const rotated = await newTill(first, org.orgId, 'WRITE');
        const client = await newClient(first, org.orgId, 'WRITE', { tokenTtlSeconds: 3600 });
        const token = await tokenFor(first, client);
        // The second process verifies each credential once, and so remembers it.
        for (const headers of [basic(disabled.auth), basic(rotated.auth), capToken(token)]) {
          expect((await call(second.app, { url, headers })).status).toBe(200);
        }

        const base = `/admin/v1/orgs/${org.orgId}`;
        expect(
          (await first.admin('PATCH', `${base}/tills/${disabled.username}`, { disabled: true })).status,
        ).toBe(200);
        const password = unique('new-password');
        expect(
          (await first.admin('POST', `${base}/tills/${rotated.username}/rotate`, { password })).status,
        ).toBe(200);
        expect(
          (await first.admin('PATCH', `${base}/api-clients/${client.key}`, { disabled: true })).status,
        ).toBe(200);
        // At once in the process that made the change.
        for (const headers of [basic(disabled.auth), basic(rotated.auth), capToken(token)]) {
          expectStatus(await call(first.app, { url, headers }), 401, AUTH_FAILED);
        }

        // In the other process, no longer than the cache lifetime.
        clock.set('2031-05-01T12:00:31Z');
        for (const headers of [basic(disabled.auth), basic(rotated.auth), capToken(token)]) {
          expectStatus(await call(second.app, { url, headers }), 401, AUTH_FAILED);
        }
        expect(
          (await call(second.app, { url, headers: basic(basicAuth(rotated.username, password)) })).status,
        ).toBe(200);
      } finally {
        await second.close();
        await first.close();
      }
    });
  });
});
