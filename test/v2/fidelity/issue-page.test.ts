import { beforeAll, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { describeEachStore } from '../../helpers/each-store.js';
import { post, URLS } from '../../helpers/v2-family.js';
import { PAGE, type PageOrg, pageBody, seedPageOrg } from './page-org.js';

/**
 * `POST /v2/promotion/issue` against Capillary's pages for it: enrol-customer-to-promotion,
 * issue-loyalty-promotion and issue-promotion ("Direct Issue: issues; Enrol and Issue: enrols the
 * customer, but does not issue"), whose examples answer sideEffects with numeric ids and
 * `type: "Points promotion"`, errors without sideEffects, and list 1212 for an entity type.
 */

const T0 = Date.parse('2026-06-01T10:00:00.000Z');

describeEachStore(
  `/v2/promotion/issue as its Capillary pages document it`,
  () => ({ clock: fixedClock(T0) }),
  (t) => {
    let org: PageOrg;

    beforeAll(async () => {
      org = await seedPageOrg(t, {
        programs: [{ id: 469 }, { id: 2750 }],
        promotions: [
          { id: 65777, programId: 469, type: 'DIRECT', maxEarnsPerCustomer: null },
          { id: 57099, programId: 469, type: 'ENROL_AND_ISSUE' },
          { id: 201436, programId: 2750, type: 'DIRECT', maxEarnsPerCustomer: 1 },
        ],
        customers: [
          { id: 18767431, mobile: '18767431754', programIds: [469, 2750] },
          { id: 555380204, externalId: '000003873354', programIds: [469] },
          { id: 423924812, programIds: [2750] },
        ],
      });
    });

    const issue = (query: Record<string, string>, body: unknown) =>
      post(t, `${URLS.issue}?${new URLSearchParams(query).toString()}`, body, { auth: org.auth });
    const PAGE_QUERY = { identifierName: 'mobile', identifierValue: '18767431754', source: 'INSTORE' };
    const v2Error = (code: number, message: string) => ({
      warnings: [],
      errors: [{ status: false, code, message }],
    });

    it('the page’s request on a Direct Issue promotion issues it: numeric ids, type "Points promotion"', async () => {
      const res = await issue(PAGE_QUERY, { programId: 469, promotionId: 65777 });
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: {
          warnings: [],
          errors: [],
          sideEffects: [
            {
              programId: 469,
              issualId: expect.any(Number),
              earnedId: expect.any(Number),
              promotionId: 65777,
              type: 'Points promotion',
            },
          ],
        },
      });
    });

    it('on an Enrol and Issue promotion it enrols the customer and issues nothing', async () => {
      const res = await issue(PAGE_QUERY, { programId: 469, promotionId: 57099 });
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: {
          warnings: [],
          errors: [],
          sideEffects: [
            { programId: 469, issualId: expect.any(Number), promotionId: 57099, type: 'Points promotion' },
          ],
        },
      });
      const issualId = res.body.sideEffects[0].issualId;
      const again = await issue(PAGE_QUERY, { programId: 469, promotionId: 57099 });
      expect({ status: again.status, body: again.body }).toStrictEqual({
        status: 200,
        body: {
          warnings: [{ status: false, code: 8890, message: PAGE.alreadyEnrolled }],
          errors: [],
          sideEffects: [{ programId: 469, issualId, promotionId: 57099, type: 'Points promotion' }],
        },
      });
      // Enrolled, not issued: the customer's first earn comes from an EARN, on that enrolment.
      const earn = await post(
        t,
        URLS.enrolAndEarn,
        pageBody('EARN', { programId: 469, promotionId: 57099 }, 'mobile', [
          { identifierValue: '18767431754', source: 'INSTORE' },
        ]),
        { auth: org.auth },
      );
      expect(earn.status).toBe(200);
      expect(earn.body.response[0].result.issualId).toBe(String(issualId));
    });

    it('"Error: due to config issues or limit": warning 8890 with the page’s message and no side effects', async () => {
      const query = { identifierName: 'id', identifierValue: '423924812', source: 'INSTORE' };
      expect((await issue(query, { programId: 2750, promotionId: 201436 })).status).toBe(200);
      const res = await issue(query, { programId: 2750, promotionId: 201436 });
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: {
          warnings: [{ status: false, code: 8890, message: PAGE.notIssuedLimits }],
          errors: [],
          sideEffects: [],
        },
      });
    });

    it('identifierName externalId finds the customer by its externalId, leading zeros and all', async () => {
      const res = await issue(
        { identifierName: 'externalId', identifierValue: '000003873354', source: 'INSTORE' },
        { programId: 469, promotionId: 65777 },
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.sideEffects).toStrictEqual([
        {
          programId: 469,
          issualId: expect.any(Number),
          earnedId: expect.any(Number),
          promotionId: 65777,
          type: 'Points promotion',
        },
      ]);
    });

    it('source MOBILE_APP, which the page lists, finds a customer registered in it', async () => {
      const made = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/customers`, {
        customers: [{ id: 555380206, sources: ['MOBILE_APP'], programIds: [469] }],
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const res = await issue(
        { identifierName: 'id', identifierValue: '555380206', source: 'MOBILE_APP' },
        { programId: 469, promotionId: 65777 },
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.sideEffects).toHaveLength(1);
    });

    it('the type query parameter: CUSTOMER (with an accountId) is served, another entity type gets 1212', async () => {
      const served = await issue(
        { ...PAGE_QUERY, type: 'CUSTOMER', accountId: 'ACC-1' },
        { programId: 469, promotionId: 65777 },
      );
      expect(served.status, JSON.stringify(served.body)).toBe(200);
      for (const type of ['USERGROUP2', 'PARTNER']) {
        const res = await issue({ ...PAGE_QUERY, type }, { programId: 469, promotionId: 65777 });
        expect({ type, status: res.status, body: res.body }).toStrictEqual({
          type,
          status: 400,
          body: v2Error(1212, PAGE.entityTypeInvalid),
        });
      }
    });

    it('the page’s error examples: errors and warnings only, no sideEffects', async () => {
      const cases: { name: string; query: Record<string, string>; body: unknown; answer: unknown }[] = [
        {
          name: 'Invalid ProgramId passed',
          query: PAGE_QUERY,
          body: { programId: 4690, promotionId: 65777 },
          answer: v2Error(1101, PAGE.invalidProgram),
        },
        {
          name: 'Invalid Promotion ID passed',
          query: PAGE_QUERY,
          body: { programId: 469, promotionId: 657770 },
          answer: v2Error(8874, PAGE.invalidPromotion),
        },
        {
          name: 'Query Parameters are required',
          query: {},
          body: { programId: 469, promotionId: 65777 },
          answer: v2Error(11013, PAGE.emptyIdentifiers),
        },
        {
          name: 'Customer not found',
          query: { ...PAGE_QUERY, identifierValue: '18767431799' },
          body: { programId: 469, promotionId: 65777 },
          answer: v2Error(8015, PAGE.customerNotFound),
        },
      ];
      for (const c of cases) {
        const res = await issue(c.query, c.body);
        expect({ name: c.name, status: res.status, body: res.body }).toStrictEqual({
          name: c.name,
          status: 400,
          body: c.answer,
        });
      }
    });
  },
);
