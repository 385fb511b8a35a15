import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { adminCalls, expectAdminError, unique } from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { ADMIN_TOKEN, startTestApp } from '../helpers/test-app.js';

describeEachStore('management API', (t, kind) => {
  const { raw } = adminCalls(t);

  describe('authentication', () => {
    const body = JSON.stringify({ name: 'Nope' });
    const json = { 'content-type': 'application/json' };

    it('answers 401 without a token', async () => {
      const res = await raw({ method: 'POST', url: '/admin/v1/orgs', headers: json, payload: body });
      expectAdminError(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('answers 401 with a wrong token, a token of another scheme, or a prefix of the token', async () => {
      for (const authorization of [
        'Bearer wrong-token',
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
        `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`,
        ADMIN_TOKEN,
        'Bearer ',
      ]) {
        const res = await raw({
          method: 'POST',
          url: '/admin/v1/orgs',
          headers: { ...json, authorization },
          payload: body,
        });
        expectAdminError(res, 401, 'unauthorized');
      }
    });

    it('answers 401 on every route, before looking at the body or the content type', async () => {
      const requests: InjectOptions[] = [
        { method: 'POST', url: '/admin/v1/orgs', headers: json, payload: '{not json' },
        { method: 'POST', url: '/admin/v1/orgs', headers: { 'content-type': 'text/plain' }, payload: 'x' },
        { method: 'POST', url: '/admin/v1/orgs/1/programs', headers: json, payload: body },
        { method: 'POST', url: '/admin/v1/orgs/1/promotions', headers: json, payload: body },
        { method: 'GET', url: '/admin/v1/orgs/1/promotions/1' },
        { method: 'PATCH', url: '/admin/v1/orgs/1/promotions/1', headers: json, payload: body },
        { method: 'POST', url: '/admin/v1/orgs/1/customers', headers: json, payload: body },
        { method: 'POST', url: '/admin/v1/orgs/1/tills', headers: json, payload: body },
        { method: 'POST', url: '/admin/v1/orgs/1/api-clients', headers: json, payload: body },
        { method: 'GET', url: '/admin/v1/orgs/1/promotions/1/issuals' },
      ];
      for (const request of requests) {
        // From an address of its own: ten wrong tokens are the admin throttle's budget for one address,
        // and the calls of the tests after this one come from the default address.
        const res = await raw({
          ...request,
          remoteAddress: '127.0.0.9',
          headers: { ...(request.headers as object), authorization: 'Bearer wrong' },
        });
        expectAdminError(res, 401, 'unauthorized');
      }
    });

    it('nothing is written by a refused call', async () => {
      const name = unique('refused');
      await raw({
        method: 'POST',
        url: '/admin/v1/orgs',
        headers: { ...json, authorization: 'Bearer wrong' },
        payload: JSON.stringify({ name }),
      });
      const row = await t.testStore.store.db
        .selectFrom('orgs')
        .select('org_id')
        .where('name', '=', name)
        .executeTakeFirst();
      expect(row).toBeUndefined();
    });

    it('answers 401 to everything, the right-looking token included, when no admin token is configured', async () => {
      const off = await startTestApp(kind, { config: { adminToken: undefined } });
      try {
        for (const authorization of [undefined, `Bearer ${ADMIN_TOKEN}`, 'Bearer ', 'Bearer undefined']) {
          const res = await off.app.inject({
            method: 'POST',
            url: '/admin/v1/orgs',
            headers: { ...json, ...(authorization === undefined ? {} : { authorization }) },
            payload: body,
          });
          expectAdminError(
            { status: res.statusCode, body: res.json(), headers: res.headers },
            401,
            'unauthorized',
          );
        }
        const get = await off.admin('GET', '/admin/v1/orgs/1/promotions/1/issuals');
        expectAdminError(get, 401, 'unauthorized');
        const orgs = await off.testStore.store.db.selectFrom('orgs').select('org_id').execute();
        expect(orgs).toEqual([]);
      } finally {
        await off.close();
      }
    });

    it('also refuses when the configured token is the empty string', async () => {
      const off = await startTestApp(kind, { config: { adminToken: '' } });
      try {
        const res = await off.app.inject({
          method: 'POST',
          url: '/admin/v1/orgs',
          headers: { ...json, authorization: 'Bearer ' },
          payload: body,
        });
        expect(res.statusCode).toBe(401);
      } finally {
        await off.close();
      }
    });
  });

  describe('content type and body', () => {
    it('answers 415 for a non-JSON content type, and for none', async () => {
      for (const headers of [
        { 'content-type': 'text/plain' },
        { 'content-type': 'application/x-www-form-urlencoded' },
        { 'content-type': 'application/jsonx' },
        {},
      ]) {
        const res = await raw({
          method: 'POST',
          url: '/admin/v1/orgs',
          headers: { ...headers, authorization: `Bearer ${ADMIN_TOKEN}` },
          payload: JSON.stringify({ name: 'x' }),
        });
        expectAdminError(res, 415, 'unsupported_media_type');
      }
    });

    it('answers 415 on PATCH with a non-JSON content type', async () => {
      const res = await raw({
        method: 'PATCH',
        url: '/admin/v1/orgs/1/promotions/1',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: '{"name":"x"}',
      });
      expectAdminError(res, 415, 'unsupported_media_type');
    });

    it('accepts application/json with a charset', async () => {
      const res = await raw({
        method: 'POST',
        url: '/admin/v1/orgs',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          authorization: `Bearer ${ADMIN_TOKEN}`,
        },
        payload: JSON.stringify({ name: unique('charset') }),
      });
      expect(res.status).toBe(201);
    });

    it('answers 400 for a body that is not JSON, or empty', async () => {
      for (const payload of ['{"name": ', 'name=x', '']) {
        const res = await raw({
          method: 'POST',
          url: '/admin/v1/orgs',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          payload,
        });
        expectAdminError(res, 400, 'invalid_request');
      }
    });

    it('answers 400 naming the body when it is not an object', async () => {
      for (const body of [[], 'org', 42, null]) {
        const res = await t.admin('POST', '/admin/v1/orgs', body);
        expectAdminError(res, 400, 'invalid_request', 'body');
      }
    });

    it('answers 400 naming the path parameter when an org id is not a positive integer', async () => {
      for (const orgId of ['abc', '0', '-1', '1.5']) {
        const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/programs`, { name: 'x' });
        expectAdminError(res, 400, 'invalid_request', 'orgId');
      }
      const res = await t.admin('GET', '/admin/v1/orgs/1/promotions/abc');
      expectAdminError(res, 400, 'invalid_request', 'promotionId');
    });
  });
});
