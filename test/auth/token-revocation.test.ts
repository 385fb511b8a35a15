import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, expect, it } from 'vitest';
import { call } from '../helpers/auth-apps.js';
import {
  AUTH_FAILED,
  capToken,
  expectStatus,
  lookupUrl,
  newClient,
  signHs256,
  tokenFor,
} from '../helpers/auth-cases.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';

const JWT_SECRET = `revocation-secret-${randomBytes(24).toString('hex')}`;

describeEachStore('tokens revoked with their client', { config: { jwtSecret: JWT_SECRET } }, (t) => {
  let org: StandardOrg;
  let url: string;
  const clientUrl = (key: string) => `/admin/v1/orgs/${org.orgId}/api-clients/${key}`;

  beforeAll(async () => {
    org = await seedStandardOrg(t, 1);
    url = lookupUrl('id', org.customers[0]?.id as number);
  });

  it("refuses a token issued before its client's secret was rotated; a new one works", async () => {
    const client = await newClient(t, org.orgId, 'WRITE');
    const token = await tokenFor(t, client);
    expect((await call(t.app, { url, headers: capToken(token) })).status).toBe(200);
    const rotated = await t.admin('POST', `${clientUrl(client.key)}/rotate`, {});
    expect(rotated.status).toBe(200);
    expectStatus(await call(t.app, { url, headers: capToken(token) }), 401, AUTH_FAILED);
    const fresh = await tokenFor(t, { key: client.key, secret: rotated.body.secret });
    expect((await call(t.app, { url, headers: capToken(fresh) })).status).toBe(200);
  });

  it('refuses a token issued before its client was disabled, after it is enabled again', async () => {
    const client = await newClient(t, org.orgId, 'WRITE');
    const token = await tokenFor(t, client);
    expect((await call(t.app, { url, headers: capToken(token) })).status).toBe(200);
    expect((await t.admin('PATCH', clientUrl(client.key), { disabled: true })).status).toBe(200);
    expect((await t.admin('PATCH', clientUrl(client.key), { disabled: false })).status).toBe(200);
    expectStatus(await call(t.app, { url, headers: capToken(token) }), 401, AUTH_FAILED);
    const fresh = await tokenFor(t, client);
    expect((await call(t.app, { url, headers: capToken(fresh) })).status).toBe(200);
  });

  it('refuses a validly signed token that claims a lifetime beyond the server maximum', async () => {
    const client = await newClient(t, org.orgId, 'WRITE');
    const token = await tokenFor(t, client);
    const claims = decodeJwt(token);
    const kid = decodeProtectedHeader(token).kid;
    const key = new TextEncoder().encode(JWT_SECRET);
    const iat = claims.iat as number;
    // The control: the same claims re-signed pass.
    const resigned = await signHs256(claims, key, kid);
    expect((await call(t.app, { url, headers: capToken(resigned) })).status).toBe(200);
    // 30 years from now, as the probe forged.
    const long = await signHs256({ ...claims, exp: iat + 30 * 365 * 86_400 }, key, kid);
    expectStatus(await call(t.app, { url, headers: capToken(long) }), 401, AUTH_FAILED);
    // No issue time: its age cannot be told.
    const { iat: _dropped, ...noIat } = claims;
    const ageless = await signHs256(noIat, key, kid);
    expectStatus(await call(t.app, { url, headers: capToken(ageless) }), 401, AUTH_FAILED);
  });
});
