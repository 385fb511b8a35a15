import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../src/clock.js';
import { type Call, call, startAppOverStore, startLoggedTestApp } from './helpers/auth-apps.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from './helpers/fixtures.js';
import { STORES } from './helpers/stores.js';
import { ADMIN_TOKEN, basicAuth, type JsonResponse, startTestApp, type TestApp } from './helpers/test-app.js';

// The bodies of contract sections 3 and 4, written out here so that the tests check the contract.
const AUTH_FAILED = {
  warnings: [],
  errors: [
    {
      status: false,
      code: 401,
      message: 'Authentication failed. Please check username and password.',
    },
  ],
};
const ACCESS_DENIED = {
  warnings: [],
  errors: [{ status: false, code: 4000, message: 'Not authorized. Access is denied!' }],
};
const TOKEN_FAILED = {
  data: null,
  errors: [{ status: false, code: 401, message: 'Failed to generate OAuth token' }],
};
const TOKEN_URL = '/v3/oauth/token/generate';
const LOOKUP_URL = '/v2/customers/lookup/promotionData';
const DIRECT_EARN_URL = '/v2/promotion/bulk/directEarn';
const REVOKE_ENROL_URL = '/v2/promotion/bulk/revokeEnrolAndEarn';
const REVOKE_DIRECT_URL = '/v2/promotion/bulk/revokeDirectEarn';
const ISSUE_URL = '/v2/promotion/issue';
const MSG_8015 = 'Customer not found for the given identifiers';
const MSG_1101 = 'invalid programId passed';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const basicRaw = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

let uniqueCounter = 0;
/** A string no other call in this process returns. */
function unique(prefix: string): string {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${uniqueCounter}-${randomBytes(4).toString('hex')}`;
}

type Access = 'NONE' | 'READ' | 'WRITE';

interface Till {
  username: string;
  password: string;
  auth: string;
}

interface Client {
  key: string;
  secret: string;
}

async function newTill(
  t: TestApp,
  orgId: number,
  access: Access,
  password = unique('till-password'),
): Promise<Till> {
  const username = unique(`till-${access.toLowerCase()}`);
  const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/tills`, {
    username,
    password,
    customerAccess: access,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { username, password, auth: basicAuth(username, password) };
}

async function newClient(
  t: TestApp,
  orgId: number,
  access: Access,
  extra: { tokenTtlSeconds?: number } = {},
): Promise<Client> {
  const key = unique(`client-${access.toLowerCase()}`);
  const secret = unique('client-secret');
  const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/api-clients`, {
    key,
    secret,
    customerAccess: access,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { key, secret };
}

function generate(t: TestApp, body: unknown, headers?: Record<string, string>): Promise<JsonResponse> {
  return call(t.app, { method: 'POST', url: TOKEN_URL, body, ...(headers ? { headers } : {}) });
}

/** A token for the client, insisting that it is issued. */
async function tokenFor(t: TestApp, client: Client): Promise<string> {
  const res = await generate(t, { key: client.key, secret: client.secret });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.accessToken;
}

const capToken = (token: string) => ({ 'x-cap-api-oauth-token': token });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (auth: string) => ({ authorization: auth });

function lookupUrl(identifierName: string, identifierValue: string | number, source = 'INSTORE'): string {
  const q = new URLSearchParams({ identifierName, identifierValue: String(identifierValue), source });
  return `${LOOKUP_URL}?${q}`;
}

interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
}

function bulk(action: string, programId: unknown, promotion: Record<string, unknown>, customers: unknown[]) {
  return {
    type: 'CUSTOMER',
    bulkAction: action,
    promotionDetails: { programId, ...promotion },
    identifierName: 'id',
    customers: customers.map((id) => ({ identifierValue: String(id), source: 'INSTORE' })),
  };
}

/** A well-formed request of the org to every /v2 endpoint, for its first customer. */
function endpoints(org: StandardOrg): Endpoint[] {
  const id = org.customers[0]?.id as number;
  const { programId, promotions } = org;
  return [
    {
      name: 'enrolAndEarn',
      method: 'POST',
      url: BULK_URL,
      body: bulk('ENROL', programId, { promotionId: promotions.enrolAndIssue }, [id]),
    },
    {
      name: 'directEarn',
      method: 'POST',
      url: DIRECT_EARN_URL,
      body: bulk('EARN', programId, { promotionId: promotions.direct }, [id]),
    },
    {
      name: 'revokeEnrolAndEarn',
      method: 'POST',
      url: REVOKE_ENROL_URL,
      body: bulk('REVOKE_ENROL', programId, { promotionId: promotions.enrolAndIssue }, [id]),
    },
    {
      name: 'revokeDirectEarn',
      method: 'POST',
      url: REVOKE_DIRECT_URL,
      body: bulk('REVOKE_EARN', programId, { promotionId: promotions.direct }, [id]),
    },
    {
      name: 'issue',
      method: 'POST',
      url: `${ISSUE_URL}?identifierName=id&identifierValue=${id}&source=INSTORE`,
      body: { programId, promotionId: promotions.direct },
    },
    { name: 'lookup', method: 'GET', url: lookupUrl('id', id) },
  ];
}

const postEndpoints = (org: StandardOrg) => endpoints(org).filter((e) => e.method === 'POST');

function send(t: TestApp, endpoint: Endpoint, headers: Record<string, string>): Promise<JsonResponse> {
  const c: Call = { method: endpoint.method, url: endpoint.url, headers };
  if (endpoint.body !== undefined) c.body = endpoint.body;
  return call(t.app, c);
}

function expectStatus(res: JsonResponse, status: number, body?: unknown): void {
  expect({ status: res.status, body: res.body }).toStrictEqual({
    status,
    body: body === undefined ? expect.anything() : body,
  });
}

/** An answer that got past authentication and access (whatever the request then made of it). */
function expectAdmitted(res: JsonResponse, what: string): void {
  expect([200, 201], `${what}: ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
}

function expectLookupOf(res: JsonResponse, customerId: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.data.customer).toStrictEqual({ entityType: 'CUSTOMER', entityId: customerId });
}

/** A forged token with the claims of `payload`, HS256-signed with `key`. */
function signHs256(payload: JWTPayload, key: Uint8Array, kid?: string): Promise<string> {
  return new SignJWT({ ...payload })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) })
    .sign(key);
}

for (const kind of STORES) {
  describe(`authentication and access on ${kind}`, () => {
    let t: TestApp;
    let a: StandardOrg;
    let b: StandardOrg;

    beforeAll(async () => {
      t = await startTestApp(kind);
      a = await seedStandardOrg(t);
      b = await seedStandardOrg(t);
    });
    afterAll(() => t?.close());

    describe('Basic credentials', () => {
      it('accepts the right credentials on a GET and on a POST', async () => {
        const till = await newTill(t, a.orgId, 'WRITE');
        const id = a.customers[1]?.id as number;
        expectLookupOf(await call(t.app, { url: lookupUrl('id', id), headers: basic(till.auth) }), id);
        const enrol = await t.v2(
          BULK_URL,
          bulkBody('ENROL', a.programId, { promotionId: a.promotions.enrolAndIssue }, 'id', [
            [String(id), 'INSTORE'],
          ]),
          till.auth,
        );
        expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
        expect(enrol.body.response[0].result.issualId).toMatch(/^\d+$/);
      });

      it('refuses a wrong password, the plain password in place of its md5, and an unknown till', async () => {
        const till = await newTill(t, a.orgId, 'WRITE');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        const attempts = [
          basicAuth(till.username, `${till.password}x`),
          basicRaw(`${till.username}:${till.password}`),
          basicRaw(`${till.username}:${md5(till.password).toUpperCase()}x`),
          basicAuth(unique('no-such-till'), till.password),
          basicAuth(`${till.username}x`, till.password),
        ];
        for (const authorization of attempts) {
          expectStatus(await call(t.app, { url, headers: { authorization } }), 401, AUTH_FAILED);
          expectStatus(await t.v2(BULK_URL, endpoints(a)[0]?.body, authorization), 401, AUTH_FAILED);
        }
        // The right one still works after all those failures.
        expect((await call(t.app, { url, headers: basic(till.auth) })).status).toBe(200);
      });

      it('refuses a missing or malformed Authorization header', async () => {
        const till = await newTill(t, a.orgId, 'WRITE');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        const malformed = [
          basicRaw(`${till.username}${md5(till.password)}`), // no colon
          basicRaw(`:${md5(till.password)}`), // no username
          `Basic ${'%%%not*base64!!'}`,
          'Basic ',
          'Basic',
          '',
          `Digest ${Buffer.from(`${till.username}:${md5(till.password)}`).toString('base64')}`,
          `${Buffer.from(`${till.username}:${md5(till.password)}`).toString('base64')}`, // no scheme
          'Bearer ',
          basicRaw(`${till.username}\u0000:${md5(till.password)}`), // a NUL character
          basicRaw(`${till.username}:${md5(till.password)}\u0000`),
        ];
        for (const authorization of malformed) {
          const get = await call(t.app, { url, headers: { authorization } });
          expect({ header: authorization, status: get.status, body: get.body }).toStrictEqual({
            header: authorization,
            status: 401,
            body: AUTH_FAILED,
          });
          const post = await t.v2(BULK_URL, endpoints(a)[0]?.body, authorization);
          expect({ header: authorization, status: post.status, body: post.body }).toStrictEqual({
            header: authorization,
            status: 401,
            body: AUTH_FAILED,
          });
        }
        for (const endpoint of endpoints(a)) {
          const res = await send(t, endpoint, {});
          expect({ endpoint: endpoint.name, status: res.status, body: res.body }).toStrictEqual({
            endpoint: endpoint.name,
            status: 401,
            body: AUTH_FAILED,
          });
        }
      });

      it('checks credentials before the content type', async () => {
        const res = await call(t.app, {
          method: 'POST',
          url: BULK_URL,
          headers: { authorization: basicAuth(unique('nobody'), 'x'), 'content-type': 'text/plain' },
          body: 'hello',
        });
        expectStatus(res, 401, AUTH_FAILED);
      });

      it('refuses a disabled till at once, and accepts it again once enabled', async () => {
        const till = await newTill(t, a.orgId, 'WRITE');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        // Used once first, so that a remembered verification would be there to (wrongly) reuse.
        expect((await call(t.app, { url, headers: basic(till.auth) })).status).toBe(200);

        const off = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/tills/${till.username}`, {
          disabled: true,
        });
        expect(off.status, JSON.stringify(off.body)).toBe(200);
        expect(off.body.disabled).toBe(true);
        expectStatus(await call(t.app, { url, headers: basic(till.auth) }), 401, AUTH_FAILED);
        for (const endpoint of endpoints(a)) {
          const res = await send(t, endpoint, basic(till.auth));
          expect({ endpoint: endpoint.name, status: res.status }).toStrictEqual({
            endpoint: endpoint.name,
            status: 401,
          });
        }

        const on = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/tills/${till.username}`, {
          disabled: false,
        });
        expect(on.status, JSON.stringify(on.body)).toBe(200);
        expect(on.body.disabled).toBe(false);
        expect((await call(t.app, { url, headers: basic(till.auth) })).status).toBe(200);
      });

      it('rotates to a given password: the old one fails at once, the new one works', async () => {
        const till = await newTill(t, a.orgId, 'WRITE');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        expect((await call(t.app, { url, headers: basic(till.auth) })).status).toBe(200);

        const password = unique('rotated-password');
        const res = await t.admin('POST', `/admin/v1/orgs/${a.orgId}/tills/${till.username}/rotate`, {
          password,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.username).toBe(till.username);
        // A given password is not echoed back.
        expect(res.body.password).toBeUndefined();
        expect(JSON.stringify(res.body)).not.toContain(password);

        expectStatus(await call(t.app, { url, headers: basic(till.auth) }), 401, AUTH_FAILED);
        const fresh = basicAuth(till.username, password);
        expect((await call(t.app, { url, headers: basic(fresh) })).status).toBe(200);
        expect((await t.v2(BULK_URL, endpoints(a)[0]?.body, fresh)).status).toBe(200);
      });

      it('rotates to a generated password that is shown in that answer only', async () => {
        const till = await newTill(t, a.orgId, 'WRITE');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        expect((await call(t.app, { url, headers: basic(till.auth) })).status).toBe(200);

        const res = await t.admin('POST', `/admin/v1/orgs/${a.orgId}/tills/${till.username}/rotate`, {});
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const generated = res.body.password;
        expect(typeof generated).toBe('string');
        expect(generated.length).toBeGreaterThanOrEqual(16);
        expect(generated).not.toBe(till.password);

        expectStatus(await call(t.app, { url, headers: basic(till.auth) }), 401, AUTH_FAILED);
        expect((await call(t.app, { url, headers: basic(basicAuth(till.username, generated)) })).status).toBe(
          200,
        );

        // Never shown again: not in the list, not in a later change of the till.
        const list = await t.admin('GET', `/admin/v1/orgs/${a.orgId}/tills`);
        expect(list.status).toBe(200);
        const listed = list.body.tills.find((x: any) => x.username === till.username);
        expect(listed).toBeDefined();
        expect(listed.password).toBeUndefined();
        const listText = JSON.stringify(list.body);
        expect(listText).not.toContain(generated);
        expect(listText).not.toContain(md5(generated));
        expect(listText).not.toContain(till.password);
        expect(listText).not.toMatch(/scrypt|secret|password/i);
        const patched = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/tills/${till.username}`, {
          customerAccess: 'WRITE',
        });
        expect(patched.status).toBe(200);
        expect(JSON.stringify(patched.body)).not.toContain(generated);
      });

      it('rotates with no body at all (the password is generated)', async () => {
        const till = await newTill(t, a.orgId, 'WRITE');
        const res = await call(t.app, {
          method: 'POST',
          url: `/admin/v1/orgs/${a.orgId}/tills/${till.username}/rotate`,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(typeof res.body.password).toBe('string');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        expect(
          (await call(t.app, { url, headers: basic(basicAuth(till.username, res.body.password)) })).status,
        ).toBe(200);
      });

      it('shows no secret when a till or an API client is created or listed', async () => {
        const password = unique('created-password');
        const username = unique('till-created');
        const created = await t.admin('POST', `/admin/v1/orgs/${a.orgId}/tills`, {
          username,
          password,
          customerAccess: 'READ',
        });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ username, customerAccess: 'READ', disabled: false });
        expect(JSON.stringify(created.body)).not.toContain(password);
        expect(JSON.stringify(created.body)).not.toContain(md5(password));

        const secret = unique('created-secret');
        const key = unique('client-created');
        const client = await t.admin('POST', `/admin/v1/orgs/${a.orgId}/api-clients`, {
          key,
          secret,
          customerAccess: 'WRITE',
        });
        expect(client.status).toBe(201);
        expect(client.body).toMatchObject({ key, customerAccess: 'WRITE', tokenTtlSeconds: 300 });
        expect(JSON.stringify(client.body)).not.toContain(secret);
        const list = await t.admin('GET', `/admin/v1/orgs/${a.orgId}/api-clients`);
        expect(list.status).toBe(200);
        expect(list.body.apiClients.map((c: any) => c.key)).toContain(key);
        expect(JSON.stringify(list.body)).not.toContain(secret);
        expect(JSON.stringify(list.body)).not.toMatch(/scrypt|secret/i);
      });

      it('honours a changed access level at once', async () => {
        const till = await newTill(t, a.orgId, 'READ');
        const enrol = endpoints(a)[0] as Endpoint;
        expectStatus(await send(t, enrol, basic(till.auth)), 403, ACCESS_DENIED);
        const up = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/tills/${till.username}`, {
          customerAccess: 'WRITE',
        });
        expect(up.status).toBe(200);
        expectAdmitted(await send(t, enrol, basic(till.auth)), 'after WRITE');
        const down = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/tills/${till.username}`, {
          customerAccess: 'NONE',
        });
        expect(down.status).toBe(200);
        expectStatus(await send(t, enrol, basic(till.auth)), 403, ACCESS_DENIED);
        expectStatus(
          await call(t.app, {
            url: lookupUrl('id', a.customers[0]?.id as number),
            headers: basic(till.auth),
          }),
          403,
          ACCESS_DENIED,
        );
      });

      it('does not open the management API with a till or a token', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const token = await tokenFor(t, client);
        for (const headers of [basic(a.auth.write), bearer(token), capToken(token)]) {
          const res = await call(t.app, { url: `/admin/v1/orgs/${a.orgId}/tills`, headers });
          expect(res.status).toBe(401);
          expect(res.body.error.code).toBe('unauthorized');
        }
      });
    });

    describe('access levels', () => {
      it('gives READ and NONE tills 403 code 4000 on every POST endpoint', async () => {
        for (const auth of [a.auth.read, a.auth.none]) {
          for (const endpoint of postEndpoints(a)) {
            const res = await send(t, endpoint, basic(auth));
            expect({ endpoint: endpoint.name, status: res.status, body: res.body }).toStrictEqual({
              endpoint: endpoint.name,
              status: 403,
              body: ACCESS_DENIED,
            });
          }
        }
      });

      it('accepts READ and WRITE on the lookup, and refuses NONE', async () => {
        const id = a.customers[0]?.id as number;
        const url = lookupUrl('id', id);
        expectLookupOf(await call(t.app, { url, headers: basic(a.auth.read) }), id);
        expectLookupOf(await call(t.app, { url, headers: basic(a.auth.write) }), id);
        expectStatus(await call(t.app, { url, headers: basic(a.auth.none) }), 403, ACCESS_DENIED);
      });

      it('lets a WRITE till past authentication and access on every endpoint', async () => {
        for (const endpoint of endpoints(a)) {
          expectAdmitted(await send(t, endpoint, basic(a.auth.write)), endpoint.name);
        }
      });

      it('applies the same levels to API clients', async () => {
        const read = await tokenFor(t, await newClient(t, a.orgId, 'READ'));
        const none = await tokenFor(t, await newClient(t, a.orgId, 'NONE'));
        const write = await tokenFor(t, await newClient(t, a.orgId, 'WRITE'));
        for (const endpoint of postEndpoints(a)) {
          for (const token of [read, none]) {
            const res = await send(t, endpoint, capToken(token));
            expect({ endpoint: endpoint.name, status: res.status, body: res.body }).toStrictEqual({
              endpoint: endpoint.name,
              status: 403,
              body: ACCESS_DENIED,
            });
          }
          expectAdmitted(await send(t, endpoint, capToken(write)), endpoint.name);
        }
        const id = a.customers[0]?.id as number;
        expectLookupOf(await call(t.app, { url: lookupUrl('id', id), headers: capToken(read) }), id);
        expectStatus(
          await call(t.app, { url: lookupUrl('id', id), headers: capToken(none) }),
          403,
          ACCESS_DENIED,
        );
      });

      it('checks access before the content type', async () => {
        const res = await call(t.app, {
          method: 'POST',
          url: BULK_URL,
          headers: { authorization: a.auth.read, 'content-type': 'text/plain' },
          body: 'hello',
        });
        expectStatus(res, 403, ACCESS_DENIED);
      });
    });

    describe('OAuth tokens', () => {
      it('issues a signed token for a good key and secret', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const res = await generate(t, { key: client.key, secret: client.secret });
        expect(res.status).toBe(200);
        expect(res.body).toStrictEqual({
          data: { accessToken: expect.any(String), ttlSeconds: 300 },
          errors: null,
        });
        const token = res.body.data.accessToken as string;
        expect(decodeProtectedHeader(token).alg).toBe('HS256');
        const claims = decodeJwt(token);
        expect(claims.org_id).toBe(a.orgId);
        expect(claims.client_id).toBe(client.key);
        expect((claims.exp as number) - (claims.iat as number)).toBe(300);
        // Not the secret in any form.
        expect(token).not.toContain(client.secret);
        expect(JSON.stringify(claims)).not.toContain(client.secret);
      });

      it("gives tokens the client's own lifetime", async () => {
        const client = await newClient(t, a.orgId, 'WRITE', { tokenTtlSeconds: 120 });
        const res = await generate(t, { key: client.key, secret: client.secret });
        expect(res.body.data.ttlSeconds).toBe(120);
        const claims = decodeJwt(res.body.data.accessToken);
        expect((claims.exp as number) - (claims.iat as number)).toBe(120);
      });

      it('refuses a bad secret, an unknown key, a disabled client and malformed bodies', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const disabled = await newClient(t, a.orgId, 'WRITE');
        const off = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/api-clients/${disabled.key}`, {
          disabled: true,
        });
        expect(off.status).toBe(200);
        const till = await newTill(t, a.orgId, 'WRITE');
        const bodies: unknown[] = [
          { key: client.key, secret: `${client.secret}x` },
          { key: client.key, secret: '' },
          { key: unique('no-such-client'), secret: client.secret },
          { key: disabled.key, secret: disabled.secret },
          { key: till.username, secret: till.password }, // a till is not an API client
          { key: till.username, secret: md5(till.password) },
          {},
          { key: client.key },
          { secret: client.secret },
          { key: client.key, secret: 12345 },
          { key: [client.key], secret: client.secret },
          { key: client.key, secret: { value: client.secret } },
          { key: client.key, secret: 'x'.repeat(10_000) },
          { key: `${client.key}\u0000`, secret: client.secret },
          { key: client.key, secret: `${client.secret}\u0000` },
          { key: client.key, secret: `${client.secret}\u0000extra` },
          [client.key, client.secret],
          null,
          '"key=secret"',
          '42',
          'true',
        ];
        for (const body of bodies) {
          const res = await generate(t, body);
          expect({ body, status: res.status, answer: res.body }).toStrictEqual({
            body,
            status: 401,
            answer: TOKEN_FAILED,
          });
        }
        // The good one still works.
        expect((await generate(t, { key: client.key, secret: client.secret })).status).toBe(200);
      });

      it('issues no token for a body that is not JSON', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const requests: Call[] = [
          { method: 'POST', url: TOKEN_URL, body: `{"key": "${client.key}", "secret": ` },
          {
            method: 'POST',
            url: TOKEN_URL,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `key=${client.key}&secret=${client.secret}`,
          },
        ];
        for (const request of requests) {
          const res = await call(t.app, request);
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(res.body.data).toBeNull();
          expect(res.body.errors).toHaveLength(1);
          expect(res.body.errors[0].status).toBe(false);
        }
      });

      it('accepts the token in X-CAP-API-OAUTH-TOKEN and as a Bearer token', async () => {
        const token = await tokenFor(t, await newClient(t, a.orgId, 'WRITE'));
        const id = a.customers[0]?.id as number;
        expectLookupOf(await call(t.app, { url: lookupUrl('id', id), headers: capToken(token) }), id);
        expectLookupOf(await call(t.app, { url: lookupUrl('id', id), headers: bearer(token) }), id);
        expectLookupOf(
          await call(t.app, { url: lookupUrl('id', id), headers: { authorization: `bearer ${token}` } }),
          id,
        );
        for (const endpoint of postEndpoints(a)) {
          expectAdmitted(await send(t, endpoint, capToken(token)), `${endpoint.name} X-CAP`);
          expectAdmitted(await send(t, endpoint, bearer(token)), `${endpoint.name} Bearer`);
        }
      });

      it('refuses a token signed with another key, and accepts the same claims signed with the stored key', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const token = await tokenFor(t, client);
        const claims = decodeJwt(token);
        const { kid } = decodeProtectedHeader(token);
        const url = lookupUrl('id', a.customers[0]?.id as number);

        const forged = await signHs256(claims, randomBytes(32), kid);
        expectStatus(await call(t.app, { url, headers: capToken(forged) }), 401, AUTH_FAILED);
        expectStatus(await call(t.app, { url, headers: bearer(forged) }), 401, AUTH_FAILED);
        // B's key does not sign for A either.
        await tokenFor(t, await newClient(t, b.orgId, 'WRITE'));
        const keys = await t.testStore.store.db.selectFrom('oauth_keys').selectAll().execute();
        const keyOf = (orgId: number) => keys.find((k) => Number(k.org_id) === orgId && k.kid === kid);
        const keyB = keyOf(b.orgId);
        expect(keyB).toBeDefined();
        const signedByB = await signHs256(
          claims,
          new Uint8Array(Buffer.from(keyB?.secret as string, 'base64url')),
          kid,
        );
        expectStatus(await call(t.app, { url, headers: capToken(signedByB) }), 401, AUTH_FAILED);

        // The control: the very same construction with A's stored key is accepted.
        const keyA = keyOf(a.orgId);
        expect(keyA).toBeDefined();
        const genuine = await signHs256(
          claims,
          new Uint8Array(Buffer.from(keyA?.secret as string, 'base64url')),
          kid,
        );
        expect((await call(t.app, { url, headers: capToken(genuine) })).status).toBe(200);
      });

      it('refuses an unsigned (alg: none) token', async () => {
        const token = await tokenFor(t, await newClient(t, a.orgId, 'WRITE'));
        const [, payload, signature] = token.split('.');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        const unsigned = [
          `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`,
          `${b64url({ alg: 'none' })}.${payload}.`,
          `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
          `${b64url({ alg: 'NONE', typ: 'JWT' })}.${payload}.`,
        ];
        for (const forged of unsigned) {
          expectStatus(await call(t.app, { url, headers: capToken(forged) }), 401, AUTH_FAILED);
          expectStatus(await call(t.app, { url, headers: bearer(forged) }), 401, AUTH_FAILED);
          expectStatus(await send(t, endpoints(a)[0] as Endpoint, capToken(forged)), 401, AUTH_FAILED);
        }
      });

      it('refuses a token whose payload or header was tampered with', async () => {
        const client = await newClient(t, a.orgId, 'READ');
        const other = await newClient(t, a.orgId, 'WRITE');
        const bClient = await newClient(t, b.orgId, 'WRITE');
        const token = await tokenFor(t, client);
        const [header, payload, signature] = token.split('.');
        const claims = decodeJwt(token);
        const url = lookupUrl('id', a.customers[0]?.id as number);
        const tampered = [
          { ...claims, client_id: other.key, sub: other.key }, // to a client with more access
          { ...claims, org_id: b.orgId, client_id: bClient.key, sub: bClient.key }, // to another org
          { ...claims, org_id: b.orgId },
          { ...claims, exp: (claims.exp as number) + 86_400 },
        ];
        for (const changed of tampered) {
          const forged = `${header}.${b64url(changed)}.${signature}`;
          expectStatus(await call(t.app, { url, headers: capToken(forged) }), 401, AUTH_FAILED);
          expectStatus(await send(t, endpoints(a)[0] as Endpoint, capToken(forged)), 401, AUTH_FAILED);
        }
        const headerChanged = `${b64url({ ...decodeProtectedHeader(token), alg: 'HS512' })}.${payload}.${signature}`;
        const garbage = [
          headerChanged,
          `${header}.${payload}.${signature?.slice(0, -2)}`,
          `${header}.${payload}`,
          // The signature's first character, whose bits all count (the last one's lowest two do not:
          // changing only those gives the same signature, which is no forgery).
          `${header}.${payload}.${signature?.startsWith('A') ? 'B' : 'A'}${signature?.slice(1)}`,
          'not-a-token',
          `${token}.`,
          ' ',
        ];
        for (const forged of garbage) {
          expectStatus(await call(t.app, { url, headers: capToken(forged) }), 401, AUTH_FAILED);
        }
        // The untouched token still works.
        expect((await call(t.app, { url, headers: capToken(token) })).status).toBe(200);
      });

      it('refuses the token of a client disabled after issue, at once', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const token = await tokenFor(t, client);
        const url = lookupUrl('id', a.customers[0]?.id as number);
        expect((await call(t.app, { url, headers: capToken(token) })).status).toBe(200);

        const off = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/api-clients/${client.key}`, {
          disabled: true,
        });
        expect(off.status).toBe(200);
        expectStatus(await call(t.app, { url, headers: capToken(token) }), 401, AUTH_FAILED);
        expectStatus(await call(t.app, { url, headers: bearer(token) }), 401, AUTH_FAILED);
        for (const endpoint of postEndpoints(a)) {
          expectStatus(await send(t, endpoint, capToken(token)), 401, AUTH_FAILED);
        }
        expectStatus(await generate(t, { key: client.key, secret: client.secret }), 401, TOKEN_FAILED);

        const on = await t.admin('PATCH', `/admin/v1/orgs/${a.orgId}/api-clients/${client.key}`, {
          disabled: false,
        });
        expect(on.status).toBe(200);
        expect((await call(t.app, { url, headers: capToken(token) })).status).toBe(200);
      });

      it('rotates an API client secret: the old one gets no token, the new one does', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const secret = unique('rotated-secret');
        const res = await t.admin('POST', `/admin/v1/orgs/${a.orgId}/api-clients/${client.key}/rotate`, {
          secret,
        });
        expect(res.status).toBe(200);
        expect(JSON.stringify(res.body)).not.toContain(secret);
        expectStatus(await generate(t, { key: client.key, secret: client.secret }), 401, TOKEN_FAILED);
        expect((await generate(t, { key: client.key, secret })).status).toBe(200);

        const generated = await t.admin(
          'POST',
          `/admin/v1/orgs/${a.orgId}/api-clients/${client.key}/rotate`,
          {},
        );
        expect(generated.status).toBe(200);
        expect(typeof generated.body.secret).toBe('string');
        expectStatus(await generate(t, { key: client.key, secret }), 401, TOKEN_FAILED);
        expect((await generate(t, { key: client.key, secret: generated.body.secret })).status).toBe(200);
        const list = await t.admin('GET', `/admin/v1/orgs/${a.orgId}/api-clients`);
        expect(JSON.stringify(list.body)).not.toContain(generated.body.secret);
      });

      it('lets a present X-CAP-API-OAUTH-TOKEN alone decide', async () => {
        const good = await tokenFor(t, await newClient(t, a.orgId, 'WRITE'));
        const url = lookupUrl('id', a.customers[0]?.id as number);
        const bad = `${good.slice(0, -4)}AAAA`;
        const combos: Record<string, string>[] = [
          { 'x-cap-api-oauth-token': bad, authorization: a.auth.write },
          { 'x-cap-api-oauth-token': 'garbage', authorization: a.auth.write },
          { 'x-cap-api-oauth-token': '', authorization: a.auth.write },
          { 'x-cap-api-oauth-token': bad, authorization: `Bearer ${good}` },
        ];
        for (const headers of combos) {
          expectStatus(await call(t.app, { url, headers }), 401, AUTH_FAILED);
          expectStatus(await send(t, endpoints(a)[0] as Endpoint, headers), 401, AUTH_FAILED);
        }
        // A good X-CAP token with a wrong Basic header: the token decides, so it passes.
        expect(
          (
            await call(t.app, {
              url,
              headers: { 'x-cap-api-oauth-token': good, authorization: basicAuth('nobody', 'x') },
            })
          ).status,
        ).toBe(200);
      });

      it('does not accept API client credentials as Basic credentials', async () => {
        const client = await newClient(t, a.orgId, 'WRITE');
        const url = lookupUrl('id', a.customers[0]?.id as number);
        for (const authorization of [
          basicAuth(client.key, client.secret),
          basicRaw(`${client.key}:${client.secret}`),
        ]) {
          expectStatus(await call(t.app, { url, headers: { authorization } }), 401, AUTH_FAILED);
        }
      });
    });

    describe('the signing key without LOYALTY_JWT_SECRET', () => {
      it('is kept in the store: a second app on the same database accepts the first one’s tokens', async () => {
        const second = await startAppOverStore(t.testStore, kind);
        try {
          const clientA = await newClient(t, a.orgId, 'WRITE');
          const tokenFromFirst = await tokenFor(t, clientA);
          const id = a.customers[0]?.id as number;
          expectLookupOf(
            await call(second.app, { url: lookupUrl('id', id), headers: capToken(tokenFromFirst) }),
            id,
          );
          const tokenFromSecond = await tokenFor(second, clientA);
          expectLookupOf(
            await call(t.app, { url: lookupUrl('id', id), headers: capToken(tokenFromSecond) }),
            id,
          );

          // An org whose first token the second app issues: the first app then accepts it.
          const c = await seedStandardOrg(t, 1);
          const clientC = await newClient(t, c.orgId, 'WRITE');
          const tokenC = await tokenFor(second, clientC);
          const idC = c.customers[0]?.id as number;
          expectLookupOf(await call(t.app, { url: lookupUrl('id', idC), headers: capToken(tokenC) }), idC);
          expectLookupOf(
            await call(second.app, { url: lookupUrl('id', idC), headers: capToken(tokenC) }),
            idC,
          );
          expectLookupOf(
            await call(second.app, {
              url: lookupUrl('id', idC),
              headers: capToken(await tokenFor(t, clientC)),
            }),
            idC,
          );

          const keys = await t.testStore.store.db
            .selectFrom('oauth_keys')
            .selectAll()
            .where('org_id', '=', c.orgId)
            .execute();
          expect(keys).toHaveLength(1);
        } finally {
          await second.close();
        }
      });

      it('is refused by an app configured with a secret, and the other way round', async () => {
        const withSecret = await startAppOverStore(t.testStore, kind, {
          config: { jwtSecret: `configured-${randomBytes(24).toString('hex')}` },
        });
        try {
          const client = await newClient(t, a.orgId, 'WRITE');
          const url = lookupUrl('id', a.customers[0]?.id as number);
          const stored = await tokenFor(t, client);
          const configured = await tokenFor(withSecret, client);
          expect((await call(withSecret.app, { url, headers: capToken(configured) })).status).toBe(200);
          expectStatus(await call(withSecret.app, { url, headers: capToken(stored) }), 401, AUTH_FAILED);
          expectStatus(await call(t.app, { url, headers: capToken(configured) }), 401, AUTH_FAILED);
        } finally {
          await withSecret.close();
        }
      });
    });

    describe('tenant isolation', () => {
      let bToken: string;
      let bCredentials: { name: string; headers: Record<string, string> }[];
      let aIds: number[];
      let before: Map<number, unknown>;

      const snapshot = async () => {
        const result = new Map<number, unknown>();
        for (const id of aIds) {
          const res = await call(t.app, { url: lookupUrl('id', id), headers: basic(a.auth.read) });
          expect(res.status).toBe(200);
          result.set(id, res.body);
        }
        return result;
      };

      beforeAll(async () => {
        bToken = await tokenFor(t, await newClient(t, b.orgId, 'WRITE'));
        bCredentials = [
          { name: 'B till', headers: basic(b.auth.write) },
          { name: 'B token', headers: capToken(bToken) },
          { name: 'B bearer', headers: bearer(bToken) },
        ];
        aIds = a.customers.slice(2, 5).map((c) => c.id);
        // A's customers have records in A, so that a revoke that crossed orgs would have work to do.
        for (const id of aIds) {
          const enrol = await t.v2(
            BULK_URL,
            bulk('ENROL', a.programId, { promotionId: a.promotions.enrolAndIssue }, [id]),
            a.auth.write,
          );
          expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
          const earn = await t.v2(
            BULK_URL,
            bulk('EARN', a.programId, { promotionId: a.promotions.enrolAndIssue }, [id]),
            a.auth.write,
          );
          expect(earn.status, JSON.stringify(earn.body)).toBe(200);
          const direct = await t.v2(
            DIRECT_EARN_URL,
            bulk('EARN', a.programId, { promotionId: a.promotions.direct }, [id]),
            a.auth.write,
          );
          expect(direct.status, JSON.stringify(direct.body)).toBe(200);
        }
        before = await snapshot();
      });

      /** A's customers, spelt in every way that finds them, as [identifierName, identifierValue]. */
      const spellings = (): [string, unknown][] =>
        aIds.flatMap((id) => {
          const c = a.customers.find((x) => x.id === id) as StandardOrg['customers'][number];
          return [
            ['id', id],
            ['id', String(id)],
            ['id', `000${id}`],
            ['mobile', c.mobile],
            ['mobile', `+${c.mobile.slice(0, 2)} (${c.mobile.slice(2, 6)}) ${c.mobile.slice(6)}`],
            ['email', c.email],
            ['email', `  ${c.email.toUpperCase()} `],
          ] as [string, unknown][];
        });

      const requestFor = (
        action: string,
        programId: unknown,
        promotion: Record<string, unknown>,
        identifierName: string,
        values: unknown[],
        source = 'INSTORE',
      ) => ({
        type: 'CUSTOMER',
        bulkAction: action,
        promotionDetails: { programId, ...promotion },
        identifierName,
        customers: values.map((identifierValue) => ({ identifierValue, source })),
      });

      it("gives B's credentials 1101 for A's program on every bulk endpoint, however the id is spelt", async () => {
        const cases: [string, string, number][] = [
          [BULK_URL, 'ENROL', a.promotions.enrolAndIssue],
          [BULK_URL, 'EARN', a.promotions.enrolAndIssue],
          [BULK_URL, 'EARN', a.promotions.direct],
          [DIRECT_EARN_URL, 'EARN', a.promotions.direct],
          [REVOKE_ENROL_URL, 'REVOKE_ENROL', a.promotions.enrolAndIssue],
          [REVOKE_ENROL_URL, 'REVOKE_EARN', a.promotions.enrolAndIssue],
          [REVOKE_DIRECT_URL, 'REVOKE_EARN', a.promotions.direct],
        ];
        for (const { name, headers } of bCredentials) {
          for (const [url, action, promotionId] of cases) {
            for (const programId of [a.programId, String(a.programId)]) {
              for (const promotion of [
                { promotionId },
                { promotionId: String(promotionId) },
                { promoIdentifier: a.promoIdentifier },
              ]) {
                const res = await call(t.app, {
                  url,
                  headers,
                  body: requestFor(action, programId, promotion, 'id', [aIds[0]]),
                });
                expect({ name, url, action, status: res.status, body: res.body }).toStrictEqual({
                  name,
                  url,
                  action,
                  status: 400,
                  body: {
                    response: [{ errors: [{ status: false, code: 1101, message: MSG_1101 }], warnings: [] }],
                    totalCount: 1,
                    failureCount: 1,
                  },
                });
              }
            }
          }
          const issue = await call(t.app, {
            url: `${ISSUE_URL}?identifierName=id&identifierValue=${aIds[0]}&source=INSTORE`,
            headers,
            body: { programId: a.programId, promotionId: a.promotions.direct },
          });
          expect({ name, status: issue.status, body: issue.body }).toStrictEqual({
            name,
            status: 400,
            body: {
              warnings: [],
              errors: [{ status: false, code: 1101, message: MSG_1101 }],
            },
          });
        }
      });

      it("gives B's credentials 8874 for A's promotion named in B's program", async () => {
        for (const { name, headers } of bCredentials) {
          for (const promotion of [
            { promotionId: a.promotions.enrolAndIssue },
            { promotionId: a.promotions.withIdentifier },
            { promoIdentifier: a.promoIdentifier },
          ]) {
            const res = await call(t.app, {
              url: BULK_URL,
              headers,
              body: requestFor('ENROL', b.programId, promotion, 'id', [aIds[0]]),
            });
            expect({
              name,
              status: res.status,
              code: res.body.response?.[0]?.errors?.[0]?.code,
            }).toStrictEqual({ name, status: 400, code: 8874 });
          }
        }
      });

      it("gives B's credentials 8015 for A's customers, by id, mobile and email, on every bulk endpoint", async () => {
        const values = spellings();
        const cases: [string, string, number][] = [
          [BULK_URL, 'ENROL', b.promotions.enrolAndIssue],
          [BULK_URL, 'EARN', b.promotions.enrolAndIssue],
          [BULK_URL, 'EARN', b.promotions.direct],
          [DIRECT_EARN_URL, 'EARN', b.promotions.direct],
          [REVOKE_ENROL_URL, 'REVOKE_ENROL', b.promotions.enrolAndIssue],
          [REVOKE_ENROL_URL, 'REVOKE_EARN', b.promotions.enrolAndIssue],
          [REVOKE_DIRECT_URL, 'REVOKE_EARN', b.promotions.direct],
        ];
        for (const { name, headers } of bCredentials) {
          for (const [url, action, promotionId] of cases) {
            for (const identifierName of ['id', 'mobile', 'email']) {
              for (const source of ['INSTORE', 'ALL']) {
                const mine = values.filter(([n]) => n === identifierName).map(([, v]) => v);
                const res = await call(t.app, {
                  url,
                  headers,
                  body: requestFor(action, b.programId, { promotionId }, identifierName, mine, source),
                });
                const item = { errors: [{ status: false, code: 8015, message: MSG_8015 }], warnings: [] };
                expect({
                  name,
                  url,
                  action,
                  identifierName,
                  status: res.status,
                  body: res.body,
                }).toStrictEqual({
                  name,
                  url,
                  action,
                  identifierName,
                  status: 201,
                  body: {
                    response: mine.map(() => item),
                    totalCount: mine.length,
                    failureCount: mine.length,
                  },
                });
              }
            }
          }
        }
      });

      it("gives B's credentials 8015 for A's customers on the single issue and on the lookup", async () => {
        for (const { name, headers } of bCredentials) {
          for (const [identifierName, value] of spellings()) {
            for (const source of ['INSTORE', 'ALL']) {
              const q = new URLSearchParams({ identifierName, identifierValue: String(value), source });
              const issue = await call(t.app, {
                url: `${ISSUE_URL}?${q}`,
                headers,
                body: { programId: b.programId, promotionId: b.promotions.direct },
              });
              expect({ name, identifierName, value, status: issue.status, body: issue.body }).toStrictEqual({
                name,
                identifierName,
                value,
                status: 400,
                body: {
                  warnings: [],
                  errors: [{ status: false, code: 8015, message: MSG_8015 }],
                  sideEffects: [],
                },
              });
              const lookup = await call(t.app, {
                url: lookupUrl(identifierName, String(value), source),
                headers,
              });
              expect({ name, identifierName, value, status: lookup.status, body: lookup.body }).toStrictEqual(
                {
                  name,
                  identifierName,
                  value,
                  status: 400,
                  body: { warnings: [], errors: [{ status: false, code: 8015, message: MSG_8015 }] },
                },
              );
            }
          }
        }
      });

      it('finds the same spellings for A’s own credentials (the control)', async () => {
        const values = spellings();
        const aToken = await tokenFor(t, await newClient(t, a.orgId, 'READ'));
        for (const headers of [basic(a.auth.read), capToken(aToken)]) {
          for (const [identifierName, value] of values) {
            const res = await call(t.app, { url: lookupUrl(identifierName, String(value), 'ALL'), headers });
            expect(res.status, `${identifierName} ${value}: ${JSON.stringify(res.body)}`).toBe(200);
            expect(aIds).toContain(res.body.data.customer.entityId);
          }
        }
        for (const identifierName of ['id', 'mobile', 'email']) {
          const mine = values.filter(([n]) => n === identifierName).map(([, v]) => v);
          const res = await t.v2(
            BULK_URL,
            requestFor(
              'ENROL',
              String(a.programId),
              { promotionId: a.promotions.enrolAndIssue },
              identifierName,
              mine,
            ),
            a.auth.write,
          );
          // Already enrolled: a success item with the 8890 warning, for every spelling.
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(res.body.failureCount).toBe(0);
          for (const item of res.body.response) expect(item.warnings[0].code).toBe(8890);
        }
      });

      it("leaves A's records as they were and writes nothing for B about A's customers", async () => {
        expect(await snapshot()).toStrictEqual(before);
        const db = t.testStore.store.db;
        const foreignIssuals = await db
          .selectFrom('issuals')
          .select(['org_id', 'customer_id'])
          .where('customer_id', 'in', aIds)
          .where('org_id', '!=', a.orgId)
          .execute();
        expect(foreignIssuals).toStrictEqual([]);
        const revoked = await db
          .selectFrom('issuals')
          .select('id')
          .where('customer_id', 'in', aIds)
          .where('revoked_at', 'is not', null)
          .execute();
        expect(revoked).toStrictEqual([]);
        const revokedEarns = await db
          .selectFrom('earns')
          .select('id')
          .where('customer_id', 'in', aIds)
          .where('revoked_at', 'is not', null)
          .execute();
        expect(revokedEarns).toStrictEqual([]);
        // Every record of A was made by one of A's own credentials.
        const aCredentials = [
          ...(await db.selectFrom('issuals').select('created_by').where('org_id', '=', a.orgId).execute()),
          ...(await db.selectFrom('earns').select('created_by').where('org_id', '=', a.orgId).execute()),
        ];
        expect(aCredentials.length).toBeGreaterThan(0);
        const aTills = await db
          .selectFrom('tills')
          .select('username')
          .where('org_id', '=', a.orgId)
          .execute();
        const aClients = await db
          .selectFrom('api_clients')
          .select('client_key')
          .where('org_id', '=', a.orgId)
          .execute();
        const own = new Set([
          ...aTills.map((r) => `till:${r.username}`),
          ...aClients.map((r) => `client:${r.client_key}`),
        ]);
        for (const row of aCredentials) expect(own.has(row.created_by), row.created_by).toBe(true);
      });

      it("does not replay A's answer to B for the same Idempotency-Key", async () => {
        const key = unique('idem');
        const body = bulk('ENROL', a.programId, { promotionId: a.promotions.enrolAndIssue }, [aIds[0]]);
        const first = await call(t.app, {
          url: BULK_URL,
          headers: { authorization: a.auth.write, 'idempotency-key': key },
          body,
        });
        expect(first.status, JSON.stringify(first.body)).toBe(200);
        expect(first.body.response[0].result.entityId).toBe(aIds[0]);
        for (const { name, headers } of bCredentials) {
          const res = await call(t.app, {
            url: BULK_URL,
            headers: { ...headers, 'idempotency-key': key },
            body,
          });
          expect({ name, status: res.status, code: res.body.response?.[0]?.errors?.[0]?.code }).toStrictEqual(
            {
              name,
              status: 400,
              code: 1101,
            },
          );
          expect(JSON.stringify(res.body)).not.toContain(String(aIds[0]));
        }
      });

      it('refuses a token naming an org that does not exist, or an org id that is not a number', async () => {
        const token = await tokenFor(t, await newClient(t, a.orgId, 'WRITE'));
        const [header, , signature] = token.split('.');
        const claims = decodeJwt(token);
        const url = lookupUrl('id', a.customers[0]?.id as number);
        for (const orgId of [987_654_321_012, 0, -1, String(a.orgId), null, 1.5]) {
          const forged = `${header}.${b64url({ ...claims, org_id: orgId })}.${signature}`;
          expectStatus(await call(t.app, { url, headers: capToken(forged) }), 401, AUTH_FAILED);
          const resigned = await signHs256({ ...claims, org_id: orgId }, randomBytes(32));
          expectStatus(await call(t.app, { url, headers: capToken(resigned) }), 401, AUTH_FAILED);
        }
      });

      it('authenticates a till with the same password in two orgs to its own org only', async () => {
        const password = unique('shared-password');
        const tillA = await newTill(t, a.orgId, 'WRITE', password);
        const tillB = await newTill(t, b.orgId, 'WRITE', password);
        const idA = a.customers[0]?.id as number;
        const idB = b.customers[0]?.id as number;
        expectLookupOf(await call(t.app, { url: lookupUrl('id', idA), headers: basic(tillA.auth) }), idA);
        expectLookupOf(await call(t.app, { url: lookupUrl('id', idB), headers: basic(tillB.auth) }), idB);
        expectStatus(await call(t.app, { url: lookupUrl('id', idB), headers: basic(tillA.auth) }), 400, {
          warnings: [],
          errors: [{ status: false, code: 8015, message: MSG_8015 }],
        });
        expectStatus(await call(t.app, { url: lookupUrl('id', idA), headers: basic(tillB.auth) }), 400, {
          warnings: [],
          errors: [{ status: false, code: 8015, message: MSG_8015 }],
        });
        const intoB = await t.v2(
          BULK_URL,
          bulk('ENROL', b.programId, { promotionId: b.promotions.enrolAndIssue }, [idB]),
          tillA.auth,
        );
        expect(intoB.status).toBe(400);
        expect(intoB.body.response[0].errors[0].code).toBe(1101);
        // Each username names one org: B cannot take A's till username.
        const clash = await t.admin('POST', `/admin/v1/orgs/${b.orgId}/tills`, {
          username: tillA.username,
          password,
          customerAccess: 'WRITE',
        });
        expect(clash.status).toBe(409);
        expectLookupOf(await call(t.app, { url: lookupUrl('id', idA), headers: basic(tillA.auth) }), idA);
      });

      it("finds B's own customer when B holds the same mobile and email as one of A's", async () => {
        const twin = a.customers[1] as StandardOrg['customers'][number];
        const made = await t.admin('POST', `/admin/v1/orgs/${b.orgId}/customers`, {
          customers: [{ mobile: twin.mobile, email: twin.email, programIds: [b.programId] }],
        });
        expect(made.status, JSON.stringify(made.body)).toBe(201);
        const bTwin = made.body.customers[0].id as number;
        expect(bTwin).not.toBe(twin.id);
        for (const [identifierName, value] of [
          ['mobile', twin.mobile],
          ['email', twin.email],
        ] as const) {
          expectLookupOf(
            await call(t.app, { url: lookupUrl(identifierName, value), headers: basic(b.auth.read) }),
            bTwin,
          );
          expectLookupOf(
            await call(t.app, { url: lookupUrl(identifierName, value), headers: basic(a.auth.read) }),
            twin.id,
          );
        }
        const enrol = await t.v2(
          BULK_URL,
          requestFor('ENROL', b.programId, { promotionId: b.promotions.enrolAndIssue }, 'mobile', [
            twin.mobile,
          ]),
          b.auth.write,
        );
        expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
        expect(enrol.body.response[0].result.entityId).toBe(bTwin);
      });
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

    describe('token expiry', () => {
      it('refuses an expired token, and a fresh one works', async () => {
        const clock = fixedClock('2031-06-01T08:00:00Z');
        const ct = await startTestApp(kind, { clock });
        try {
          const org = await seedStandardOrg(ct, 1);
          const client = await newClient(ct, org.orgId, 'WRITE', { tokenTtlSeconds: 60 });
          const token = await tokenFor(ct, client);
          const url = lookupUrl('id', org.customers[0]?.id as number);
          expect((await call(ct.app, { url, headers: capToken(token) })).status).toBe(200);
          clock.set('2031-06-01T08:00:59Z');
          expect((await call(ct.app, { url, headers: capToken(token) })).status).toBe(200);
          clock.set('2031-06-01T08:01:01Z');
          expectStatus(await call(ct.app, { url, headers: capToken(token) }), 401, AUTH_FAILED);
          expectStatus(await call(ct.app, { url, headers: bearer(token) }), 401, AUTH_FAILED);
          expectStatus(await send(ct, endpoints(org)[0] as Endpoint, capToken(token)), 401, AUTH_FAILED);
          clock.set('2031-06-02T08:00:00Z');
          expectStatus(await call(ct.app, { url, headers: capToken(token) }), 401, AUTH_FAILED);

          const fresh = await tokenFor(ct, client);
          expect((await call(ct.app, { url, headers: capToken(fresh) })).status).toBe(200);
        } finally {
          await ct.close();
        }
      });
    });

    describe('with LOYALTY_JWT_SECRET', () => {
      it('signs with the configured secret; an app with another secret refuses the tokens', async () => {
        const secret1 = `first-secret-${randomBytes(24).toString('hex')}`;
        const secret2 = `second-secret-${randomBytes(24).toString('hex')}`;
        const st = await startTestApp(kind, { config: { jwtSecret: secret1 } });
        const same = await startAppOverStore(st.testStore, kind, { config: { jwtSecret: secret1 } });
        const other = await startAppOverStore(st.testStore, kind, { config: { jwtSecret: secret2 } });
        try {
          const org = await seedStandardOrg(st, 1);
          const client = await newClient(st, org.orgId, 'WRITE');
          const id = org.customers[0]?.id as number;
          const url = lookupUrl('id', id);

          const token = await tokenFor(st, client);
          expectLookupOf(await call(st.app, { url, headers: capToken(token) }), id);
          expectLookupOf(await call(st.app, { url, headers: bearer(token) }), id);
          expectAdmitted(await send(st, endpoints(org)[0] as Endpoint, capToken(token)), 'enrol');
          // Another process with the same secret accepts it.
          expectLookupOf(await call(same.app, { url, headers: capToken(token) }), id);

          // A process with another secret refuses it, and its own tokens are refused here.
          expectStatus(await call(other.app, { url, headers: capToken(token) }), 401, AUTH_FAILED);
          const otherToken = await tokenFor(other, client);
          expectLookupOf(await call(other.app, { url, headers: capToken(otherToken) }), id);
          expectStatus(await call(st.app, { url, headers: capToken(otherToken) }), 401, AUTH_FAILED);

          // The configured secret is what signs: the same claims signed with it pass, with another fail.
          const claims = decodeJwt(token);
          const kid = decodeProtectedHeader(token).kid;
          const resigned = await signHs256(claims, new TextEncoder().encode(secret1), kid);
          expect((await call(st.app, { url, headers: capToken(resigned) })).status).toBe(200);
          const forged = await signHs256(
            claims,
            new TextEncoder().encode(secret2.replace('second', 'third')),
            kid,
          );
          expectStatus(await call(st.app, { url, headers: capToken(forged) }), 401, AUTH_FAILED);
          const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${token.split('.')[1]}.`;
          expectStatus(await call(st.app, { url, headers: capToken(unsigned) }), 401, AUTH_FAILED);
        } finally {
          await other.close();
          await same.close();
          await st.close();
        }
      });
    });

    describe('logs', () => {
      it('never carry a password, its md5, a secret, the admin token or a JWT', async () => {
        const { t: lt, lines } = await startLoggedTestApp(kind);
        try {
          const secrets: string[] = [ADMIN_TOKEN];
          const keep = (...values: string[]) => {
            secrets.push(...values);
          };
          const org = await seedStandardOrg(lt, 1);
          const id = org.customers[0]?.id as number;
          const url = lookupUrl('id', id);
          keep(org.auth.write, org.auth.read, org.auth.none);

          // Admin calls carrying passwords and secrets.
          const password = `till-pw-${randomBytes(12).toString('hex')}`;
          const till = await newTill(lt, org.orgId, 'WRITE', password);
          keep(password, md5(password), till.auth, till.auth.slice('Basic '.length));
          const rotated = `rotated-pw-${randomBytes(12).toString('hex')}`;
          expect(
            (
              await lt.admin('POST', `/admin/v1/orgs/${org.orgId}/tills/${till.username}/rotate`, {
                password: rotated,
              })
            ).status,
          ).toBe(200);
          const rotatedAuth = basicAuth(till.username, rotated);
          keep(rotated, md5(rotated), rotatedAuth.slice('Basic '.length));
          const generatedRes = await lt.admin(
            'POST',
            `/admin/v1/orgs/${org.orgId}/tills/${till.username}/rotate`,
            {},
          );
          expect(generatedRes.status).toBe(200);
          const generated = generatedRes.body.password as string;
          const generatedAuth = basicAuth(till.username, generated);
          keep(generated, md5(generated), generatedAuth.slice('Basic '.length));

          const client = await newClient(lt, org.orgId, 'WRITE');
          keep(client.secret);
          const clientRotated = await lt.admin(
            'POST',
            `/admin/v1/orgs/${org.orgId}/api-clients/${client.key}/rotate`,
            {},
          );
          expect(clientRotated.status).toBe(200);
          const clientSecret = clientRotated.body.secret as string;
          keep(clientSecret);
          // A refused admin call with a wrong token, and a malformed admin body with a password in it.
          const wrongAdmin = `wrong-admin-${randomBytes(12).toString('hex')}`;
          keep(wrongAdmin);
          expect(
            (
              await call(lt.app, {
                url: `/admin/v1/orgs/${org.orgId}/tills`,
                headers: { authorization: `Bearer ${wrongAdmin}` },
              })
            ).status,
          ).toBe(401);
          const badBodyPassword = `bad-body-pw-${randomBytes(12).toString('hex')}`;
          keep(badBodyPassword);
          expect(
            (
              await lt.admin('POST', `/admin/v1/orgs/${org.orgId}/tills`, {
                username: unique('till-bad'),
                password: badBodyPassword,
                customerAccess: 'ALL',
              })
            ).status,
          ).toBe(400);

          // Basic calls: good, wrong, and malformed.
          expect((await call(lt.app, { url, headers: basic(generatedAuth) })).status).toBe(200);
          expect((await lt.v2(BULK_URL, endpoints(org)[0]?.body, generatedAuth)).status).toBe(200);
          const wrongPassword = `wrong-pw-${randomBytes(12).toString('hex')}`;
          const wrongAuth = basicAuth(till.username, wrongPassword);
          keep(wrongPassword, md5(wrongPassword), wrongAuth.slice('Basic '.length));
          expect((await call(lt.app, { url, headers: basic(wrongAuth) })).status).toBe(401);
          expect((await call(lt.app, { url, headers: basic(rotatedAuth) })).status).toBe(401);
          expect((await call(lt.app, { url, headers: basic(org.auth.read) })).status).toBe(200);
          expect((await lt.v2(BULK_URL, endpoints(org)[0]?.body, org.auth.read)).status).toBe(403);

          // Token generation, good and bad, and tokens in both headers.
          const tokenRes = await generate(lt, { key: client.key, secret: clientSecret });
          expect(tokenRes.status).toBe(200);
          const token = tokenRes.body.data.accessToken as string;
          keep(token, token.split('.')[2] as string);
          const wrongSecret = `wrong-secret-${randomBytes(12).toString('hex')}`;
          keep(wrongSecret);
          expect((await generate(lt, { key: client.key, secret: wrongSecret })).status).toBe(401);
          expect((await generate(lt, { key: client.key, secret: client.secret })).status).toBe(401);
          expect((await call(lt.app, { url, headers: capToken(token) })).status).toBe(200);
          expect((await call(lt.app, { url, headers: bearer(token) })).status).toBe(200);
          expectAdmitted(await send(lt, endpoints(org)[1] as Endpoint, capToken(token)), 'directEarn');
          const forged = await signHs256(decodeJwt(token), randomBytes(32));
          keep(forged, forged.split('.')[2] as string);
          expect((await call(lt.app, { url, headers: capToken(forged) })).status).toBe(401);
          expect(
            (
              await call(lt.app, {
                url,
                headers: { 'x-cap-api-oauth-token': forged, authorization: generatedAuth },
              })
            ).status,
          ).toBe(401);

          expect(lines.length).toBeGreaterThan(0);
          const log = lines.join('\n');
          // The capture works: the requests are in it.
          expect(log).toContain(TOKEN_URL);
          expect(log).toContain('/v2/promotion/bulk/enrolAndEarn');
          for (const secret of secrets) {
            expect(secret.length).toBeGreaterThanOrEqual(8);
            if (log.includes(secret)) {
              const line = lines.find((l) => l.includes(secret));
              expect.fail(`a secret appears in the log: ${line}`);
            }
          }
        } finally {
          await lt.close();
        }
      });
    });

    describe('stored secrets', () => {
      it('keeps till passwords and API client secrets as scrypt hashes only', async () => {
        const password = unique('stored-password');
        const till = await newTill(t, a.orgId, 'WRITE', password);
        const client = await newClient(t, a.orgId, 'WRITE');
        const db = t.testStore.store.db;

        const tillRow = await db
          .selectFrom('tills')
          .selectAll()
          .where('username', '=', till.username)
          .executeTakeFirstOrThrow();
        expect(tillRow.secret_hash).toMatch(/^scrypt\$/);
        const tillText = JSON.stringify(tillRow);
        expect(tillText).not.toContain(password);
        expect(tillText).not.toContain(md5(password));

        const clientRow = await db
          .selectFrom('api_clients')
          .selectAll()
          .where('client_key', '=', client.key)
          .executeTakeFirstOrThrow();
        expect(clientRow.secret_hash).toMatch(/^scrypt\$/);
        expect(JSON.stringify(clientRow)).not.toContain(client.secret);

        // Salted: the same password gives another hash.
        const twin = await newTill(t, b.orgId, 'WRITE', password);
        const twinRow = await db
          .selectFrom('tills')
          .select('secret_hash')
          .where('username', '=', twin.username)
          .executeTakeFirstOrThrow();
        expect(twinRow.secret_hash).toMatch(/^scrypt\$/);
        expect(twinRow.secret_hash).not.toBe(tillRow.secret_hash);

        // After a rotation, still a hash, and a new one.
        const rotated = unique('rotated-stored-password');
        expect(
          (
            await t.admin('POST', `/admin/v1/orgs/${a.orgId}/tills/${till.username}/rotate`, {
              password: rotated,
            })
          ).status,
        ).toBe(200);
        const rotatedRow = await db
          .selectFrom('tills')
          .selectAll()
          .where('username', '=', till.username)
          .executeTakeFirstOrThrow();
        expect(rotatedRow.secret_hash).toMatch(/^scrypt\$/);
        expect(rotatedRow.secret_hash).not.toBe(tillRow.secret_hash);
        expect(JSON.stringify(rotatedRow)).not.toContain(rotated);
        expect(JSON.stringify(rotatedRow)).not.toContain(md5(rotated));

        // No row of either table holds any secret this suite created in the clear.
        const allTills = JSON.stringify(await db.selectFrom('tills').selectAll().execute());
        const allClients = JSON.stringify(await db.selectFrom('api_clients').selectAll().execute());
        for (const secret of [password, md5(password), rotated, md5(rotated), client.secret]) {
          expect(allTills).not.toContain(secret);
          expect(allClients).not.toContain(secret);
        }
      });
    });
  });
}
