import { beforeAll, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { describeEachStore } from '../../helpers/each-store.js';
import { post, URLS } from '../../helpers/v2-family.js';
import {
  earnedIds,
  failedItem,
  grant,
  PAGE,
  type PageOrg,
  pageBody,
  pageRejection,
  seedPageOrg,
} from './page-org.js';

/**
 * `POST /v2/promotion/bulk/revokeDirectEarn` against Capillary's "Bulk Revoke of Issued Promotions"
 * page (bulk-revoke-of-issued-promotions: field `earnIDs`) and its other version (operationId
 * revoke-issual-of-type-direct-issue-singlebulk: "applies to LOYALTY and LOYALTY_EARNING", examples
 * with and without bulkAction, `revokedEarnIds` as numbers, codes 8903 and 2305).
 */

const T0 = Date.parse('2026-06-01T10:00:00.000Z');

describeEachStore(
  `revokeDirectEarn as its Capillary pages document it`,
  () => ({ clock: fixedClock(T0) }),
  (t) => {
    let org: PageOrg;

    beforeAll(async () => {
      org = await seedPageOrg(t, {
        programs: [{ id: 469 }],
        promotions: [
          { id: 5709, programId: 469, type: 'DIRECT', maxEarnsPerCustomer: null },
          // The page's response example is on 57099, an enrol-and-issue promotion in the demo data.
          { id: 57099, programId: 469, type: 'ENROL_AND_ISSUE' },
          { id: 5710, programId: 469, type: 'DIRECT', maxEarnsPerCustomer: null },
          { id: 5711, programId: 469, type: 'DIRECT' },
          { id: 5712, programId: 469, type: 'GENERIC' },
        ],
        customers: [
          { id: 98662653, programIds: [469] },
          { id: 9866296543, programIds: [469] },
          { id: 98662650, mobile: '919986000585', programIds: [469] },
          { id: 98662654, programIds: [469] },
          { id: 98662656, programIds: [469] },
        ],
      });
    });

    const send = (body: unknown) => post(t, URLS.revokeDirectEarn, body, { auth: org.auth });
    const one = (id: number | string, extra: Record<string, unknown> = {}) => ({
      identifierValue: String(id),
      source: 'INSTORE',
      ...extra,
    });
    const revoked = (entityId: number, promotionId: number, revokedEarnIds: number[]) => ({
      result: { entityType: 'CUSTOMER', entityId, promotionId, programId: 469, revokedEarnIds },
      errors: [],
      warnings: [],
    });

    it('the "Request" example (bulkAction REVOKE_EARN) revokes every earn and answers the ids as numbers', async () => {
      const a = earnedIds(await grant(t, org.auth, 'EARN', 469, 5709, [98662653, 98662653, 9866296543]));
      const res = await send(
        pageBody('REVOKE_EARN', { programId: 469, promotionId: 5709 }, 'id', [
          one('98662653'),
          one('9866296543'),
        ]),
      );
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: {
          response: [
            revoked(98662653, 5709, [a[0], a[1]] as number[]),
            revoked(9866296543, 5709, [a[2]] as number[]),
          ],
          totalCount: 2,
          failureCount: 0,
        },
      });
    });

    it('the "With earned Id" example: no bulkAction, by mobile, on an enrol-and-issue promotion, only the earnIds named', async () => {
      await grant(t, org.auth, 'ENROL', 469, 57099, [98662650]);
      const earns = earnedIds(await grant(t, org.auth, 'EARN', 469, 57099, [98662650, 98662650, 98662650]));
      const [e1, e2, e3] = earns as [number, number, number];
      const res = await send(
        pageBody(undefined, { programId: 469, promotionId: 57099 }, 'mobile', [
          { earnIds: [e1, e3], identifierValue: '919986000585', source: 'INSTORE' },
        ]),
      );
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: { response: [revoked(98662650, 57099, [e1, e3])], totalCount: 1, failureCount: 0 },
      });
      const rest = await send(
        pageBody(undefined, { programId: 469, promotionId: 57099 }, 'mobile', [one('919986000585')]),
      );
      expect(rest.body.response).toStrictEqual([revoked(98662650, 57099, [e2])]);
    });

    it('reads the earnIDs spelling of the page’s table: only the earn named is revoked', async () => {
      const [x, y] = earnedIds(await grant(t, org.auth, 'EARN', 469, 5710, [98662654, 98662654])) as [
        number,
        number,
      ];
      const res = await send(
        pageBody(undefined, { programId: 469, promotionId: 5710 }, 'id', [one(98662654, { earnIDs: [x] })]),
      );
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: { response: [revoked(98662654, 5710, [x])], totalCount: 1, failureCount: 0 },
      });
      const rest = await send(
        pageBody(undefined, { programId: 469, promotionId: 5710 }, 'id', [one(98662654)]),
      );
      expect(rest.body.response).toStrictEqual([revoked(98662654, 5710, [y])]);
    });

    it('2305 for a customer with nothing to revoke, 8903 for earnIds that are not active earns', async () => {
      const none = await send(
        pageBody(undefined, { programId: 469, promotionId: 5710 }, 'id', [one(98662656)]),
      );
      expect({ status: none.status, body: none.body }).toStrictEqual({
        status: 201,
        body: { response: [failedItem(2305, PAGE.noActiveIssued)], totalCount: 1, failureCount: 1 },
      });
      const [z] = earnedIds(await grant(t, org.auth, 'EARN', 469, 5710, [98662656])) as [number];
      const wrong = await send(
        pageBody(undefined, { programId: 469, promotionId: 5710 }, 'id', [
          one(98662656, { earnIds: [z + 1000] }),
        ]),
      );
      expect({ status: wrong.status, body: wrong.body }).toStrictEqual({
        status: 201,
        body: { response: [failedItem(8903, PAGE.earnIdsInvalid)], totalCount: 1, failureCount: 1 },
      });
    });

    it('the page’s error examples, each with its own message', async () => {
      await grant(t, org.auth, 'EARN', 469, 5711, [98662653]);
      const patched = await t.admin('PATCH', `/admin/v1/orgs/${org.orgId}/promotions/5711`, {
        active: false,
      });
      expect(patched.status).toBe(200);
      const customers = [one(98662653)];
      const cases: { name: string; body: unknown; status: number; answer: unknown }[] = [
        {
          name: 'Inactive promotion error',
          body: pageBody(undefined, { programId: 469, promotionId: 5711 }, 'id', customers),
          status: 400,
          answer: pageRejection(8892, PAGE.inactive),
        },
        {
          name: 'Invalid customer identifier',
          body: pageBody(undefined, { programId: 469, promotionId: 5709 }, 'id', [one(98662699)]),
          status: 201,
          answer: { response: [failedItem(8015, PAGE.customerNotFound)], totalCount: 1, failureCount: 1 },
        },
        {
          name: 'Invalid program ID',
          body: pageBody(undefined, { programId: 4690, promotionId: 5709 }, 'id', customers),
          status: 400,
          answer: pageRejection(1101, PAGE.invalidProgram),
        },
        {
          name: 'Invalid promotion ID',
          body: pageBody(undefined, { programId: 469, promotionId: 570900 }, 'id', customers),
          status: 400,
          answer: pageRejection(8874, PAGE.invalidPromotion),
        },
        {
          name: 'type=USERGROUP2',
          body: {
            ...pageBody(undefined, { programId: 469, promotionId: 5709 }, 'id', customers),
            type: 'USERGROUP2',
          },
          status: 400,
          answer: pageRejection(8899, PAGE.userGroupDirect),
        },
        {
          name: 'Invalid promotion type',
          body: pageBody(undefined, { programId: 469, promotionId: 5712 }, 'id', customers),
          status: 400,
          answer: pageRejection(8902, PAGE.revokeUnsupported),
        },
        {
          name: 'An action this endpoint does not take',
          body: pageBody('REVOKE_ENROL', { programId: 469, promotionId: 5709 }, 'id', customers),
          status: 400,
          answer: pageRejection(8902, PAGE.revokeUnsupported),
        },
        {
          name: 'Required parameters not present',
          body: pageBody(undefined, { programId: 469 }, 'id', customers),
          status: 400,
          answer: pageRejection(8881, PAGE.insufficientDirect),
        },
        {
          name: 'Invalid details passed',
          body: pageBody(undefined, { promotionId: 5709 }, 'id', customers),
          status: 400,
          answer: pageRejection(8881, PAGE.insufficientDirect),
        },
      ];
      for (const c of cases) {
        const res = await send(c.body);
        expect({ name: c.name, status: res.status, body: res.body }).toStrictEqual({
          name: c.name,
          status: c.status,
          body: c.answer,
        });
      }
    });
  },
);
