import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/auth-apps.js';
import {
  ACCESS_DENIED,
  AUTH_FAILED,
  basic,
  basicRaw,
  bearer,
  capToken,
  type Endpoint,
  endpoints,
  expectAdmitted,
  expectLookupOf,
  expectStatus,
  lookupUrl,
  md5,
  newClient,
  newTill,
  postEndpoints,
  send,
  tokenFor,
  unique,
} from '../helpers/auth-cases.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN, basicAuth } from '../helpers/test-app.js';

describeEachStore('authentication and access', (t) => {
  let a: StandardOrg;

  beforeAll(async () => {
    a = await seedStandardOrg(t);
  });

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
});
