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
import { basicAuth } from '../helpers/test-app.js';

describeEachStore('management API', (t) => {
  const { newProgram, orgWithProgram } = adminCalls(t);

  describe('promotions', () => {
    it('creates a promotion with the documented defaults', async () => {
      const { programId, base } = await orgWithProgram();
      const res = await t.admin('POST', `${base}/promotions`, {
        programId,
        name: 'Plain',
        type: 'GENERIC',
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        programId,
        promoIdentifier: null,
        name: 'Plain',
        type: 'GENERIC',
        active: true,
        startDate: null,
        endDate: null,
        maxIssualsPerCustomer: 1,
        maxEarnsPerCustomer: null,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      });
    });

    it('creates a promotion with every field given', async () => {
      const { programId, base } = await orgWithProgram();
      const id = explicitId();
      const body = {
        id,
        programId: String(programId),
        promoIdentifier: unique('PROMO'),
        name: 'Full',
        type: 'DIRECT',
        active: false,
        startDate: '2026-01-01T00:00:00+05:30',
        endDate: '2026-12-31T23:59:59Z',
        maxIssualsPerCustomer: 3,
        maxEarnsPerCustomer: '7',
      };
      const res = await t.admin('POST', `${base}/promotions`, body);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id,
        programId,
        promoIdentifier: body.promoIdentifier,
        name: 'Full',
        type: 'DIRECT',
        active: false,
        startDate: '2025-12-31T18:30:00.000Z',
        endDate: '2026-12-31T23:59:59.000Z',
        maxIssualsPerCustomer: 3,
        maxEarnsPerCustomer: 7,
      });
    });

    it('takes null limits as unlimited', async () => {
      const { programId, base } = await orgWithProgram();
      const res = await t.admin('POST', `${base}/promotions`, {
        programId,
        name: 'Unlimited',
        type: 'ENROL_AND_ISSUE',
        maxIssualsPerCustomer: null,
        maxEarnsPerCustomer: null,
      });
      expect(res.status).toBe(201);
      expect(res.body.maxIssualsPerCustomer).toBeNull();
      expect(res.body.maxEarnsPerCustomer).toBeNull();
    });

    it('stores type aliases as the canonical type', async () => {
      const { orgId, programId, base } = await orgWithProgram();
      const cases: [string, string][] = [
        ['ENROL_AND_ISSUE', 'ENROL_AND_ISSUE'],
        ['LOYALTY_EARNING', 'ENROL_AND_ISSUE'],
        ['ISSUE_AND_EARN', 'ENROL_AND_ISSUE'],
        ['DIRECT', 'DIRECT'],
        ['LOYALTY', 'DIRECT'],
        ['DIRECT_EARN', 'DIRECT'],
        ['GENERIC', 'GENERIC'],
      ];
      for (const [type, canonical] of cases) {
        const made = await t.admin('POST', `${base}/promotions`, { programId, name: type, type });
        expect(made.status).toBe(201);
        expect(made.body.type).toBe(canonical);
        const got = await t.admin('GET', `${base}/promotions/${made.body.id}`);
        expect(got.body.type).toBe(canonical);
        const row = await t.testStore.store.db
          .selectFrom('promotions')
          .select('type')
          .where('org_id', '=', orgId)
          .where('id', '=', made.body.id)
          .executeTakeFirstOrThrow();
        expect(row.type).toBe(canonical);
      }
    });

    it('answers 409 for a promotion id held in this or another org', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      const id = explicitId();
      await create(t, `${a.base}/promotions`, { id, programId: a.programId, name: 'A', type: 'DIRECT' });
      expectAdminError(
        await t.admin('POST', `${a.base}/promotions`, {
          id,
          programId: a.programId,
          name: 'A2',
          type: 'DIRECT',
        }),
        409,
        'conflict',
        'id',
      );
      expectAdminError(
        await t.admin('POST', `${b.base}/promotions`, {
          id,
          programId: b.programId,
          name: 'B',
          type: 'DIRECT',
        }),
        409,
        'conflict',
        'id',
      );
      expect(await countRows(t, 'promotions', b.orgId)).toBe(0);
    });

    it('answers 409 for a promoIdentifier taken in the org, but lets another org use it', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      const otherProgram = await newProgram(a.orgId);
      const promoIdentifier = unique('SHARED');
      await create(t, `${a.base}/promotions`, {
        programId: a.programId,
        promoIdentifier,
        name: 'A',
        type: 'DIRECT',
      });
      // Unique within the org, whatever the program.
      expectAdminError(
        await t.admin('POST', `${a.base}/promotions`, {
          programId: otherProgram,
          promoIdentifier,
          name: 'A2',
          type: 'DIRECT',
        }),
        409,
        'conflict',
        'promoIdentifier',
      );
      const res = await t.admin('POST', `${b.base}/promotions`, {
        programId: b.programId,
        promoIdentifier,
        name: 'B',
        type: 'DIRECT',
      });
      expect(res.status).toBe(201);
      expect(res.body.promoIdentifier).toBe(promoIdentifier);
    });

    it('never assigns an id that an explicit promotion holds', async () => {
      const { programId, base } = await orgWithProgram();
      const promo = async (extra: Record<string, unknown> = {}) =>
        (await create(t, `${base}/promotions`, { programId, name: 'p', type: 'GENERIC', ...extra })).id;
      const first = await promo();
      const explicit = [first + 1, first + 2];
      for (const id of explicit) await promo({ id });
      const assigned: number[] = [];
      for (let i = 0; i < 3; i++) assigned.push(await promo());
      for (const id of assigned) expect([first, ...explicit]).not.toContain(id);
      expect(new Set(assigned).size).toBe(3);
    });

    it('answers 404 for a missing org, a missing program, or a program of another org', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${explicitId()}/promotions`, {
          programId: a.programId,
          name: 'x',
          type: 'DIRECT',
        }),
        404,
        'not_found',
      );
      expectAdminError(
        await t.admin('POST', `${a.base}/promotions`, {
          programId: explicitId(),
          name: 'x',
          type: 'DIRECT',
        }),
        404,
        'not_found',
        'programId',
      );
      expectAdminError(
        await t.admin('POST', `${a.base}/promotions`, {
          programId: b.programId,
          name: 'x',
          type: 'DIRECT',
        }),
        404,
        'not_found',
        'programId',
      );
      expect(await countRows(t, 'promotions', a.orgId)).toBe(0);
    });

    it('answers 400 naming the field for a malformed promotion', async () => {
      const { orgId, programId, base } = await orgWithProgram();
      const ok = { programId, name: 'ok', type: 'DIRECT' };
      const cases: [Record<string, unknown>, string][] = [
        [{ name: 'x', type: 'DIRECT' }, 'programId'],
        [{ ...ok, programId: 'abc' }, 'programId'],
        [{ ...ok, programId: -1 }, 'programId'],
        [{ programId, type: 'DIRECT' }, 'name'],
        [{ ...ok, name: 5 }, 'name'],
        [{ programId, name: 'x' }, 'type'],
        [{ ...ok, type: 'BOGUS' }, 'type'],
        [{ ...ok, type: 7 }, 'type'],
        [{ ...ok, type: '' }, 'type'],
        [{ ...ok, active: 'true' }, 'active'],
        [{ ...ok, active: 1 }, 'active'],
        [{ ...ok, promoIdentifier: 42 }, 'promoIdentifier'],
        [{ ...ok, promoIdentifier: '' }, 'promoIdentifier'],
        [{ ...ok, maxIssualsPerCustomer: 0 }, 'maxIssualsPerCustomer'],
        [{ ...ok, maxIssualsPerCustomer: -2 }, 'maxIssualsPerCustomer'],
        [{ ...ok, maxIssualsPerCustomer: 1.5 }, 'maxIssualsPerCustomer'],
        [{ ...ok, maxEarnsPerCustomer: 'many' }, 'maxEarnsPerCustomer'],
        [{ ...ok, id: 'x' }, 'id'],
        [{ ...ok, id: null }, 'id'],
        [{ ...ok, colour: 'red' }, 'colour'],
        [{ ...ok, promotionId: 5 }, 'promotionId'],
      ];
      for (const [body, field] of cases) {
        expectAdminError(await t.admin('POST', `${base}/promotions`, body), 400, 'invalid_request', field);
      }
      expect(await countRows(t, 'promotions', orgId)).toBe(0);
    });

    it('answers 400 naming the field for dates that are not ISO 8601 date-times with an offset', async () => {
      const { programId, base } = await orgWithProgram();
      const ok = { programId, name: 'dates', type: 'DIRECT' };
      const bad = [
        '2026-01-01',
        '2026-01-01T00:00:00',
        '2026-01-01 00:00:00Z',
        'tomorrow',
        '',
        '2026-13-01T00:00:00Z',
        '2026-01-01T25:00:00Z',
        1767225600000,
        true,
      ];
      for (const value of bad) {
        expectAdminError(
          await t.admin('POST', `${base}/promotions`, { ...ok, startDate: value }),
          400,
          'invalid_request',
          'startDate',
        );
        expectAdminError(
          await t.admin('POST', `${base}/promotions`, { ...ok, endDate: value }),
          400,
          'invalid_request',
          'endDate',
        );
      }
    });

    it('answers 400 for a calendar date that does not exist', async () => {
      const { programId, base } = await orgWithProgram();
      for (const value of ['2026-02-30T00:00:00Z', '2026-04-31T10:00:00+05:30']) {
        const res = await t.admin('POST', `${base}/promotions`, {
          programId,
          name: 'no such day',
          type: 'DIRECT',
          startDate: value,
        });
        expectAdminError(res, 400, 'invalid_request', 'startDate');
      }
    });

    it('answers 400 naming endDate when it is before startDate, and takes equal ends', async () => {
      const { programId, base } = await orgWithProgram();
      const res = await t.admin('POST', `${base}/promotions`, {
        programId,
        name: 'backwards',
        type: 'DIRECT',
        startDate: '2026-06-01T00:00:00Z',
        endDate: '2026-05-31T23:59:59Z',
      });
      expectAdminError(res, 400, 'invalid_request', 'endDate');
      // The same instant written with another offset is not "before".
      const same = await t.admin('POST', `${base}/promotions`, {
        programId,
        name: 'one instant',
        type: 'DIRECT',
        startDate: '2026-06-01T05:30:00+05:30',
        endDate: '2026-06-01T00:00:00Z',
      });
      expect(same.status).toBe(201);
    });

    describe('GET and PATCH', () => {
      it('GET answers the promotion as created', async () => {
        const { programId, base } = await orgWithProgram();
        const made = await create(t, `${base}/promotions`, {
          programId,
          name: 'Readable',
          type: 'LOYALTY',
          promoIdentifier: unique('READ'),
          maxEarnsPerCustomer: 4,
        });
        const res = await t.admin('GET', `${base}/promotions/${made.id}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(made);
      });

      it('GET answers 404 for a missing promotion, another org’s promotion, or a missing org', async () => {
        const a = await orgWithProgram();
        const b = await orgWithProgram();
        const promo = await create(t, `${a.base}/promotions`, {
          programId: a.programId,
          name: 'A',
          type: 'DIRECT',
        });
        expectAdminError(await t.admin('GET', `${a.base}/promotions/${explicitId()}`), 404, 'not_found');
        expectAdminError(await t.admin('GET', `${b.base}/promotions/${promo.id}`), 404, 'not_found');
        expectAdminError(
          await t.admin('GET', `/admin/v1/orgs/${explicitId()}/promotions/${promo.id}`),
          404,
          'not_found',
        );
      });

      it('PATCH changes the given fields only, and GET shows the change', async () => {
        const { programId, base } = await orgWithProgram();
        const made = await create(t, `${base}/promotions`, {
          programId,
          name: 'Before',
          type: 'ENROL_AND_ISSUE',
          promoIdentifier: unique('PATCH'),
          maxEarnsPerCustomer: 2,
        });
        const newIdentifier = unique('PATCHED');
        const res = await t.admin('PATCH', `${base}/promotions/${made.id}`, {
          name: 'After',
          type: 'DIRECT_EARN',
          promoIdentifier: newIdentifier,
          maxIssualsPerCustomer: null,
          startDate: '2020-01-01T00:00:00Z',
        });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          id: made.id,
          programId,
          name: 'After',
          type: 'DIRECT',
          promoIdentifier: newIdentifier,
          active: true,
          maxIssualsPerCustomer: null,
          maxEarnsPerCustomer: 2,
          startDate: '2020-01-01T00:00:00.000Z',
          endDate: null,
          createdAt: made.createdAt,
        });
        const got = await t.admin('GET', `${base}/promotions/${made.id}`);
        expect(got.body).toEqual(res.body);
        // null clears an optional field.
        const cleared = await t.admin('PATCH', `${base}/promotions/${made.id}`, {
          promoIdentifier: null,
          startDate: null,
        });
        expect(cleared.status).toBe(200);
        expect(cleared.body).toMatchObject({ promoIdentifier: null, startDate: null, name: 'After' });
      });

      it('PATCH refuses id and programId', async () => {
        const { programId, base } = await orgWithProgram();
        const other = await create(t, `${base}/programs`, { name: 'other' });
        const made = await create(t, `${base}/promotions`, { programId, name: 'Fixed', type: 'DIRECT' });
        expectAdminError(
          await t.admin('PATCH', `${base}/promotions/${made.id}`, { id: explicitId() }),
          400,
          'invalid_request',
          'id',
        );
        expectAdminError(
          await t.admin('PATCH', `${base}/promotions/${made.id}`, { programId: other.id }),
          400,
          'invalid_request',
          'programId',
        );
        expectAdminError(
          await t.admin('PATCH', `${base}/promotions/${made.id}`, { id: made.id, name: 'Renamed' }),
          400,
          'invalid_request',
          'id',
        );
        expect((await t.admin('GET', `${base}/promotions/${made.id}`)).body).toEqual(made);
      });

      it('PATCH answers 400 for malformed fields and an endDate before the stored startDate', async () => {
        const { programId, base } = await orgWithProgram();
        const made = await create(t, `${base}/promotions`, {
          programId,
          name: 'Window',
          type: 'DIRECT',
          startDate: '2026-06-01T00:00:00Z',
        });
        const url = `${base}/promotions/${made.id}`;
        expectAdminError(await t.admin('PATCH', url, { type: 'NOPE' }), 400, 'invalid_request', 'type');
        expectAdminError(await t.admin('PATCH', url, { active: 'no' }), 400, 'invalid_request', 'active');
        expectAdminError(await t.admin('PATCH', url, { endDate: 'soon' }), 400, 'invalid_request', 'endDate');
        expectAdminError(await t.admin('PATCH', url, { colour: 'red' }), 400, 'invalid_request', 'colour');
        expectAdminError(
          await t.admin('PATCH', url, { endDate: '2026-05-01T00:00:00Z' }),
          400,
          'invalid_request',
          'endDate',
        );
        expectAdminError(await t.admin('PATCH', url, []), 400, 'invalid_request', 'body');
        expect((await t.admin('GET', url)).body).toEqual(made);
      });

      it('PATCH answers 409 for a promoIdentifier of another promotion, and takes its own', async () => {
        const { programId, base } = await orgWithProgram();
        const taken = unique('TAKEN');
        await create(t, `${base}/promotions`, {
          programId,
          name: 'a',
          type: 'DIRECT',
          promoIdentifier: taken,
        });
        const own = unique('OWN');
        const b = await create(t, `${base}/promotions`, {
          programId,
          name: 'b',
          type: 'DIRECT',
          promoIdentifier: own,
        });
        expectAdminError(
          await t.admin('PATCH', `${base}/promotions/${b.id}`, { promoIdentifier: taken }),
          409,
          'conflict',
          'promoIdentifier',
        );
        const same = await t.admin('PATCH', `${base}/promotions/${b.id}`, { promoIdentifier: own });
        expect(same.status).toBe(200);
      });

      it('PATCH answers 404 for a missing promotion or another org’s', async () => {
        const a = await orgWithProgram();
        const b = await orgWithProgram();
        const promo = await create(t, `${a.base}/promotions`, {
          programId: a.programId,
          name: 'A',
          type: 'DIRECT',
        });
        expectAdminError(
          await t.admin('PATCH', `${a.base}/promotions/${explicitId()}`, { name: 'x' }),
          404,
          'not_found',
        );
        expectAdminError(
          await t.admin('PATCH', `${b.base}/promotions/${promo.id}`, { name: 'x' }),
          404,
          'not_found',
        );
        expect((await t.admin('GET', `${a.base}/promotions/${promo.id}`)).body.name).toBe('A');
      });

      it('a promotion PATCHed inactive, or ended, answers 8892 on the bulk endpoint; active again, it works', async () => {
        const { orgId, programId, base } = await orgWithProgram();
        const promo = await create(t, `${base}/promotions`, {
          programId,
          name: 'Toggle',
          type: 'ENROL_AND_ISSUE',
        });
        const customers = (await create(t, `${base}/customers`, { customers: [{ programIds: [programId] }] }))
          .customers;
        const username = unique('till');
        await create(t, `${base}/tills`, { username, password: 'pw', customerAccess: 'WRITE' });
        const auth = basicAuth(username, 'pw');
        const enrol = () =>
          t.v2(
            BULK_URL,
            bulkBody('ENROL', programId, { promotionId: promo.id }, 'id', [
              [String(customers[0].id), 'INSTORE'],
            ]),
            auth,
          );
        const inactive8892 = {
          response: [
            { errors: [{ status: false, code: 8892, message: 'promotion is inactive' }], warnings: [] },
          ],
          totalCount: 1,
          failureCount: 1,
        };

        const off = await t.admin('PATCH', `${base}/promotions/${promo.id}`, { active: false });
        expect(off.status).toBe(200);
        expect(off.body.active).toBe(false);
        const refused = await enrol();
        expect(refused.status).toBe(400);
        expect(refused.body).toEqual(inactive8892);

        const ended = await t.admin('PATCH', `${base}/promotions/${promo.id}`, {
          active: true,
          endDate: '2001-01-01T00:00:00Z',
        });
        expect(ended.status).toBe(200);
        const refused2 = await enrol();
        expect(refused2.status).toBe(400);
        expect(refused2.body).toEqual(inactive8892);

        const on = await t.admin('PATCH', `${base}/promotions/${promo.id}`, { endDate: null });
        expect(on.status).toBe(200);
        const ok = await enrol();
        expect(ok.status).toBe(200);
        expect(ok.body.response[0].result.issualId).toMatch(/^\d+$/);
        const issuals = await t.testStore.store.db
          .selectFrom('issuals')
          .select('id')
          .where('org_id', '=', orgId)
          .execute();
        expect(issuals).toHaveLength(1);
      });
    });
  });
});
