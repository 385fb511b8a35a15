import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseSize } from '../../src/auth/rate-limiter.js';
import { fixedClock } from '../../src/clock.js';
import { within1s } from '../helpers/admin-helpers.js';
import { call, startAppOverStore } from '../helpers/auth-apps.js';
import { basic, capToken, lookupUrl, newClient, newTill, tokenFor, unique } from '../helpers/auth-cases.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import type { TestApp } from '../helpers/test-app.js';
import { basicAuth, startTestApp } from '../helpers/test-app.js';

/**
 * What several processes on one PostgreSQL database must share: credential changes (heard through
 * NOTIFY on each application's own listening connection, not after the cache lifetime, which is ten
 * minutes here so that only the notification can explain a refusal) and rate limits (one count for
 * all). Three applications over one database, each with its own caches, limiter and listener, as
 * three server processes have. PostgreSQL only (SQLite is written by one process), never skipped.
 */

const RATE = 30;

describe('three applications on one PostgreSQL database', { timeout: 120_000 }, () => {
  const clock = fixedClock('2031-06-01T09:00:00Z');
  const apps: TestApp[] = [];
  let org: StandardOrg;
  const app = (i: number) => apps[i] as TestApp;
  const lookup = (t: TestApp, headers: Record<string, string>) =>
    call(t.app, { url: lookupUrl('id', org.customers[0]?.id as number), headers });

  beforeAll(async () => {
    const config = { credentialCacheMs: 600_000 };
    apps.push(await startTestApp('postgres', { clock, config }));
    for (let i = 0; i < 2; i++)
      apps.push(await startAppOverStore(app(0).testStore, 'postgres', { clock, config }));
    org = await seedStandardOrg(app(0), 1);
    // The listening connections are opened as each application starts: give them a moment to be up.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }, 60_000);

  afterAll(async () => {
    for (const t of apps.slice(1)) await t.close();
    await apps[0]?.close();
  });

  it('a till disabled through one application is refused by the others within a second', async () => {
    const till = await newTill(app(0), org.orgId, 'WRITE');
    // Each verifies it once, and so remembers it for ten minutes.
    for (const t of apps) expect((await lookup(t, basic(till.auth))).status).toBe(200);

    const base = `/admin/v1/orgs/${org.orgId}/tills/${till.username}`;
    expect((await app(0).admin('PATCH', base, { disabled: true })).status).toBe(200);
    for (const t of apps.slice(1))
      expect((await within1s(() => lookup(t, basic(till.auth)), 401)).status).toBe(401);

    // Enabled again through another: the others take it back as quickly.
    expect((await app(2).admin('PATCH', base, { disabled: false })).status).toBe(200);
    for (const t of apps.slice(0, 2))
      expect((await within1s(() => lookup(t, basic(till.auth)), 200)).status).toBe(200);
  });

  it('a rotated till secret and a disabled API client stop working in the others within a second', async () => {
    const till = await newTill(app(1), org.orgId, 'WRITE');
    const client = await newClient(app(1), org.orgId, 'WRITE', { tokenTtlSeconds: 3600 });
    const token = await tokenFor(app(1), client);
    for (const t of apps) {
      expect((await lookup(t, basic(till.auth))).status).toBe(200);
      expect((await lookup(t, capToken(token))).status).toBe(200);
    }
    const password = unique('new-password');
    const base = `/admin/v1/orgs/${org.orgId}`;
    expect((await app(1).admin('POST', `${base}/tills/${till.username}/rotate`, { password })).status).toBe(
      200,
    );
    expect(
      (await app(1).admin('PATCH', `${base}/api-clients/${client.key}`, { disabled: true })).status,
    ).toBe(200);
    for (const t of [app(0), app(2)]) {
      expect((await within1s(() => lookup(t, basic(till.auth)), 401)).status).toBe(401);
      expect((await lookup(t, basic(basicAuth(till.username, password)))).status).toBe(200);
      expect((await within1s(() => lookup(t, capToken(token)), 401)).status).toBe(401);
    }
  });

  it(`a limit of ${RATE} a minute lets at most ${RATE} requests through across the three`, async () => {
    // Below 200 a minute every request is counted in the store: no burst beyond the limit.
    expect(leaseSize(RATE)).toBe(1);
    const till = await newTill(app(0), org.orgId, 'WRITE');
    const patched = await app(0).admin('PATCH', `/admin/v1/orgs/${org.orgId}/tills/${till.username}`, {
      rateLimitPerMinute: RATE,
    });
    expect(patched.status).toBe(200);

    const answers = await Promise.all(
      Array.from({ length: RATE * 3 }, (_, i) => lookup(app(i % 3), basic(till.auth))),
    );
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.filter((s) => s !== 200 && s !== 429),
      JSON.stringify(answers.find((a) => a.status !== 200 && a.status !== 429)?.body),
    ).toStrictEqual([]);
    expect(statuses.filter((s) => s === 200)).toHaveLength(RATE);
    for (const a of answers) {
      expect(a.headers['ratelimit-policy']).toBe(`"credential";q=${RATE};w=60`);
      expect(String(a.headers.ratelimit)).toMatch(/^"credential";r=\d+;t=60$/);
      if (a.status === 429) {
        expect(a.body.errors[0].code).toBe(429);
        expect(a.headers['retry-after']).toBe('60');
      }
    }

    // The next minute is a new window, in every application.
    clock.set('2031-06-01T09:01:00Z');
    for (const t of apps) expect((await lookup(t, basic(till.auth))).status).toBe(200);
  });
});
