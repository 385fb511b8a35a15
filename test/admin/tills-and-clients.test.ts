import { describe, expect, it } from 'vitest';
import {
  adminCalls,
  countRows,
  create,
  expectAdminError,
  explicitId,
  ISO,
  unique,
} from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody } from '../helpers/fixtures.js';
import { basicAuth, md5 } from '../helpers/test-app.js';

describeEachStore('management API', (t) => {
  const { newOrg, orgWithProgram } = adminCalls(t);

  describe('tills and API clients', () => {
    it('creates a till, never answers its password, and keeps only a scrypt hash of md5(password)', async () => {
      const { orgId, base } = await orgWithProgram();
      const username = unique('till');
      const password = `secret-${unique('pw')}`;
      const res = await t.admin('POST', `${base}/tills`, { username, password, customerAccess: 'WRITE' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        orgId,
        username,
        customerAccess: 'WRITE',
        disabled: false,
        createdAt: expect.stringMatching(ISO),
      });
      for (const key of ['password', 'secret', 'secretHash', 'secret_hash'])
        expect(res.body).not.toHaveProperty(key);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(password);
      expect(text).not.toContain(md5(password));
      expect(text).not.toContain('scrypt');
      const row = await t.testStore.store.db
        .selectFrom('tills')
        .selectAll()
        .where('username', '=', username)
        .executeTakeFirstOrThrow();
      expect(Number(row.org_id)).toBe(orgId);
      expect(row.customer_access).toBe('WRITE');
      expect(row.secret_hash.startsWith('scrypt$')).toBe(true);
      expect(row.secret_hash).not.toContain(password);
      expect(row.secret_hash).not.toContain(md5(password));
      expect(row.secret_hash).not.toContain(Buffer.from(md5(password)).toString('base64'));
    });

    it('a till created through the API calls the bulk endpoint with username:md5hex(password)', async () => {
      const { programId, base } = await orgWithProgram();
      const promo = await create(t, `${base}/promotions`, {
        programId,
        name: 'p',
        type: 'LOYALTY_EARNING',
      });
      const [customer] = (await create(t, `${base}/customers`, { customers: [{ programIds: [programId] }] }))
        .customers;
      const username = unique('till');
      const password = 'p@ss:word with spaces';
      await create(t, `${base}/tills`, { username, password, customerAccess: 'WRITE' });
      const body = bulkBody('ENROL', programId, { promotionId: promo.id }, 'id', [
        [String(customer.id), 'INSTORE'],
      ]);

      const ok = await t.v2(BULK_URL, body, basicAuth(username, password));
      expect(ok.status).toBe(200);
      expect(ok.body.response[0]).toEqual({
        result: {
          entityType: 'CUSTOMER',
          entityId: customer.id,
          promotionId: promo.id,
          programId,
          issualId: expect.stringMatching(/^\d+$/),
        },
        errors: [],
        warnings: [],
      });

      // The plain password is not what a till sends.
      const plain = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      const refused = await t.v2(BULK_URL, body, plain);
      expect(refused.status).toBe(401);
      const wrong = await t.v2(BULK_URL, body, basicAuth(username, 'other'));
      expect(wrong.status).toBe(401);
    });

    it('a till of access READ or NONE gets 403 on the bulk endpoint', async () => {
      const { programId, base } = await orgWithProgram();
      const promo = await create(t, `${base}/promotions`, { programId, name: 'p', type: 'DIRECT' });
      for (const customerAccess of ['READ', 'NONE']) {
        const username = unique('till');
        const res = await t.admin('POST', `${base}/tills`, { username, password: 'pw', customerAccess });
        expect(res.status).toBe(201);
        expect(res.body.customerAccess).toBe(customerAccess);
        const call = await t.v2(
          BULK_URL,
          bulkBody('EARN', programId, { promotionId: promo.id }, 'id', [['1', 'INSTORE']]),
          basicAuth(username, 'pw'),
        );
        expect(call.status).toBe(403);
      }
    });

    it('answers 409 for a till username held in this or another org', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      const username = unique('till');
      await create(t, `${a.base}/tills`, { username, password: 'one', customerAccess: 'WRITE' });
      for (const base of [a.base, b.base]) {
        expectAdminError(
          await t.admin('POST', `${base}/tills`, { username, password: 'two', customerAccess: 'READ' }),
          409,
          'conflict',
          'username',
        );
      }
      expect(await countRows(t, 'tills', b.orgId)).toBe(0);
    });

    it('concurrent creations of one till username in several orgs leave exactly one till', async () => {
      const orgs = await Promise.all(Array.from({ length: 4 }, () => newOrg()));
      const username = unique('race');
      const answers = await Promise.all(
        orgs.map((orgId) =>
          t.admin('POST', `/admin/v1/orgs/${orgId}/tills`, {
            username,
            password: 'pw',
            customerAccess: 'WRITE',
          }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
      const rows = await t.testStore.store.db
        .selectFrom('tills')
        .select('org_id')
        .where('username', '=', username)
        .execute();
      expect(rows).toHaveLength(1);
    });

    it('concurrent creations of one explicit program id in several orgs leave exactly one program', async () => {
      const orgs = await Promise.all(Array.from({ length: 4 }, () => newOrg()));
      const id = explicitId();
      const answers = await Promise.all(
        orgs.map((orgId) => t.admin('POST', `/admin/v1/orgs/${orgId}/programs`, { id, name: 'race' })),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
      const rows = await t.testStore.store.db
        .selectFrom('programs')
        .select('org_id')
        .where('id', '=', id)
        .execute();
      expect(rows).toHaveLength(1);
    });

    it('lists tills and API clients without any secret', async () => {
      const { base } = await orgWithProgram();
      const password = unique('listed-pw');
      const secret = unique('listed-secret');
      await create(t, `${base}/tills`, { username: unique('till'), password, customerAccess: 'WRITE' });
      await create(t, `${base}/api-clients`, { key: unique('client'), secret, customerAccess: 'WRITE' });
      for (const [path, words] of [
        ['tills', [password, md5(password)]],
        ['api-clients', [secret]],
      ] as const) {
        const res = await t.admin('GET', `${base}/${path}`);
        expect(res.status).toBe(200);
        const text = JSON.stringify(res.body);
        for (const word of [...words, 'scrypt', 'secretHash', 'secret_hash'])
          expect(text).not.toContain(word);
      }
    });

    it('answers 404 for a till or an API client of a missing org', async () => {
      const org = explicitId();
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${org}/tills`, {
          username: unique('till'),
          password: 'pw',
          customerAccess: 'WRITE',
        }),
        404,
        'not_found',
      );
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${org}/api-clients`, {
          key: unique('client'),
          secret: 'pw',
          customerAccess: 'WRITE',
        }),
        404,
        'not_found',
      );
    });

    it('answers 400 naming the field for a malformed till', async () => {
      const { base } = await orgWithProgram();
      const ok = { username: unique('till'), password: 'pw', customerAccess: 'WRITE' };
      const cases: [Record<string, unknown>, string][] = [
        [{ password: 'pw', customerAccess: 'WRITE' }, 'username'],
        [{ ...ok, username: '' }, 'username'],
        [{ ...ok, username: 5 }, 'username'],
        [{ username: ok.username, customerAccess: 'WRITE' }, 'password'],
        [{ ...ok, password: 123 }, 'password'],
        [{ username: ok.username, password: 'pw' }, 'customerAccess'],
        [{ ...ok, customerAccess: 'ADMIN' }, 'customerAccess'],
        [{ ...ok, customerAccess: 'write' }, 'customerAccess'],
        [{ ...ok, customerAccess: 2 }, 'customerAccess'],
        [{ ...ok, orgId: 1 }, 'orgId'],
        [{ ...ok, tokenTtlSeconds: 300 }, 'tokenTtlSeconds'],
      ];
      for (const [body, field] of cases) {
        expectAdminError(await t.admin('POST', `${base}/tills`, body), 400, 'invalid_request', field);
      }
    });

    it('creates an API client with the default TTL, never answering or storing its secret', async () => {
      const { orgId, base } = await orgWithProgram();
      const key = unique('client');
      const secret = `client-secret-${unique('s')}`;
      const res = await t.admin('POST', `${base}/api-clients`, { key, secret, customerAccess: 'READ' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        orgId,
        key,
        customerAccess: 'READ',
        tokenTtlSeconds: 300,
        disabled: false,
        createdAt: expect.stringMatching(ISO),
      });
      for (const k of ['secret', 'password', 'secretHash', 'secret_hash'])
        expect(res.body).not.toHaveProperty(k);
      expect(JSON.stringify(res.body)).not.toContain(secret);
      expect(JSON.stringify(res.body)).not.toContain('scrypt');
      const row = await t.testStore.store.db
        .selectFrom('api_clients')
        .selectAll()
        .where('client_key', '=', key)
        .executeTakeFirstOrThrow();
      expect(row.secret_hash.startsWith('scrypt$')).toBe(true);
      expect(row.secret_hash).not.toContain(secret);
      expect(row.secret_hash).not.toContain(md5(secret));
      expect(Number(row.token_ttl_seconds)).toBe(300);

      const ttl = await t.admin('POST', `${base}/api-clients`, {
        key: unique('client'),
        secret,
        customerAccess: 'WRITE',
        tokenTtlSeconds: 3600,
      });
      expect(ttl.status).toBe(201);
      expect(ttl.body.tokenTtlSeconds).toBe(3600);
    });

    it('answers 409 for an API client key held in this or another org, and 400 for malformed ones', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      const key = unique('client');
      await create(t, `${a.base}/api-clients`, { key, secret: 's', customerAccess: 'WRITE' });
      for (const base of [a.base, b.base]) {
        expectAdminError(
          await t.admin('POST', `${base}/api-clients`, { key, secret: 's2', customerAccess: 'WRITE' }),
          409,
          'conflict',
          'key',
        );
      }
      const ok = { key: unique('client'), secret: 's', customerAccess: 'WRITE' };
      const cases: [Record<string, unknown>, string][] = [
        [{ secret: 's', customerAccess: 'WRITE' }, 'key'],
        [{ key: ok.key, customerAccess: 'WRITE' }, 'secret'],
        [{ ...ok, customerAccess: 'ALL' }, 'customerAccess'],
        [{ ...ok, tokenTtlSeconds: 'long' }, 'tokenTtlSeconds'],
        [{ ...ok, tokenTtlSeconds: 0 }, 'tokenTtlSeconds'],
        [{ ...ok, password: 's' }, 'password'],
      ];
      for (const [body, field] of cases) {
        expectAdminError(await t.admin('POST', `${a.base}/api-clients`, body), 400, 'invalid_request', field);
      }
    });
  });
});
