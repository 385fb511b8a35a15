import { beforeAll, describe, expect, it } from 'vitest';
import { adminCalls, create, expectAdminError, unique } from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

describeEachStore('management directory', (t) => {
  const { raw } = adminCalls(t);
  let org: StandardOrg;
  let base: string;

  beforeAll(async () => {
    org = await seedStandardOrg(t, 5);
    base = `/admin/v1/orgs/${org.orgId}`;
  });

  /** Every action of the org's audit log, oldest first. */
  async function actions(): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.admin(
        'GET',
        `/admin/v1/audit?orgId=${org.orgId}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      );
      out.push(...res.body.entries.map((e: { action: string }) => e.action));
      cursor = res.body.nextCursor;
    } while (cursor !== null);
    return out;
  }

  const del = (url: string) =>
    raw({ method: 'DELETE', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  /** Pages through a list with `limit`, adding a record after each page; answers the ids seen. */
  async function pageAll(url: string, plural: string, limit: number, add: () => Promise<unknown>) {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.admin('GET', `${url}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body[plural].map((r: { id: number }) => r.id));
      cursor = res.body.nextCursor;
      // Rows are added while the first pages are read; a list that grows a row a page never ends.
      if (++pages <= 3) await add();
    } while (cursor !== null);
    return seen;
  }

  describe('lists page by key without a gap or a repeat while rows are added', () => {
    it('customers', async () => {
      let n = 0;
      const seen = await pageAll(`${base}/customers`, 'customers', 2, () =>
        create(t, `${base}/customers`, { customers: [{ mobile: `77${Date.now() % 1e8}${n++}` }] }),
      );
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toStrictEqual([...seen].sort((a, b) => a - b));
      const all = await t.admin('GET', `${base}/customers?limit=1000`);
      // Everything that existed before the first page is in the pages; rows added later come after.
      expect(seen).toStrictEqual(all.body.customers.map((c: { id: number }) => c.id).slice(0, seen.length));
      expect(seen.length).toBeGreaterThan(5);
    });

    it('orgs, programs and promotions', async () => {
      const orgs = await pageAll('/admin/v1/orgs', 'orgs', 1, () =>
        create(t, '/admin/v1/orgs', { name: unique('o') }),
      );
      expect(new Set(orgs).size).toBe(orgs.length);
      expect(orgs).toContain(org.orgId);
      const programs = await pageAll(`${base}/programs`, 'programs', 1, () =>
        create(t, `${base}/programs`, { name: unique('p') }),
      );
      expect(programs.slice(0, 2)).toStrictEqual([org.programId, org.otherProgramId]);
      const promotions = await pageAll(`${base}/promotions`, 'promotions', 2, () =>
        create(t, `${base}/promotions`, { programId: org.programId, name: unique('x'), type: 'DIRECT' }),
      );
      expect(new Set(promotions).size).toBe(promotions.length);
      expect(promotions.slice(0, 5)).toStrictEqual(Object.values(org.promotions).sort((a, b) => a - b));
    });

    it('tills page by username, without secrets', async () => {
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.admin('GET', `${base}/tills?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        names.push(...res.body.tills.map((x: { username: string }) => x.username));
        expect(JSON.stringify(res.body)).not.toMatch(/password|secret|hash/i);
        cursor = res.body.nextCursor;
      } while (cursor !== null);
      expect(names).toHaveLength(3);
      expect(names).toStrictEqual([...names].sort());
      const one = await t.admin('GET', `${base}/tills/${names[0]}`);
      expect(one.body.username).toBe(names[0]);
      expectAdminError(await t.admin('GET', `${base}/tills/nobody`), 404, 'not_found');
      expect((await t.admin('GET', `${base}/api-clients`)).body).toStrictEqual({
        apiClients: [],
        nextCursor: null,
      });
    });

    it('tills and API clients, by login name, with names added before and after the cursor', async () => {
      for (const [path, plural, key, body] of [
        [
          'tills',
          'tills',
          'username',
          (name: string) => ({ username: name, password: 'pass-word-1234', customerAccess: 'READ' }),
        ],
        [
          'api-clients',
          'apiClients',
          'key',
          (name: string) => ({ key: name, secret: 'secret-1234567890', customerAccess: 'READ' }),
        ],
      ] as const) {
        const url = `${base}/${path}`;
        for (const name of ['m1', 'm2', 'm3', 'm4']) await create(t, url, body(`${path}-${name}`));
        const before = (await t.admin('GET', `${url}?limit=1000`)).body[plural].map(
          (r: Record<string, string>) => r[key],
        );
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await t.admin('GET', `${url}?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          seen.push(...res.body[plural].map((r: Record<string, string>) => r[key]));
          cursor = res.body.nextCursor;
          // One name sorts before every page read so far, one after: neither may repeat or hide a row.
          pages += 1;
          await create(t, url, body(`${path}-a${pages}`));
          await create(t, url, body(`${path}-z${pages}`));
        } while (cursor !== null);
        expect(new Set(seen).size, path).toBe(seen.length);
        expect(seen, path).toStrictEqual([...seen].sort());
        for (const name of before) expect(seen, path).toContain(name);
        expect(pages, path).toBeGreaterThan(2);
      }
    });

    it('refuses a limit above 1000 and a cursor it never gave', async () => {
      expectAdminError(await t.admin('GET', `${base}/customers?limit=1001`), 400, 'invalid_request', 'limit');
      expectAdminError(
        await t.admin('GET', `${base}/customers?cursor=abc`),
        400,
        'invalid_request',
        'cursor',
      );
      expectAdminError(await t.admin('GET', '/admin/v1/orgs/999999999/customers'), 404, 'not_found');
    });
  });

  it('filters promotions by program, type, state and name', async () => {
    const now = Date.now();
    const day = 86_400_000;
    const program = (await create(t, `${base}/programs`, { name: 'Filters' })).id;
    const make = (name: string, extra: object) =>
      create(t, `${base}/promotions`, { programId: program, name, type: 'ENROL_AND_ISSUE', ...extra });
    const live = await make('Summer Live', {});
    const upcoming = await make('Winter soon', { startDate: new Date(now + day).toISOString() });
    const paused = await make('Paused one', { active: false });
    const ended = await make('Ended summer', { endDate: new Date(now - day).toISOString(), active: false });
    const direct = await make('Direct live', { type: 'DIRECT' });
    const ids = async (query: string) =>
      (await t.admin('GET', `${base}/promotions?programId=${program}&${query}`)).body.promotions.map(
        (p: { id: number }) => p.id,
      );
    expect(await ids('')).toStrictEqual([live.id, upcoming.id, paused.id, ended.id, direct.id]);
    expect(await ids('state=live')).toStrictEqual([live.id, direct.id]);
    expect(await ids('state=upcoming')).toStrictEqual([upcoming.id]);
    expect(await ids('state=paused')).toStrictEqual([paused.id]);
    expect(await ids('state=ended')).toStrictEqual([ended.id]);
    expect(await ids('type=DIRECT_EARN')).toStrictEqual([direct.id]);
    expect(await ids('name=SUMMER')).toStrictEqual([live.id, ended.id]);
    expect(await ids('name=%25')).toStrictEqual([]);
    expectAdminError(await t.admin('GET', `${base}/promotions?state=gone`), 400, 'invalid_request', 'state');
  });

  it('changes names, promotion fields and customers, and refuses what may not change', async () => {
    expect((await t.admin('PATCH', base, { name: 'Renamed' })).body.name).toBe('Renamed');
    expect((await t.admin('GET', base)).body.name).toBe('Renamed');
    expectAdminError(await t.admin('PATCH', base, { name: 'x', id: 5 }), 400, 'invalid_request', 'id');
    const p = `${base}/programs/${org.programId}`;
    expect((await t.admin('PATCH', p, { name: 'Main 2' })).body.name).toBe('Main 2');
    expectAdminError(await t.admin('PATCH', p, { name: 'x', orgId: 1 }), 400, 'invalid_request', 'orgId');
    const promo = `${base}/promotions/${org.promotions.generic}`;
    for (const [field, value] of [
      ['name', 'New name'],
      ['active', false],
      ['startDate', '2026-01-01T00:00:00.000Z'],
      ['endDate', '2036-01-01T00:00:00.000Z'],
      ['maxIssualsPerCustomer', 4],
      ['maxEarnsPerCustomer', 2],
    ] as const) {
      const res = await t.admin('PATCH', promo, { [field]: value });
      expect(res.status).toBe(200);
      expect(res.body[field]).toStrictEqual(value);
    }
    expectAdminError(
      await t.admin('PATCH', promo, { programId: org.otherProgramId }),
      400,
      'invalid_request',
      'programId',
    );
    expectAdminError(await t.admin('PATCH', promo, { id: 1 }), 400, 'invalid_request', 'id');

    const [first, second] = org.customers as [StandardOrg['customers'][0], StandardOrg['customers'][0]];
    const c = `${base}/customers/${first.id}`;
    const patched = await t.admin('PATCH', c, {
      mobile: '+91 (555) 000-1111',
      email: ' New@Example.COM ',
      externalId: 'ext-1',
      sources: ['web_engage', 'INSTORE'],
      programIds: [org.programId, org.otherProgramId],
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({
      id: first.id,
      mobile: '915550001111',
      email: 'new@example.com',
      externalId: 'ext-1',
      sources: ['INSTORE', 'WEB_ENGAGE'],
      programIds: [org.programId, org.otherProgramId].sort((a, b) => a - b),
    });
    const cleared = await t.admin('PATCH', c, { externalId: null });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
    expect(cleared.body.externalId).toBeNull();
    expectAdminError(await t.admin('PATCH', c, { mobile: second.mobile }), 409, 'conflict', 'mobile');
    expectAdminError(await t.admin('PATCH', c, { programIds: [999999999] }), 404, 'not_found', 'programIds');
    expectAdminError(await t.admin('PATCH', c, { sources: ['NOPE'] }), 400, 'invalid_request', 'sources[0]');
    expectAdminError(await t.admin('PATCH', c, { id: 3 }), 400, 'invalid_request', 'id');
    expectAdminError(await t.admin('PATCH', c, { createdAt: 'x' }), 400, 'invalid_request', 'createdAt');
    expectAdminError(
      await t.admin('PATCH', `${base}/customers/999999999`, { email: 'a@b.c' }),
      404,
      'not_found',
    );
    // Every change is in the audit log.
    const logged = await actions();
    expect(logged).toContain('PATCH /admin/v1/orgs/:orgId/customers/:customerId');
    expect(logged).toContain('PATCH /admin/v1/orgs/:orgId');
  });

  it('searches customers as the API compares identifiers, with their rewards', async () => {
    const customer = org.customers[2] as StandardOrg['customers'][0];
    const enrol = await t.v2(
      BULK_URL,
      bulkBody('ENROL', org.programId, { promotionId: org.promotions.enrolAndIssue }, 'id', [
        [String(customer.id), 'INSTORE'],
      ]),
      org.auth.write,
    );
    expect(enrol.status).toBe(200);
    const earn = await t.v2(
      BULK_URL,
      bulkBody('EARN', org.programId, { promotionId: org.promotions.enrolAndIssue }, 'id', [
        [String(customer.id), 'INSTORE'],
      ]),
      org.auth.write,
    );
    expect(earn.status).toBe(200);
    const mobile = `+${customer.mobile.slice(0, 2)} ${customer.mobile.slice(2)}`;
    for (const query of [
      `id=${customer.id}`,
      `mobile=${encodeURIComponent(mobile)}`,
      `email=${encodeURIComponent(` ${customer.email.toUpperCase()} `)}`,
    ]) {
      const res = await t.admin('GET', `${base}/customers/search?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.customers).toHaveLength(1);
      const found = res.body.customers[0];
      expect(found).toMatchObject({ id: customer.id, sources: ['INSTORE'], programIds: [org.programId] });
      expect(found.promotions).toStrictEqual([
        {
          promotionId: org.promotions.enrolAndIssue,
          issuals: [
            expect.objectContaining({
              issualId: enrol.body.response[0].result.issualId,
              revoked: false,
              earns: [
                expect.objectContaining({ earnedId: earn.body.response[0].result.earnedId, revoked: false }),
              ],
            }),
          ],
        },
      ]);
    }
    expect((await t.admin('GET', `${base}/customers/search?mobile=000`)).body).toStrictEqual({
      customers: [],
      nextCursor: null,
    });
    expectAdminError(await t.admin('GET', `${base}/customers/search`), 400, 'invalid_request', 'id');
  });

  it('soft-deletes a customer: the API no longer finds it, its rewards stay in the report', async () => {
    const customer = org.customers[3] as StandardOrg['customers'][0];
    const promotionId = org.promotions.enrolAndIssue;
    const enrol = (by: 'id' | 'mobile', value: string) =>
      t.v2(
        BULK_URL,
        bulkBody('ENROL', org.programId, { promotionId }, by, [[value, 'INSTORE']]),
        org.auth.write,
      );
    const enrolled = await enrol('id', String(customer.id));
    expect(enrolled.body.response[0].errors).toStrictEqual([]);
    const issualId = enrolled.body.response[0].result.issualId;

    const removed = await del(`${base}/customers/${customer.id}`);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body.deletedAt).toEqual(expect.any(String));

    for (const [by, value] of [
      ['id', String(customer.id)],
      ['mobile', customer.mobile],
    ] as const) {
      const res = await enrol(by, value);
      expect(res.body.response[0].errors[0].code).toBe(8015);
    }
    const report = await t.admin('GET', `${base}/promotions/${promotionId}/issuals?limit=1000`);
    expect(report.body.issuals.map((i: { issualId: string }) => i.issualId)).toContain(issualId);
    const shown = await t.admin('GET', `${base}/customers/${customer.id}`);
    expect(shown.body.deletedAt).toBe(removed.body.deletedAt);
    expect(shown.body.promotions[0].issuals[0].issualId).toBe(issualId);
    const listed = await t.admin('GET', `${base}/customers?limit=1000`);
    expect(listed.body.customers.map((c: { id: number }) => c.id)).not.toContain(customer.id);
    expect(
      (await t.admin('GET', `${base}/customers/search?mobile=${customer.mobile}`)).body.customers,
    ).toStrictEqual([]);
    // The identifiers are free again; the id is not.
    const reused = await t.admin('POST', `${base}/customers`, { customers: [{ mobile: customer.mobile }] });
    expect(reused.status).toBe(201);
    expectAdminError(await del(`${base}/customers/${customer.id}`), 404, 'not_found');
    expect(await actions()).toContain('DELETE /admin/v1/orgs/:orgId/customers/:customerId');
  });

  it('counts a promotion from its counters, in all and per day', async () => {
    const promo = await create(t, `${base}/promotions`, {
      programId: org.programId,
      name: unique('c'),
      type: 'ENROL_AND_ISSUE',
      maxEarnsPerCustomer: null,
    });
    const ids = org.customers.slice(0, 2).map((c) => [String(c.id), 'INSTORE'] as [string, string]);
    const send = (action: 'ENROL' | 'EARN', url = BULK_URL) =>
      t.v2(url, bulkBody(action, org.programId, { promotionId: promo.id }, 'id', ids), org.auth.write);
    expect((await send('ENROL')).status).toBe(200);
    expect((await send('EARN')).status).toBe(200);
    expect((await send('EARN')).status).toBe(200);
    // The revoke page: a customer's earns are revoked before its enrolment can be.
    for (const bulkAction of ['REVOKE_EARN', 'REVOKE_ENROL']) {
      const revoke = await t.v2(
        '/v2/promotion/bulk/revokeEnrolAndEarn',
        {
          ...bulkBody('ENROL', org.programId, { promotionId: promo.id }, 'id', ids.slice(0, 1)),
          bulkAction,
        },
        org.auth.write,
      );
      expect(revoke.status, JSON.stringify(revoke.body)).toBe(200);
    }
    const today = new Date().toISOString().slice(0, 10);
    const counts = await t.admin('GET', `${base}/promotions/${promo.id}/counts?from=${today}&to=${today}`);
    expect(counts.status, JSON.stringify(counts.body)).toBe(200);
    expect(counts.body).toStrictEqual({
      promotionId: promo.id,
      enrolled: 1,
      earned: 2,
      revokedIssuals: 1,
      revokedEarns: 2,
      uniqueCustomers: 2,
      days: [{ date: today, issuals: 2, earns: 4, revokedIssuals: 1, revokedEarns: 2, newCustomers: 2 }],
    });
    expectAdminError(
      await t.admin('GET', `${base}/promotions/${promo.id}/counts?from=2026-02-30`),
      400,
      'invalid_request',
      'from',
    );
    expectAdminError(await t.admin('GET', `${base}/promotions/999999999/counts`), 404, 'not_found');
  });
});
