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

describeEachStore('management API', (t) => {
  const { newOrg, newProgram } = adminCalls(t);

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
});
