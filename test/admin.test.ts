import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, create, expectAdminError, explicitId, unique } from './helpers/admin-helpers.js';
import { BULK_URL, bulkBody } from './helpers/fixtures.js';
import { STORES } from './helpers/stores.js';
import { ADMIN_TOKEN, basicAuth, md5, startTestApp, type TestApp } from './helpers/test-app.js';

/** Waits, checking every 50 ms, until `test` holds (20 s at most). */
async function waitFor(test: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

for (const kind of STORES) {
  describe(`management API on ${kind}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(kind);
    });
    afterAll(() => t?.close());

    async function raw(opts: InjectOptions) {
      const res = await t.app.inject(opts);
      let body: any = res.body;
      try {
        body = res.json();
      } catch {
        // not JSON: the assertions say so
      }
      return { status: res.statusCode, body, headers: res.headers };
    }

    async function newOrg(): Promise<number> {
      return (await create(t, '/admin/v1/orgs', { name: unique('org') })).id;
    }

    async function newProgram(orgId: number): Promise<number> {
      return (await create(t, `/admin/v1/orgs/${orgId}/programs`, { name: unique('program') })).id;
    }

    /** An org with one program, for tests that need somewhere to put promotions and customers. */
    async function orgWithProgram(): Promise<{ orgId: number; programId: number; base: string }> {
      const orgId = await newOrg();
      return { orgId, programId: await newProgram(orgId), base: `/admin/v1/orgs/${orgId}` };
    }

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
          const res = await raw({
            ...request,
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

    describe('orgs', () => {
      it('creates an org with a store-assigned id', async () => {
        const name = unique('org');
        const res = await t.admin('POST', '/admin/v1/orgs', { name });
        expect(res.status).toBe(201);
        expect(res.body).toEqual({ id: expect.any(Number), name, createdAt: expect.stringMatching(ISO) });
        expect(res.body.id).toBeGreaterThan(0);
      });

      it('creates an org with an explicit id, also given as a string of digits', async () => {
        const id = explicitId();
        const res = await t.admin('POST', '/admin/v1/orgs', { id, name: 'Explicit' });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ id, name: 'Explicit' });
        const id2 = explicitId();
        const res2 = await t.admin('POST', '/admin/v1/orgs', { id: String(id2), name: 'Digits' });
        expect(res2.status).toBe(201);
        expect(res2.body.id).toBe(id2);
      });

      it('answers 409 for a duplicate org id', async () => {
        const id = explicitId();
        await create(t, '/admin/v1/orgs', { id, name: 'First' });
        const res = await t.admin('POST', '/admin/v1/orgs', { id, name: 'Second' });
        expectAdminError(res, 409, 'conflict', 'id');
      });

      it('never assigns an id that an explicit org holds', async () => {
        const before = await newOrg();
        const explicit = [before + 1, before + 2, before + 4];
        for (const id of explicit) await create(t, '/admin/v1/orgs', { id, name: `explicit ${id}` });
        const assigned: number[] = [];
        for (let i = 0; i < 4; i++) assigned.push(await newOrg());
        for (const id of assigned) expect(explicit).not.toContain(id);
        expect(new Set(assigned).size).toBe(assigned.length);
      });

      it('answers 400 naming the field for a malformed org', async () => {
        const cases: [unknown, string][] = [
          [{}, 'name'],
          [{ name: '' }, 'name'],
          [{ name: '   ' }, 'name'],
          [{ name: 42 }, 'name'],
          [{ name: ['a'] }, 'name'],
          [{ name: 'x'.repeat(201) }, 'name'],
          [{ name: 'ok', id: 0 }, 'id'],
          [{ name: 'ok', id: -3 }, 'id'],
          [{ name: 'ok', id: 1.5 }, 'id'],
          [{ name: 'ok', id: '12a' }, 'id'],
          [{ name: 'ok', id: true }, 'id'],
          [{ name: 'ok', id: 2 ** 60 }, 'id'],
          [{ name: 'ok', colour: 'red' }, 'colour'],
        ];
        for (const [body, field] of cases) {
          const res = await t.admin('POST', '/admin/v1/orgs', body);
          expectAdminError(res, 400, 'invalid_request', field);
        }
      });
    });

    describe('programs', () => {
      it('creates programs with and without explicit ids', async () => {
        const orgId = await newOrg();
        const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/programs`, { name: 'Auto' });
        expect(res.status).toBe(201);
        expect(res.body).toEqual({
          id: expect.any(Number),
          orgId,
          name: 'Auto',
          createdAt: expect.stringMatching(ISO),
        });
        const id = explicitId();
        const res2 = await t.admin('POST', `/admin/v1/orgs/${orgId}/programs`, {
          id: String(id),
          name: 'Mine',
        });
        expect(res2.status).toBe(201);
        expect(res2.body).toMatchObject({ id, orgId, name: 'Mine' });
      });

      it('answers 409 for a program id held in the same org or in another org', async () => {
        const a = await newOrg();
        const b = await newOrg();
        const id = explicitId();
        await create(t, `/admin/v1/orgs/${a}/programs`, { id, name: 'A' });
        expectAdminError(
          await t.admin('POST', `/admin/v1/orgs/${a}/programs`, { id, name: 'A again' }),
          409,
          'conflict',
          'id',
        );
        expectAdminError(
          await t.admin('POST', `/admin/v1/orgs/${b}/programs`, { id, name: 'B' }),
          409,
          'conflict',
          'id',
        );
        expect(await countRows(t, 'programs', b)).toBe(0);
      });

      it('never assigns an id that an explicit program holds', async () => {
        const orgId = await newOrg();
        const first = await newProgram(orgId);
        const explicit = [first + 1, first + 3];
        for (const id of explicit) await create(t, `/admin/v1/orgs/${orgId}/programs`, { id, name: 'x' });
        const assigned: number[] = [];
        for (let i = 0; i < 4; i++) assigned.push(await newProgram(orgId));
        for (const id of assigned) expect([first, ...explicit]).not.toContain(id);
        expect(new Set(assigned).size).toBe(4);
      });

      it('answers 404 for a missing org', async () => {
        const res = await t.admin('POST', `/admin/v1/orgs/${explicitId()}/programs`, { name: 'x' });
        expectAdminError(res, 404, 'not_found');
      });

      it('answers 400 naming the field for a malformed program', async () => {
        const orgId = await newOrg();
        for (const [body, field] of [
          [{}, 'name'],
          [{ name: 7 }, 'name'],
          [{ name: 'x', id: 'seven' }, 'id'],
          [{ name: 'x', orgId }, 'orgId'],
        ] as [unknown, string][]) {
          expectAdminError(
            await t.admin('POST', `/admin/v1/orgs/${orgId}/programs`, body),
            400,
            'invalid_request',
            field,
          );
        }
      });
    });

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
          expectAdminError(
            await t.admin('PATCH', url, { endDate: 'soon' }),
            400,
            'invalid_request',
            'endDate',
          );
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
          const customers = (
            await create(t, `${base}/customers`, { customers: [{ programIds: [programId] }] })
          ).customers;
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

    describe('customers', () => {
      it('creates customers with and without explicit ids, normalising mobile and email', async () => {
        const { programId, base } = await orgWithProgram();
        const id = explicitId();
        const ext = unique('ext');
        const res = await t.admin('POST', `${base}/customers`, {
          customers: [
            {
              id,
              mobile: '+91 (998) 600-0586',
              email: '  Jane.Doe@Example.COM ',
              externalId: ext,
              sources: ['instore', 'WEBSITE'],
              programIds: [programId, String(programId)],
            },
            { mobile: '11 223 569 865' },
            { id: String(id + 1) },
          ],
        });
        expect(res.status).toBe(201);
        expect(res.body.customers).toEqual([
          {
            id,
            mobile: '919986000586',
            email: 'jane.doe@example.com',
            externalId: ext,
            sources: ['INSTORE', 'WEBSITE'],
            programIds: [programId],
          },
          {
            id: expect.any(Number),
            mobile: '11223569865',
            email: null,
            externalId: null,
            sources: ['INSTORE'],
            programIds: [],
          },
          { id: id + 1, mobile: null, email: null, externalId: null, sources: ['INSTORE'], programIds: [] },
        ]);
        expect([id, id + 1]).not.toContain(res.body.customers[1].id);
      });

      it('stores sources and program memberships', async () => {
        const { orgId, programId, base } = await orgWithProgram();
        const second = await newProgram(orgId);
        const made = await create(t, `${base}/customers`, {
          customers: [{ sources: ['FACEBOOK', 'LINE'], programIds: [programId, second] }, {}],
        });
        const [a, b] = made.customers;
        const sources = await t.testStore.store.db
          .selectFrom('customer_sources')
          .select(['customer_id', 'source'])
          .where('org_id', '=', orgId)
          .orderBy('customer_id')
          .orderBy('source')
          .execute();
        expect(sources.map((s) => [Number(s.customer_id), s.source])).toEqual([
          [a.id, 'FACEBOOK'],
          [a.id, 'LINE'],
          [b.id, 'INSTORE'],
        ]);
        const members = await t.testStore.store.db
          .selectFrom('program_members')
          .select(['customer_id', 'program_id'])
          .where('org_id', '=', orgId)
          .orderBy('program_id')
          .execute();
        expect(members.map((m) => [Number(m.customer_id), Number(m.program_id)])).toEqual([
          [a.id, programId],
          [a.id, second],
        ]);
      });

      it('never assigns an id that an explicit customer holds, in the same call or before', async () => {
        const { base } = await orgWithProgram();
        const first = (await create(t, `${base}/customers`, { customers: [{}] })).customers[0].id;
        const explicitBefore = [first + 1, first + 2];
        await create(t, `${base}/customers`, { customers: explicitBefore.map((id) => ({ id })) });
        const mixed = (
          await create(t, `${base}/customers`, {
            customers: [{}, { id: first + 4 }, {}, {}, { id: first + 3 }],
          })
        ).customers.map((c: { id: number }) => c.id);
        expect(mixed[1]).toBe(first + 4);
        expect(mixed[4]).toBe(first + 3);
        const later = (await create(t, `${base}/customers`, { customers: [{}, {}, {}] })).customers.map(
          (c: { id: number }) => c.id,
        );
        const all = [first, ...explicitBefore, ...mixed, ...later];
        expect(new Set(all).size).toBe(all.length);
      });

      it('answers 409 for a customer id held in this or another org', async () => {
        const a = await orgWithProgram();
        const b = await orgWithProgram();
        const id = explicitId();
        await create(t, `${a.base}/customers`, { customers: [{ id }] });
        expectAdminError(
          await t.admin('POST', `${a.base}/customers`, { customers: [{ id }] }),
          409,
          'conflict',
          /id/,
        );
        expectAdminError(
          await t.admin('POST', `${b.base}/customers`, { customers: [{}, { id: String(id) }] }),
          409,
          'conflict',
          /id/,
        );
        expect(await countRows(t, 'customers', b.orgId)).toBe(0);
      });

      it('answers 409 for a mobile, email or externalId held in the org, compared as normalised', async () => {
        const a = await orgWithProgram();
        const b = await orgWithProgram();
        const ext = unique('ext');
        await create(t, `${a.base}/customers`, {
          customers: [{ mobile: '919986000586', email: 'jane@example.com', externalId: ext }],
        });
        for (const [customer, field] of [
          [{ mobile: '+91 99860 00586' }, /mobile/],
          [{ mobile: '919986000586' }, /mobile/],
          [{ email: ' JANE@example.COM' }, /email/],
          [{ externalId: ext }, /externalId/],
        ] as [Record<string, unknown>, RegExp][]) {
          const res = await t.admin('POST', `${a.base}/customers`, { customers: [{}, customer] });
          expectAdminError(res, 409, 'conflict', field);
        }
        expect(await countRows(t, 'customers', a.orgId)).toBe(1);
        // Unique within the org only: another org may hold the same values.
        const other = await t.admin('POST', `${b.base}/customers`, {
          customers: [{ mobile: '919986000586', email: 'jane@example.com', externalId: ext }],
        });
        expect(other.status).toBe(201);
      });

      it('answers 409 naming the repeat for duplicates within one call', async () => {
        const { orgId, base } = await orgWithProgram();
        const id = explicitId();
        const cases: [Record<string, unknown>[], string][] = [
          [[{ id }, {}, { id: String(id) }], 'customers[2].id'],
          [[{ mobile: '12345' }, { mobile: '1-2-3-4-5' }], 'customers[1].mobile'],
          [[{ email: 'a@b.c' }, {}, { email: 'A@B.C ' }], 'customers[2].email'],
          [[{ externalId: 'E1' }, { externalId: 'E1' }], 'customers[1].externalId'],
        ];
        for (const [customers, field] of cases) {
          expectAdminError(await t.admin('POST', `${base}/customers`, { customers }), 409, 'conflict', field);
        }
        expect(await countRows(t, 'customers', orgId)).toBe(0);
      });

      it('answers 404 for a missing org or a program that the org does not hold', async () => {
        const a = await orgWithProgram();
        const b = await orgWithProgram();
        expectAdminError(
          await t.admin('POST', `/admin/v1/orgs/${explicitId()}/customers`, { customers: [{}] }),
          404,
          'not_found',
        );
        for (const programIds of [[explicitId()], [a.programId, b.programId]]) {
          expectAdminError(
            await t.admin('POST', `${a.base}/customers`, {
              customers: [{ programIds: [a.programId] }, { programIds }],
            }),
            404,
            'not_found',
            'programIds',
          );
        }
        expect(await countRows(t, 'customers', a.orgId)).toBe(0);
      });

      it('answers 400 naming the field for a malformed customers call', async () => {
        const { orgId, base } = await orgWithProgram();
        const cases: [unknown, string][] = [
          [{}, 'customers'],
          [{ customers: [] }, 'customers'],
          [{ customers: {} }, 'customers'],
          [{ customers: 'all' }, 'customers'],
          [{ customers: [{}], extra: 1 }, 'extra'],
          [{ customers: Array.from({ length: 10_001 }, () => ({})) }, 'customers'],
          [{ customers: [{}, 'x'] }, 'customers[1]'],
          [{ customers: [{}, null] }, 'customers[1]'],
          [{ customers: [{ id: 0 }] }, 'customers[0].id'],
          [{ customers: [{ id: 'one' }] }, 'customers[0].id'],
          [{ customers: [{ mobile: 'abc' }] }, 'customers[0].mobile'],
          [{ customers: [{ mobile: 98765 }] }, 'customers[0].mobile'],
          [{ customers: [{ email: 'not-an-address' }] }, 'customers[0].email'],
          [{ customers: [{ externalId: 5 }] }, 'customers[0].externalId'],
          [{ customers: [{ sources: 'INSTORE' }] }, 'customers[0].sources'],
          [{ customers: [{}, { sources: ['INSTORE', 'MOON'] }] }, 'customers[1].sources[1]'],
          [{ customers: [{ sources: [7] }] }, 'customers[0].sources[0]'],
          [{ customers: [{ sources: ['ALL'] }] }, 'customers[0].sources[0]'],
          [{ customers: [{ programIds: 5 }] }, 'customers[0].programIds'],
          [{ customers: [{ nickname: 'Jo' }] }, 'customers[0].nickname'],
        ];
        for (const [body, field] of cases) {
          expectAdminError(await t.admin('POST', `${base}/customers`, body), 400, 'invalid_request', field);
        }
        expect(await countRows(t, 'customers', orgId)).toBe(0);
      });

      it('answers 400 naming the element for a programIds entry that is not an id', async () => {
        const { base } = await orgWithProgram();
        const res = await t.admin('POST', `${base}/customers`, { customers: [{ programIds: ['x'] }] });
        expectAdminError(res, 400, 'invalid_request', 'customers[0].programIds[0]');
      });

      it('never answers 500 for a string holding a NUL character', async () => {
        // Either stored as given or refused as malformed, naming the field; never an internal error.
        const { orgId, base } = await orgWithProgram();
        const res = await t.admin('POST', `${base}/customers`, { customers: [{ externalId: 'a\u0000b' }] });
        if (res.status === 201) {
          expect(res.body.customers[0].externalId).toBe('a\u0000b');
        } else {
          expectAdminError(res, 400, 'invalid_request', 'customers[0].externalId');
          expect(await countRows(t, 'customers', orgId)).toBe(0);
        }
      });

      describe('a call of 10,000 customers', () => {
        const big = (programId: number, tag: string) =>
          Array.from({ length: 10_000 }, (_, i) => ({
            mobile: `7${String(i).padStart(9, '0')}`,
            email: `Customer.${i}.${tag}@Example.com`,
            externalId: `${tag}-${i}`,
            sources: ['INSTORE', 'ECOMMERCE'],
            programIds: [programId],
          }));

        async function counts(orgId: number) {
          return {
            customers: await countRows(t, 'customers', orgId),
            sources: await countRows(t, 'customer_sources', orgId),
            members: await countRows(t, 'program_members', orgId),
          };
        }

        it('succeeds, over the 1 MiB limit of the /v2 API', async () => {
          const { orgId, programId, base } = await orgWithProgram();
          const customers = big(programId, unique('big'));
          expect(JSON.stringify({ customers }).length).toBeGreaterThan(1024 * 1024);
          const res = await t.admin('POST', `${base}/customers`, { customers });
          expect(res.status).toBe(201);
          expect(res.body.customers).toHaveLength(10_000);
          expect(new Set(res.body.customers.map((c: { id: number }) => c.id)).size).toBe(10_000);
          expect(res.body.customers[9_999]).toMatchObject({
            mobile: '7000009999',
            email: customers[9_999]?.email.toLowerCase(),
          });
          expect(await counts(orgId)).toEqual({ customers: 10_000, sources: 20_000, members: 10_000 });
        });

        it('writes nothing when the last record is bad, whatever the reason', async () => {
          const { orgId, programId, base } = await orgWithProgram();
          const existing = await create(t, `${base}/customers`, {
            customers: [{ mobile: '5550001', email: 'held@example.com' }],
          });
          expect(existing.customers).toHaveLength(1);
          const before = await counts(orgId);
          const badLast: [Record<string, unknown>, number, string | RegExp][] = [
            [{ sources: ['MOON'] }, 400, 'customers[9999].sources[0]'],
            [{ email: 'nope' }, 400, 'customers[9999].email'],
            [{ mobile: '555-0001' }, 409, /mobile/],
            [{ email: 'HELD@example.com' }, 409, /email/],
            [{ mobile: '7000000000' }, 409, 'customers[9999].mobile'],
            [{ programIds: [explicitId()] }, 404, 'programIds'],
            [{ id: existing.customers[0].id }, 409, /id/],
          ];
          for (const [last, status, field] of badLast) {
            const customers: Record<string, unknown>[] = big(programId, unique('atomic'));
            customers[9_999] = last;
            const res = await t.admin('POST', `${base}/customers`, { customers });
            expectAdminError(
              res,
              status,
              status === 400 ? 'invalid_request' : status === 404 ? 'not_found' : 'conflict',
              field,
            );
            expect(await counts(orgId)).toEqual(before);
          }
        });

        // Each store has its own way to fail mid-call; only that store's variant is registered.
        if (kind === 'postgres')
          it('writes nothing when the store refuses the last chunk after 9,500 customers went in', async () => {
            // Another session holds, uncommitted, a customer with the mobile of the call's last record:
            // the call's checks cannot see it, so the refusal comes from the unique index while the
            // last chunk is inserted, after the first 9,500 rows. Only the transaction keeps them out.
            const { orgId, programId, base } = await orgWithProgram();
            const config = t.testStore.config;
            if (config.kind !== 'postgres') throw new Error('expected PostgreSQL');
            const blocker = new pg.Client({ connectionString: config.connectionString });
            const watcher = new pg.Client({ connectionString: config.connectionString });
            await blocker.connect();
            await watcher.connect();
            try {
              await blocker.query('begin');
              await blocker.query(
                'insert into customers (org_id, id, mobile, created_at) values ($1, $2, $3, $4)',
                [orgId, explicitId(), '7000009999', Date.now()],
              );
              const call = t.admin('POST', `${base}/customers`, {
                customers: big(programId, unique('race')),
              });
              await waitFor(async () => {
                const { rows } = await watcher.query(
                  "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
                );
                return rows[0].n > 0;
              }, 'the customers call to wait on the uncommitted customer');
              await blocker.query('commit');
              const res = await call;
              expectAdminError(res, 409, 'conflict');
              expect(await counts(orgId)).toEqual({ customers: 1, sources: 0, members: 0 });
            } finally {
              await blocker.end();
              await watcher.end();
            }
          });

        if (kind === 'sqlite')
          it('writes nothing when the store fails on the last record after 9,500 went in', async () => {
            // A trigger makes the store itself fail on the last customer, mid-transaction.
            const { orgId, programId, base } = await orgWithProgram();
            const db = t.testStore.store.db;
            await sql`create trigger refuse_last before insert on customers
              when new.mobile = '7000009999' and new.org_id = ${sql.lit(orgId)}
              begin select raise(abort, 'refused by test trigger'); end`.execute(db);
            try {
              const res = await t.admin('POST', `${base}/customers`, {
                customers: big(programId, unique('trig')),
              });
              expect(res.status).toBeGreaterThanOrEqual(500);
              expect(JSON.stringify(res.body)).not.toContain('refused by test trigger');
              expect(await counts(orgId)).toEqual({ customers: 0, sources: 0, members: 0 });
            } finally {
              await sql`drop trigger refuse_last`.execute(db);
            }
          });
      });
    });

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
        const [customer] = (
          await create(t, `${base}/customers`, { customers: [{ programIds: [programId] }] })
        ).customers;
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
          expectAdminError(
            await t.admin('POST', `${a.base}/api-clients`, body),
            400,
            'invalid_request',
            field,
          );
        }
      });
    });

    describe('the enrolment report', () => {
      let orgId: number;
      let base: string;
      let programId: number;
      let promotionId: number;
      let auth: string;
      let customers: { id: number }[];
      /** issualId by customer index, as the bulk endpoint answered. */
      const issualIds: string[] = [];
      /** earnedIds by customer index. */
      const earnedIds: string[][] = [];

      const call = async (action: 'ENROL' | 'EARN', indexes: number[]) => {
        const res = await t.v2(
          BULK_URL,
          bulkBody(
            action,
            programId,
            { promotionId },
            'id',
            indexes.map((i) => [String(customers[i]?.id), 'INSTORE']),
          ),
          auth,
        );
        expect(res.status).toBe(200);
        return res.body.response.map((item: any) => item.result);
      };

      beforeAll(async () => {
        ({ orgId, programId, base } = await orgWithProgram());
        promotionId = (
          await create(t, `${base}/promotions`, {
            programId,
            name: 'Reported',
            type: 'ENROL_AND_ISSUE',
            maxEarnsPerCustomer: 5,
          })
        ).id;
        customers = (
          await create(t, `${base}/customers`, {
            customers: Array.from({ length: 7 }, () => ({ programIds: [programId] })),
          })
        ).customers;
        const username = unique('till');
        await create(t, `${base}/tills`, { username, password: 'pw', customerAccess: 'WRITE' });
        auth = basicAuth(username, 'pw');
        // Enrolled in this order: 3, 0, 6, 1, 5, 2, 4 (in three requests).
        const order = [3, 0, 6, 1, 5, 2, 4];
        for (const part of [order.slice(0, 2), order.slice(2, 3), order.slice(3)]) {
          const results = await call('ENROL', part);
          part.forEach((c, i) => {
            issualIds[c] = results[i].issualId;
            earnedIds[c] = [];
          });
        }
        for (const part of [[0, 3], [0], [6, 0, 2]]) {
          const results = await call('EARN', part);
          part.forEach((c, i) => {
            earnedIds[c]?.push(results[i].earnedId);
          });
        }
      });

      const report = (query = '') => t.admin('GET', `${base}/promotions/${promotionId}/issuals${query}`);
      const enrolOrder = [3, 0, 6, 1, 5, 2, 4];

      it('lists every issual, oldest first, with its earns nested and nothing revoked', async () => {
        const res = await report();
        expect(res.status).toBe(200);
        expect(res.body.nextCursor).toBeNull();
        expect(res.body.issuals).toEqual(
          enrolOrder.map((c) => ({
            issualId: issualIds[c],
            customerId: customers[c]?.id,
            createdAt: expect.stringMatching(ISO),
            revokedAt: null,
            earns: (earnedIds[c] ?? []).map((earnedId) => ({
              earnedId,
              createdAt: expect.stringMatching(ISO),
              revokedAt: null,
            })),
          })),
        );
        expect(res.body.issuals[1].earns).toHaveLength(3);
        const created = res.body.issuals.map((i: any) => Date.parse(i.createdAt));
        expect([...created].sort((x, y) => x - y)).toEqual(created);
      });

      it('pages with limit and cursor until nextCursor is null', async () => {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await report(
            `?limit=3${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
          );
          expect(res.status).toBe(200);
          expect(res.body.issuals.length).toBeLessThanOrEqual(3);
          seen.push(...res.body.issuals.map((i: any) => i.issualId));
          cursor = res.body.nextCursor;
          if (cursor !== null) expect(typeof cursor).toBe('string');
          pages += 1;
        } while (cursor !== null && pages < 10);
        expect(pages).toBe(3);
        expect(seen).toEqual(enrolOrder.map((c) => issualIds[c]));
      });

      it('answers nextCursor null when the last page is exactly full', async () => {
        const first = await report('?limit=7');
        expect(first.body.issuals).toHaveLength(7);
        expect(first.body.nextCursor).toBeNull();
        const six = await report('?limit=6');
        expect(six.body.issuals).toHaveLength(6);
        expect(six.body.nextCursor).not.toBeNull();
        const rest = await report(`?limit=6&cursor=${six.body.nextCursor}`);
        expect(rest.body.issuals.map((i: any) => i.issualId)).toEqual([issualIds[4]]);
        expect(rest.body.nextCursor).toBeNull();
        const one = await report('?limit=1');
        expect(one.body.issuals.map((i: any) => i.issualId)).toEqual([issualIds[3]]);
      });

      it('takes limit 1000 and answers 400 naming limit above it, or for a limit that is not a positive integer', async () => {
        expect((await report('?limit=1000')).status).toBe(200);
        for (const limit of ['1001', '100000', '0', '-1', 'abc', '2.5']) {
          expectAdminError(await report(`?limit=${limit}`), 400, 'invalid_request', 'limit');
        }
        expectAdminError(await report('?cursor=not-a-cursor'), 400, 'invalid_request', 'cursor');
      });

      it('answers 404 for a missing promotion, or one of another org', async () => {
        expectAdminError(
          await t.admin('GET', `${base}/promotions/${explicitId()}/issuals`),
          404,
          'not_found',
        );
        const other = await newOrg();
        expectAdminError(
          await t.admin('GET', `/admin/v1/orgs/${other}/promotions/${promotionId}/issuals`),
          404,
          'not_found',
        );
      });

      it('answers an empty report for a promotion without issuals', async () => {
        const empty = await create(t, `${base}/promotions`, { programId, name: 'Empty', type: 'DIRECT' });
        const res = await t.admin('GET', `${base}/promotions/${empty.id}/issuals`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ issuals: [], nextCursor: null });
      });

      it('includes revoked records with when they were revoked', async () => {
        // No API revokes yet; mark records revoked in the store as a revoke would.
        const db = t.testStore.store.db;
        const revokedAt = Date.parse('2026-03-01T12:00:00Z');
        const earnId = Number(earnedIds[0]?.[0]);
        const issualId = Number(issualIds[4]);
        await db
          .updateTable('earns')
          .set({ revoked_at: revokedAt, revoked_by: 'test' })
          .where('org_id', '=', orgId)
          .where('id', '=', earnId)
          .execute();
        await db
          .updateTable('issuals')
          .set({ revoked_at: revokedAt, revoked_by: 'test' })
          .where('org_id', '=', orgId)
          .where('id', '=', issualId)
          .execute();
        try {
          const res = await report();
          const byId = new Map(res.body.issuals.map((i: any) => [i.issualId, i]));
          expect(res.body.issuals).toHaveLength(7);
          expect((byId.get(issualIds[4]) as any).revokedAt).toBe('2026-03-01T12:00:00.000Z');
          const zero = byId.get(issualIds[0]) as any;
          expect(zero.revokedAt).toBeNull();
          expect(zero.earns.map((e: any) => e.revokedAt)).toEqual(['2026-03-01T12:00:00.000Z', null, null]);
        } finally {
          await db
            .updateTable('earns')
            .set({ revoked_at: null, revoked_by: null })
            .where('org_id', '=', orgId)
            .where('id', '=', earnId)
            .execute();
          await db
            .updateTable('issuals')
            .set({ revoked_at: null, revoked_by: null })
            .where('org_id', '=', orgId)
            .where('id', '=', issualId)
            .execute();
        }
      });
    });
  });
}
