import { beforeAll, expect, it } from 'vitest';
import { describeEachStore } from '../../helpers/each-store.js';
import type { TestApp } from '../../helpers/test-app.js';
import { post } from '../../helpers/v2-family.js';
import { type PageOrg, seedPageOrg } from './page-org.js';

/**
 * `POST /v3/oauth/token/generate` against Capillary's Authorization Flows page: the valid and the
 * invalid-credentials examples, and token lifetimes capped at 60 minutes by default (a client's longer
 * tokenTtlSeconds is cut to the cap when a token is issued; LOYALTY_MAX_TOKEN_TTL_SECONDS raises it).
 */

const URL = '/v3/oauth/token/generate';
const KEY = 'WnCygRI1Fmlf6YudKwTxQq1LI';
const SECRET = 'hoqSBz6VwefECaZA8Q3oNx4V4H3pMDITksarZVES';

describeEachStore(`OAuth token generation as the Authorization Flows page documents it`, (t, kind) => {
  let org: PageOrg;

  beforeAll(async () => {
    org = await seedPageOrg(t, {
      programs: [{ id: 469 }],
      promotions: [],
      customers: [{ programIds: [469] }],
    });
    const made = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/api-clients`, {
      key: KEY,
      secret: SECRET,
      customerAccess: 'WRITE',
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
  });

  it('"Sample Response (In case of valid credentials)" for the page’s request', async () => {
    const res = await post(t, URL, { key: KEY, secret: SECRET });
    expect({ status: res.status, body: res.body }).toStrictEqual({
      status: 200,
      body: {
        data: { accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), ttlSeconds: 300 },
        errors: null,
      },
    });
  });

  it('"Sample Response (In case of invalid key or secret)": code 320001, whatever is wrong', async () => {
    const bodies = [
      { key: KEY, secret: `${SECRET}x` },
      { key: `${KEY}x`, secret: SECRET },
      { key: KEY },
      { key: '', secret: '' },
    ];
    for (const body of bodies) {
      const res = await post(t, URL, body);
      expect({ body, status: res.status, answer: res.body }).toStrictEqual({
        body,
        status: 401,
        answer: { data: null, errors: [{ code: 320001, message: 'Invalid client key and secret' }] },
      });
    }
  });

  it('token lifetimes go up to 60 minutes by default, not beyond', async () => {
    for (const ttl of [3600, 3601, 86_400]) {
      const key = `ttl-${ttl}-${kind}`;
      expect((await apiClient(t, org.orgId, key, ttl)).status).toBe(201);
      const token = await post(t, URL, { key, secret: `${key}-secret-0123456789` });
      expect({ ttl, status: token.status, ttlSeconds: token.body.data.ttlSeconds }).toStrictEqual({
        ttl,
        status: 200,
        ttlSeconds: 3600,
      });
      expect(lifetimeOf(token.body.data.accessToken)).toBe(3600);
    }
  });
});

describeEachStore(
  'OAuth token lifetimes with LOYALTY_MAX_TOKEN_TTL_SECONDS raised',
  { config: { maxTokenTtlSeconds: 86_400 } },
  (t, kind) => {
    it('a client’s longer tokenTtlSeconds is honoured up to the raised cap', async () => {
      const org = await seedPageOrg(t, {
        programs: [{ id: 469 }],
        promotions: [],
        customers: [{ programIds: [469] }],
      });
      const key = `ttl-raised-${kind}`;
      expect((await apiClient(t, org.orgId, key, 86_400)).status).toBe(201);
      const token = await post(t, URL, { key, secret: `${key}-secret-0123456789` });
      expect(token.body.data.ttlSeconds).toBe(86_400);
      expect(lifetimeOf(token.body.data.accessToken)).toBe(86_400);
    });
  },
);

function apiClient(t: TestApp, orgId: number, key: string, tokenTtlSeconds: number) {
  return t.admin('POST', `/admin/v1/orgs/${orgId}/api-clients`, {
    key,
    secret: `${key}-secret-0123456789`,
    customerAccess: 'READ',
    tokenTtlSeconds,
  });
}

/** exp - iat of a JWT, read without verifying it (the lifetime the token itself carries). */
function lifetimeOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'));
  return payload.exp - payload.iat;
}
