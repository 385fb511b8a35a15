import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../../src/auth/secret-box.js';
import { fixedClock } from '../../src/clock.js';
import { type Call, call, startAppOverStore } from '../helpers/auth-apps.js';
import {
  AUTH_FAILED,
  b64url,
  basicRaw,
  bearer,
  capToken,
  type Endpoint,
  endpoints,
  expectAdmitted,
  expectLookupOf,
  expectStatus,
  generate,
  lookupUrl,
  md5,
  newClient,
  newTill,
  postEndpoints,
  send,
  signHs256,
  TOKEN_FAILED,
  TOKEN_URL,
  tokenFor,
  unique,
} from '../helpers/auth-cases.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { TEST_SECRET_KEY } from '../helpers/stores.js';
import { basicAuth, startTestApp } from '../helpers/test-app.js';

describeEachStore('authentication and access', (t, kind) => {
  let a: StandardOrg;
  let b: StandardOrg;

  beforeAll(async () => {
    a = await seedStandardOrg(t);
    b = await seedStandardOrg(t);
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
      // The store keeps keys sealed (issue 15): opened here with the tests' LOYALTY_SECRET_KEY.
      const box = createSecretBox(TEST_SECRET_KEY);
      const opened = (k: { org_id: number; sealed_secret: string } | undefined) =>
        new Uint8Array(
          Buffer.from(box.open('oauth-signing-key', Number(k?.org_id), k?.sealed_secret ?? ''), 'base64url'),
        );
      const keyB = keyOf(b.orgId);
      expect(keyB).toBeDefined();
      const signedByB = await signHs256(claims, opened(keyB), kid);
      expectStatus(await call(t.app, { url, headers: capToken(signedByB) }), 401, AUTH_FAILED);

      // The control: the very same construction with A's stored key is accepted.
      const keyA = keyOf(a.orgId);
      expect(keyA).toBeDefined();
      const genuine = await signHs256(claims, opened(keyA), kid);
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

    it('refuses the token of a client disabled after issue, at once and after it is enabled again', async () => {
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
      // Enabling it again does not bring back the tokens issued before: a fresh one is needed.
      expectStatus(await call(t.app, { url, headers: capToken(token) }), 401, AUTH_FAILED);
      const fresh = await tokenFor(t, client);
      expect((await call(t.app, { url, headers: capToken(fresh) })).status).toBe(200);
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
        expectLookupOf(await call(second.app, { url: lookupUrl('id', idC), headers: capToken(tokenC) }), idC);
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
});
