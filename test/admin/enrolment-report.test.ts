import { beforeAll, describe, expect, it } from 'vitest';
import { adminCalls, create, expectAdminError, explicitId, ISO, unique } from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody } from '../helpers/fixtures.js';
import { basicAuth } from '../helpers/test-app.js';

describeEachStore('management API', (t) => {
  const { newOrg, orgWithProgram } = adminCalls(t);

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
        const res = await report(`?limit=3${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
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
      expectAdminError(await t.admin('GET', `${base}/promotions/${explicitId()}/issuals`), 404, 'not_found');
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
