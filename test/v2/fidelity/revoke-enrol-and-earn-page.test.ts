import { beforeAll, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { describeEachStore } from '../../helpers/each-store.js';
import { ID, post, URLS } from '../../helpers/v2-family.js';
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
 * `POST /v2/promotion/bulk/revokeEnrolAndEarn` against Capillary's "Revoke Loyalty Promotions" page
 * (revoke-loyalty-promotions = revoke-enrolled-and-issued-promotion) and its oldest version
 * (bulk-revoke-of-enrolled-issued-promotions, which names the enrolment revoke REVOKE_ISSUAL).
 */

const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const E_AND_I = '95c77d88-470c-4dd3-bde4-606ae1b64277';
const DIRECT = '1d9e540d-ae2c-443f-9d0d-7ac146bf93f2';

describeEachStore(
  `revokeEnrolAndEarn as its Capillary pages document it`,
  () => ({ clock: fixedClock(T0) }),
  (t) => {
    let org: PageOrg;

    beforeAll(async () => {
      const in2714 = { programIds: [2714] };
      org = await seedPageOrg(t, {
        programs: [{ id: 2714 }, { id: 753 }],
        promotions: [
          {
            id: 202779,
            programId: 2714,
            type: 'ENROL_AND_ISSUE',
            promoIdentifier: E_AND_I,
            maxIssualsPerCustomer: null,
          },
          { id: 202781, programId: 2714, type: 'DIRECT', promoIdentifier: DIRECT },
          { id: 202090, programId: 2714, type: 'DIRECT' },
          { id: 202188, programId: 2714, type: 'ENROL_AND_ISSUE', maxIssualsPerCustomer: null },
          { id: 202200, programId: 2714, type: 'ENROL_AND_ISSUE' },
          { id: 202201, programId: 2714, type: 'GENERIC' },
          { id: 74230, programId: 753, type: 'ENROL_AND_ISSUE', promoIdentifier: 'P74230' },
        ],
        customers: [
          { id: 423927867, ...in2714 },
          { id: 423927868, ...in2714 },
          { id: 423927848, ...in2714 },
          { id: 423927855, ...in2714 },
          { id: 423927856, ...in2714 },
          { id: 423926198, ...in2714 },
          { id: 423926199, ...in2714 },
          { id: 423926200, ...in2714 },
          { id: 423926201, ...in2714 },
          { id: 555567088, programIds: [753] },
        ],
      });
    });

    const send = (body: unknown) => post(t, URLS.revokeEnrolAndEarn, body, { auth: org.auth });
    const instore = (id: number, extra: Record<string, unknown> = {}) => ({
      identifierValue: String(id),
      source: 'instore',
      ...extra,
    });
    const ok = (result: Record<string, unknown>) => ({ result, errors: [], warnings: [] });
    const unenrolled = (entityId: number, promotionId: number) =>
      ok({
        entityType: 'CUSTOMER',
        entityId,
        promotionId,
        programId: 2714,
        issualId: expect.stringMatching(ID),
        revokedIssualId: expect.any(Number),
      });
    const earnsRevoked = (entityId: number, promoIdentifier: string, revokedEarnIds: number[]) =>
      ok({ entityType: 'CUSTOMER', entityId, promoIdentifier, programId: 2714, revokedEarnIds });

    it('examples 1 to 3: REVOKE_EARN by promoIdentifier, then REVOKE_ENROL with promotionId "202779" and source "instore"', async () => {
      await grant(t, org.auth, 'ENROL', 2714, 202779, [423927867, 423927868]);
      const [e1] = earnedIds(await grant(t, org.auth, 'EARN', 2714, 202779, [423927867])) as [number];
      const [e2, e3] = earnedIds(await grant(t, org.auth, 'EARN', 2714, 202779, [423927868, 423927868])) as [
        number,
        number,
      ];

      // "Single customer (Action=REVOKE_EARN)" and its response shape: promoIdentifier, no promotionId.
      const earn1 = await send(
        pageBody('REVOKE_EARN', { programId: 2714, promoIdentifier: E_AND_I }, 'id', [instore(423927867)]),
      );
      expect({ status: earn1.status, body: earn1.body }).toStrictEqual({
        status: 200,
        body: { response: [earnsRevoked(423927867, E_AND_I, [e1])], totalCount: 1, failureCount: 0 },
      });

      // "Single customer (Action=REVOKE_ENROL)": the revoked issual as the example's issualId (string)
      // and as the table's revokedIssualId (integer).
      const enrol1 = await send(
        pageBody('REVOKE_ENROL', { programId: 2714, promotionId: '202779' }, 'id', [instore(423927867)]),
      );
      expect({ status: enrol1.status, body: enrol1.body }).toStrictEqual({
        status: 200,
        body: { response: [unenrolled(423927867, 202779)], totalCount: 1, failureCount: 0 },
      });
      const result = enrol1.body.response[0].result;
      expect(result.revokedIssualId).toBe(Number(result.issualId));

      await grant(t, org.auth, 'ENROL', 2714, 202779, [423927867]);
      const earn2 = await send(
        pageBody('REVOKE_EARN', { programId: 2714, promoIdentifier: E_AND_I }, 'id', [instore(423927868)]),
      );
      expect(earn2.body).toStrictEqual({
        response: [earnsRevoked(423927868, E_AND_I, [e2, e3])],
        totalCount: 1,
        failureCount: 0,
      });

      // "Multiple customers (Action=REVOKE_ENROL)".
      const both = await send(
        pageBody('REVOKE_ENROL', { programId: 2714, promotionId: '202779' }, 'id', [
          instore(423927867),
          instore(423927868),
        ]),
      );
      expect({ status: both.status, body: both.body }).toStrictEqual({
        status: 200,
        body: {
          response: [unenrolled(423927867, 202779), unenrolled(423927868, 202779)],
          totalCount: 2,
          failureCount: 0,
        },
      });
    });

    it('example 4: REVOKE_EARN on a Direct Issue promotion, with earnIds for some customers and not others', async () => {
      const [a1] = earnedIds(await grant(t, org.auth, 'EARN', 2714, 202781, [423927848, 423927848])) as [
        number,
      ];
      const [b1, , b3] = earnedIds(
        await grant(t, org.auth, 'EARN', 2714, 202781, [423927855, 423927855, 423927855]),
      ) as [number, number, number];
      const [c1] = earnedIds(await grant(t, org.auth, 'EARN', 2714, 202781, [423927856])) as [number];
      const res = await send(
        pageBody('REVOKE_EARN', { programId: 2714, promoIdentifier: DIRECT }, 'id', [
          instore(423927848, { earnIds: [a1] }),
          instore(423927855, { earnIds: [b1, b3] }),
          instore(423927856),
        ]),
      );
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: {
          response: [
            earnsRevoked(423927848, DIRECT, [a1]),
            earnsRevoked(423927855, DIRECT, [b1, b3]),
            earnsRevoked(423927856, DIRECT, [c1]),
          ],
          totalCount: 3,
          failureCount: 0,
        },
      });
    });

    it('"Direct + Action=REVOKE_ENROL" is refused with the page’s 8902', async () => {
      const res = await send(
        pageBody('REVOKE_ENROL', { programId: 2714, promotionId: 202090 }, 'id', [instore(423927848)]),
      );
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 400,
        body: pageRejection(8902, PAGE.revokeUnsupported),
      });
    });

    it('REVOKE_ISSUAL, the oldest version’s name, unenrols as REVOKE_ENROL does', async () => {
      await grant(t, org.auth, 'ENROL', 2714, 202188, [423926199]);
      const res = await send(
        pageBody('REVOKE_ISSUAL', { programId: 2714, promotionId: 202188 }, 'id', [instore(423926199)]),
      );
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: { response: [unenrolled(423926199, 202188)], totalCount: 1, failureCount: 0 },
      });
    });

    it('REVOKE_ENROL of a customer with active earns is refused for that customer only (8905); after REVOKE_EARN it works', async () => {
      await grant(t, org.auth, 'ENROL', 2714, 202188, [423926198, 423926201]);
      const [e] = earnedIds(await grant(t, org.auth, 'EARN', 2714, 202188, [423926198])) as [number];
      const refused = await send(
        pageBody('REVOKE_ENROL', { programId: 2714, promotionId: 202188 }, 'id', [
          instore(423926198),
          instore(423926201),
        ]),
      );
      expect({ status: refused.status, body: refused.body }).toStrictEqual({
        status: 201,
        body: {
          response: [failedItem(8905, PAGE.earnsBeforeUnenrol), unenrolled(423926201, 202188)],
          totalCount: 2,
          failureCount: 1,
        },
      });
      const earns = await send(
        pageBody('REVOKE_EARN', { programId: 2714, promotionId: 202188 }, 'id', [instore(423926198)]),
      );
      expect(earns.body.response).toStrictEqual([
        ok({
          entityType: 'CUSTOMER',
          entityId: 423926198,
          promotionId: 202188,
          programId: 2714,
          revokedEarnIds: [e],
        }),
      ]);
      const enrol = await send(
        pageBody('REVOKE_ENROL', { programId: 2714, promotionId: 202188 }, 'id', [instore(423926198)]),
      );
      expect(enrol.body.response).toStrictEqual([unenrolled(423926198, 202188)]);
    });

    it('2305 when there is no active enrolment to revoke, or no active earn', async () => {
      for (const action of ['REVOKE_ENROL', 'REVOKE_EARN']) {
        const res = await send(
          pageBody(action, { programId: 2714, promotionId: 202188 }, 'id', [instore(423926200)]),
        );
        expect({ action, status: res.status, body: res.body }).toStrictEqual({
          action,
          status: 201,
          body: { response: [failedItem(2305, PAGE.noActiveIssued)], totalCount: 1, failureCount: 1 },
        });
      }
    });

    it('"Response with Partial Success": the result names the promotion by the promotionId sent', async () => {
      const enrol = await post(
        t,
        URLS.enrolAndEarn,
        pageBody('ENROL', { programId: 753, promotionId: 74230 }, 'id', [
          { identifierValue: '555567088', source: 'INSTORE' },
        ]),
        { auth: org.auth },
      );
      expect(enrol.status).toBe(200);
      const earn = await post(
        t,
        URLS.enrolAndEarn,
        pageBody('EARN', { programId: 753, promotionId: 74230 }, 'id', [
          { identifierValue: '555567088', source: 'INSTORE' },
        ]),
        { auth: org.auth },
      );
      const f1 = Number(earn.body.response[0].result.earnedId);
      const res = await send(
        pageBody('REVOKE_EARN', { programId: 753, promotionId: 74230 }, 'id', [
          instore(555567088),
          instore(555567000),
          instore(555567001),
        ]),
      );
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 201,
        body: {
          response: [
            ok({
              entityType: 'CUSTOMER',
              entityId: 555567088,
              promotionId: 74230,
              programId: 753,
              revokedEarnIds: [f1],
            }),
            failedItem(8015, PAGE.customerNotFound),
            failedItem(8015, PAGE.customerNotFound),
          ],
          totalCount: 3,
          failureCount: 2,
        },
      });
    });

    it('the page’s error examples, each with its own message', async () => {
      const patched = await t.admin('PATCH', `/admin/v1/orgs/${org.orgId}/promotions/202200`, {
        active: false,
      });
      expect(patched.status).toBe(200);
      const customers = [instore(423927867)];
      const cases: { name: string; body: unknown; answer: unknown }[] = [
        {
          name: 'Invalid programId',
          body: pageBody('REVOKE_EARN', { programId: 27140, promotionId: 202779 }, 'id', customers),
          answer: pageRejection(1101, PAGE.invalidProgram),
        },
        {
          name: 'Inactive Promotion',
          body: pageBody('REVOKE_ENROL', { programId: 2714, promotionId: 202200 }, 'id', customers),
          answer: pageRejection(8892, PAGE.inactive),
        },
        {
          name: 'Invalid promotionId',
          body: pageBody('REVOKE_EARN', { programId: 2714, promotionId: 2027790 }, 'id', customers),
          answer: pageRejection(8874, PAGE.invalidPromotion),
        },
        {
          name: 'Invalid entity type',
          body: {
            ...pageBody('REVOKE_EARN', { programId: 2714, promotionId: 202779 }, 'id', customers),
            type: 'PARTNER',
          },
          answer: pageRejection(8901, PAGE.invalidEntityType),
        },
        {
          name: 'A GENERIC promotion',
          body: pageBody('REVOKE_EARN', { programId: 2714, promotionId: 202201 }, 'id', customers),
          answer: pageRejection(8902, PAGE.revokeUnsupported),
        },
        {
          name: 'No bulkAction',
          body: pageBody(undefined, { programId: 2714, promotionId: 202779 }, 'id', customers),
          answer: pageRejection(8902, PAGE.revokeUnsupported),
        },
      ];
      for (const c of cases) {
        const res = await send(c.body);
        expect({ name: c.name, status: res.status, body: res.body }).toStrictEqual({
          name: c.name,
          status: 400,
          body: c.answer,
        });
      }
    });
  },
);
