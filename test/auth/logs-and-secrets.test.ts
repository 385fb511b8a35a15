import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, startLoggedTestApp } from '../helpers/auth-apps.js';
import {
  basic,
  bearer,
  capToken,
  type Endpoint,
  endpoints,
  expectAdmitted,
  generate,
  lookupUrl,
  md5,
  newClient,
  newTill,
  send,
  signHs256,
  TOKEN_URL,
  unique,
} from '../helpers/auth-cases.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN, basicAuth } from '../helpers/test-app.js';

describeEachStore('authentication and access', (t, kind) => {
  let a: StandardOrg;
  let b: StandardOrg;

  beforeAll(async () => {
    a = await seedStandardOrg(t);
    b = await seedStandardOrg(t);
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
