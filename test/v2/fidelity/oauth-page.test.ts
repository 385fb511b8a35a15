import { beforeAll, expect, it } from 'vitest';
import { describeEachStore } from '../../helpers/each-store.js';
import { post } from '../../helpers/v2-family.js';
import { type PageOrg, seedPageOrg } from './page-org.js';

/**
 * `POST /v3/oauth/token/generate` against Capillary's Authorization Flows page: the valid and the
 * invalid-credentials examples, and token lifetimes capped at 60 minutes by default.
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
    const client = (key: string, tokenTtlSeconds: number) =>
      t.admin('POST', `/admin/v1/orgs/${org.orgId}/api-clients`, {
        key,
        secret: `${key}-secret-0123456789`,
        customerAccess: 'READ',
        tokenTtlSeconds,
      });
    expect((await client(`ttl-3600-${kind}`, 3600)).status).toBe(201);
    for (const ttl of [3601, 86_400]) {
      const res = await client(`ttl-${ttl}-${kind}`, ttl);
      expect({ ttl, status: res.status, field: res.body?.error?.field }).toStrictEqual({
        ttl,
        status: 400,
        field: 'tokenTtlSeconds',
      });
    }
    const token = await post(t, URL, {
      key: `ttl-3600-${kind}`,
      secret: `ttl-3600-${kind}-secret-0123456789`,
    });
    expect(token.body.data.ttlSeconds).toBe(3600);
  });
});
