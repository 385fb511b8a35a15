import { beforeAll, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { describeEachStore } from '../../helpers/each-store.js';
import { ID, post, URLS } from '../../helpers/v2-family.js';
import { failedItem, PAGE, type PageOrg, pageBody, pageRejection, seedPageOrg } from './page-org.js';

/**
 * `POST /v2/promotion/bulk/directEarn` against Capillary's "(Bulk) Issue Promotion to Customers" page
 * (bulk-issue-promotion-to-customers; operationId issue-loyalty-promotion-of-direct-issue) and its
 * older version (issue-promotion-to-customers-in-bulk), which sends `bulkAction: "ENROL"`.
 */

const T0 = Date.parse('2026-06-01T10:00:00.000Z');

describeEachStore(
  `directEarn as its Capillary page documents it`,
  () => ({ clock: fixedClock(T0) }),
  (t) => {
    let org: PageOrg;

    beforeAll(async () => {
      org = await seedPageOrg(t, {
        programs: [{ id: 469 }, { id: 2607 }, { id: 2844 }],
        promotions: [
          { id: 56799, programId: 469, type: 'DIRECT' },
          { id: 56801, programId: 469, type: 'DIRECT', maxEarnsPerCustomer: null },
          { id: 56800, programId: 469, type: 'DIRECT', active: false },
          { id: 57099, programId: 469, type: 'ENROL_AND_ISSUE' },
          {
            id: 200100,
            programId: 2607,
            type: 'DIRECT',
            promoIdentifier: 'Promo_testMay13',
            maxEarnsPerCustomer: 2,
          },
          { id: 200206, programId: 2844, type: 'DIRECT', maxEarnsPerCustomer: 1 },
        ],
        customers: [
          { id: 98662653, programIds: [469] },
          { id: 98662632, programIds: [469] },
          { id: 423924812, programIds: [469] },
          { id: 387004879, programIds: [2607] },
          { id: 423815857, programIds: [2844] },
        ],
      });
    });

    const send = (body: unknown) => post(t, URLS.directEarn, body, { auth: org.auth });

    it('the page’s request, which has no bulkAction, issues the promotion to both customers', async () => {
      const res = await send(
        pageBody(undefined, { programId: 469, promotionId: 56799 }, 'id', [
          { identifierValue: '98662653', source: 'INSTORE' },
          { identifierValue: '98662632', source: 'INSTORE' },
        ]),
      );
      const item = (entityId: number) => ({
        result: {
          entityType: 'CUSTOMER',
          entityId,
          promotionId: 56799,
          programId: 469,
          issualId: expect.stringMatching(ID),
          earnedId: expect.stringMatching(ID),
        },
        errors: [],
        warnings: [],
      });
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: { response: [item(98662653), item(98662632)], totalCount: 2, failureCount: 0 },
      });
    });

    it('bulkAction EARN, and ENROL as the older version of the page sends it, are the same direct issue', async () => {
      for (const bulkAction of ['EARN', 'ENROL']) {
        const res = await send(
          pageBody(bulkAction, { programId: 469, promotionId: 56801 }, 'id', [
            { identifierValue: '423924812', source: 'INSTORE' },
          ]),
        );
        expect(res.status, `${bulkAction}: ${JSON.stringify(res.body)}`).toBe(200);
        expect(res.body.response[0].result).toStrictEqual({
          entityType: 'CUSTOMER',
          entityId: 423924812,
          promotionId: 56801,
          programId: 469,
          issualId: expect.stringMatching(ID),
          earnedId: expect.stringMatching(ID),
        });
      }
      const other = await send(
        pageBody('REVOKE_EARN', { programId: 469, promotionId: 56801 }, 'id', [
          { identifierValue: '423924812', source: 'INSTORE' },
        ]),
      );
      expect(other.body).toStrictEqual(pageRejection(8902, 'bulk action passed not supported'));
    });

    it('the limit example: by promoIdentifier the result names no promotionId; past the limit no ids and warning 8890', async () => {
      const res = await send(
        pageBody(undefined, { programId: 2607, promoIdentifier: 'Promo_testMay13' }, 'id', [
          { identifierValue: '387004879', source: 'INSTORE' },
          { identifierValue: '387004879', source: 'INSTORE' },
          { identifierValue: '387004879', source: 'INSTORE' },
        ]),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const base = {
        entityType: 'CUSTOMER',
        entityId: 387004879,
        promoIdentifier: 'Promo_testMay13',
        programId: 2607,
      };
      expect(res.body).toStrictEqual({
        response: [
          {
            result: { ...base, issualId: expect.stringMatching(ID), earnedId: expect.stringMatching(ID) },
            errors: [],
            warnings: [],
          },
          {
            result: { ...base, issualId: expect.stringMatching(ID), earnedId: expect.stringMatching(ID) },
            errors: [],
            warnings: [],
          },
          {
            result: base,
            errors: [],
            warnings: [{ status: false, code: 8890, message: PAGE.notIssuedLimits }],
          },
        ],
        totalCount: 3,
        failureCount: 0,
      });
      const [first, second] = res.body.response;
      expect(second.result.issualId).toBe(first.result.issualId);
      expect(second.result.earnedId).not.toBe(first.result.earnedId);

      const byId = (ids: string[]) =>
        send(
          pageBody(
            undefined,
            { programId: 2844, promotionId: 200206 },
            'id',
            ids.map((identifierValue) => ({ identifierValue, source: 'INSTORE' })),
          ),
        );
      expect((await byId(['423815857'])).status).toBe(200);
      const limited = await byId(['423815857']);
      expect({ status: limited.status, body: limited.body }).toStrictEqual({
        status: 200,
        body: {
          response: [
            {
              result: { entityType: 'CUSTOMER', entityId: 423815857, promotionId: 200206, programId: 2844 },
              errors: [],
              warnings: [{ status: false, code: 8890, message: PAGE.notIssuedLimits }],
            },
          ],
          totalCount: 1,
          failureCount: 0,
        },
      });
    });

    it('the page’s error examples, each with its own message', async () => {
      const customers = [{ identifierValue: '98662653', source: 'INSTORE' }];
      const cases: { name: string; body: unknown; status: number; answer: unknown }[] = [
        {
          name: 'Inactive promotion error',
          body: pageBody(undefined, { programId: 469, promotionId: 56800 }, 'id', customers),
          status: 400,
          answer: pageRejection(8892, PAGE.inactive),
        },
        {
          name: 'Invalid customer identifier',
          body: pageBody(undefined, { programId: 469, promotionId: 56799 }, 'id', [
            { identifierValue: '98662699', source: 'INSTORE' },
          ]),
          status: 201,
          answer: { response: [failedItem(8015, PAGE.customerNotFound)], totalCount: 1, failureCount: 1 },
        },
        {
          name: 'Invalid program ID',
          body: pageBody(undefined, { programId: 4690, promotionId: 56799 }, 'id', customers),
          status: 400,
          answer: pageRejection(1101, PAGE.invalidProgram),
        },
        {
          name: 'Invalid promotion ID',
          body: pageBody(undefined, { programId: 469, promotionId: 5679900 }, 'id', customers),
          status: 400,
          answer: pageRejection(8874, PAGE.invalidPromotion),
        },
        {
          name: 'type=USERGROUP2',
          body: {
            ...pageBody(undefined, { programId: 469, promotionId: 56799 }, 'id', customers),
            type: 'USERGROUP2',
          },
          status: 400,
          answer: pageRejection(8899, PAGE.userGroupDirect),
        },
        {
          name: 'Required parameters not present',
          body: pageBody(undefined, { programId: 469 }, 'id', customers),
          status: 400,
          answer: pageRejection(8881, PAGE.insufficientDirect),
        },
        {
          name: 'Invalid details passed',
          body: pageBody(undefined, {}, 'id', customers),
          status: 400,
          answer: pageRejection(8881, PAGE.insufficientDirect),
        },
        {
          name: 'A promotion of another type',
          body: pageBody(undefined, { programId: 469, promotionId: 57099 }, 'id', customers),
          status: 400,
          answer: pageRejection(8902, 'bulk action passed not supported for loyalty/generic promotion type'),
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
