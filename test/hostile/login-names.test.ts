import { beforeAll, expect, it } from 'vitest';
import { create, expectAdminError, unique } from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { basicAuth } from '../helpers/test-app.js';

// Issue 15: till usernames containing ":" were accepted though Basic can never carry them. Usernames
// and API client keys are now 1 to 100 of A-Za-z0-9 . _ - @; anything else is a 400 naming the field.

const REFUSED = [
  'till:one',
  'a b',
  ' lead',
  'tab\tbed',
  'nul\u0000',
  'é',
  'ｔｉｌｌ',
  'a/b',
  'a%3Ab',
  '"q"',
  'x'.repeat(101),
];

describeEachStore('login names', (t) => {
  let orgId: number;

  beforeAll(async () => {
    orgId = (await create(t, '/admin/v1/orgs', { name: unique('names-org') })).id;
  });

  it('refuses a till username or an API key outside the safe set, naming the field, and creates nothing', async () => {
    for (const name of REFUSED) {
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${orgId}/tills`, {
          username: name,
          password: 'pw',
          customerAccess: 'READ',
        }),
        400,
        'invalid_request',
        'username',
      );
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${orgId}/api-clients`, {
          key: name,
          secret: 's',
          customerAccess: 'READ',
        }),
        400,
        'invalid_request',
        'key',
      );
    }
    expect((await t.admin('GET', `/admin/v1/orgs/${orgId}/tills`)).body).toStrictEqual({
      tills: [],
      nextCursor: null,
    });
    expect((await t.admin('GET', `/admin/v1/orgs/${orgId}/api-clients`)).body).toStrictEqual({
      apiClients: [],
      nextCursor: null,
    });
  });

  it('takes every character of the set, and such a till signs in with Basic', async () => {
    const username = `Till.${unique('a_b-c@d')}`.slice(0, 100);
    const created = await t.admin('POST', `/admin/v1/orgs/${orgId}/tills`, {
      username,
      password: 'till-pw',
      customerAccess: 'READ',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = `Key.${unique('a_b-c@d')}`;
    expect(
      (
        await t.admin('POST', `/admin/v1/orgs/${orgId}/api-clients`, {
          key,
          secret: 's',
          customerAccess: 'READ',
        })
      ).status,
    ).toBe(201);
    const res = await t.v2(
      '/v2/promotion/issue?identifierName=id&identifierValue=1&source=INSTORE',
      {},
      basicAuth(username, 'till-pw'),
    );
    // Signed in: refused for its access (a READ till may not issue), not for its name.
    expect(res.status, JSON.stringify(res.body)).toBe(403);
  });
});
