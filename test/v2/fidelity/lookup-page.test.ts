import { beforeAll, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { describeEachStore } from '../../helpers/each-store.js';
import { get, NO_POINTS, URLS, usage } from '../../helpers/v2-family.js';
import { earnedIds, grant, PAGE, type PageOrg, seedPageOrg } from './page-org.js';

/**
 * `GET /v2/customers/lookup/promotionData` against Capillary's "Get Promotion Data" page
 * (get-promotion-data; operationId get-promotion-data-list-for-a-customer): its sample requests,
 * the response shape of every example (pageDetails, customerId, promotions[] with promotionName,
 * pointsOfferType, promotionRestriction, customerPromotionTimelines) and its error bodies.
 * How our records fill Capillary's fields is decided in the fidelity spec (brief/fidelity-spec.md §5).
 */

const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const AT = new Date(T0).toISOString();
const restriction = (kpi: string, maxLimit: string, currentCustomerUsage: string) => ({
  kpi,
  maxLimit,
  currentCustomerUsage,
  limitOn: 'CUSTOMER',
});

const E_AND_I = {
  promotionId: 1119990,
  promotionName: 'Enrol & issue | LOYALTY EARNING PROMO',
  programId: 1085,
  startDate: '2026-05-01T00:00:00.000Z',
  endDate: '2026-06-30T23:59:59.000Z',
  identifier: '7ff82c46-dd7e-45d7-b09a-eb58aed3d714',
  description: '',
  active: true,
  ...NO_POINTS,
  pointsOfferType: 'LOYALTY_EARNING',
};
const DIRECT = {
  promotionId: 1119509,
  promotionName: 'Direct issue | LOYALTY PROMO',
  programId: 1085,
  startDate: '2026-05-01T00:00:00.000Z',
  endDate: '2026-07-31T23:59:59.000Z',
  identifier: 'd1a3a7ec-b4c6-46f2-ba1f-adbe2e01e31d',
  description: '',
  active: true,
  ...NO_POINTS,
  pointsOfferType: 'LOYALTY',
};
const GENERIC = {
  promotionId: 1119508,
  promotionName: 'Available Aise Hi | GENERIC PROMO',
  programId: 1085,
  startDate: '2026-05-01T00:00:00.000Z',
  endDate: '2026-07-31T23:59:59.000Z',
  identifier: '358f87c6-877b-4181-aea7-23037a0990e4',
  description: '',
  active: true,
  ...NO_POINTS,
  ...usage(0),
  pointsOfferType: 'GENERIC',
  promotionRestriction: { issualRestrictions: [], earnRestrictions: [], redemptionRestrictions: [] },
};
const EXPIRED = {
  ...GENERIC,
  promotionId: 1115386,
  promotionName: '17 POINTS LYT PROMO ',
  startDate: '2025-11-06T00:00:00.000Z',
  endDate: '2025-12-31T23:59:59.000Z',
  identifier: 'ddafcfc2-781c-43d6-92e3-5263760aeb76',
};

describeEachStore(
  `promotionData as its Capillary page documents it`,
  () => ({ clock: fixedClock(T0) }),
  (t) => {
    let org: PageOrg;

    beforeAll(async () => {
      const promotion = (p: Record<string, unknown>) => ({
        id: p.promotionId as number,
        programId: p.programId as number,
        name: p.promotionName as string,
        promoIdentifier: p.identifier as string,
        startDate: p.startDate as string,
        endDate: p.endDate as string,
      });
      org = await seedPageOrg(t, {
        programs: [{ id: 469 }, { id: 1085 }, { id: 973 }],
        promotions: [
          {
            ...promotion(E_AND_I),
            type: 'ENROL_AND_ISSUE',
            maxIssualsPerCustomer: 10,
            maxEarnsPerCustomer: 7,
          },
          { ...promotion(DIRECT), type: 'DIRECT', maxIssualsPerCustomer: 100, maxEarnsPerCustomer: null },
          { ...promotion(GENERIC), type: 'GENERIC' },
          { ...promotion(EXPIRED), type: 'GENERIC' },
          {
            id: 67248,
            programId: 469,
            type: 'GENERIC',
            name: '100 Points for 3+ Transactions5',
            promoIdentifier: 'billslayer5',
            startDate: '2026-05-31T18:30:00.000Z',
            endDate: '2027-01-31T18:30:00.000Z',
          },
          { id: 67249, programId: 469, type: 'ENROL_AND_ISSUE', name: 'Open-ended enrol and issue' },
          { id: 79877, programId: 973, type: 'GENERIC', name: 'Promotion Points' },
          {
            id: 79878,
            programId: 973,
            type: 'ENROL_AND_ISSUE',
            name: 'Unlimited',
            maxIssualsPerCustomer: null,
            maxEarnsPerCustomer: null,
          },
        ],
        customers: [
          { id: 555380204, externalId: '000003873354', programIds: [469] },
          { id: 564332013, mobile: '919456430850', programIds: [469, 973] },
          { id: 345853998, programIds: [1085] },
          { id: 345854019, programIds: [1085] },
        ],
      });
    });

    const lookup = (query: Record<string, string | number>) => get(t, URLS.lookup, query, org.auth);
    const page = (pageNumber: number, pageSize: number, totalEntries: number, pageCount: number) => ({
      pageNumber,
      pageSize,
      totalEntries,
      pageCount,
    });

    it('"Sample Request": by externalId with limit=10&offset=0, in the page’s shape', async () => {
      const res = await lookup({
        identifierName: 'externalId',
        identifierValue: '000003873354',
        source: 'INSTORE',
        limit: 10,
        offset: 0,
      });
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: {
          pageDetails: page(0, 10, 2, 1),
          customerId: 555380204,
          promotions: [
            {
              promotionId: 67249,
              promotionName: 'Open-ended enrol and issue',
              programId: 469,
              startDate: null,
              endDate: null,
              identifier: null,
              description: '',
              active: true,
              ...NO_POINTS,
              ...usage(0),
              pointsOfferType: 'LOYALTY_EARNING',
              promotionRestriction: {
                issualRestrictions: [restriction('NUMBER_OF_ISSUALS', '1', '0')],
                earnRestrictions: [],
                redemptionRestrictions: [],
              },
              customerPromotionTimelines: [],
            },
            {
              promotionId: 67248,
              promotionName: '100 Points for 3+ Transactions5',
              programId: 469,
              startDate: '2026-05-31T18:30:00.000Z',
              endDate: '2027-01-31T18:30:00.000Z',
              identifier: 'billslayer5',
              description: '',
              active: true,
              ...NO_POINTS,
              ...usage(0),
              pointsOfferType: 'GENERIC',
              promotionRestriction: {
                issualRestrictions: [],
                earnRestrictions: [],
                redemptionRestrictions: [],
              },
            },
          ],
          warnings: [],
        },
      });
    });

    it('"For getting promotion identifier and description": by mobile with promotionType=GENERIC', async () => {
      const res = await lookup({
        identifierName: 'mobile',
        source: 'INSTORE',
        identifierValue: '919456430850',
        promotionType: 'GENERIC',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.pageDetails).toStrictEqual(page(0, 10, 2, 1));
      expect(res.body.customerId).toBe(564332013);
      expect(
        res.body.promotions.map((p: any) => [p.promotionId, p.pointsOfferType, p.identifier]),
      ).toStrictEqual([
        [79877, 'GENERIC', null],
        [67248, 'GENERIC', 'billslayer5'],
      ]);
    });

    it('promotionStatusForCustomer=AVAILABLE_TO_ENROL: the example’s promotion, nobody enrolled yet', async () => {
      const res = await lookup({
        identifierName: 'id',
        identifierValue: '345853998',
        source: 'INSTORE',
        promotionStatusForCustomer: 'AVAILABLE_TO_ENROL',
      });
      expect({ status: res.status, body: res.body }).toStrictEqual({
        status: 200,
        body: {
          pageDetails: page(0, 10, 1, 1),
          customerId: 345853998,
          promotions: [
            {
              ...E_AND_I,
              ...usage(0),
              promotionRestriction: {
                issualRestrictions: [restriction('NUMBER_OF_ISSUALS', '10', '0')],
                earnRestrictions: [restriction('NUMBER_OF_EARNS', '7', '0')],
                redemptionRestrictions: [],
              },
              customerPromotionTimelines: [],
            },
          ],
          warnings: [],
        },
      });
    });

    it('AVAILABLE_TO_EARN, AVAILABLE_TO_REDEEM and EXPIRED: enrolments and issues as customerPromotionTimelines', async () => {
      const query = { identifierName: 'id', identifierValue: '345854019', source: 'INSTORE' };
      const enrol = await grant(t, org.auth, 'ENROL', 1085, 1119990, [345854019]);
      const enrollmentId = Number(enrol.body.response[0].result.issualId);

      const toEarn = await lookup({ ...query, promotionStatusForCustomer: 'AVAILABLE_TO_EARN' });
      expect({ status: toEarn.status, body: toEarn.body }).toStrictEqual({
        status: 200,
        body: {
          pageDetails: page(0, 10, 2, 1),
          customerId: 345854019,
          promotions: [
            {
              ...E_AND_I,
              ...usage(0),
              promotionRestriction: {
                issualRestrictions: [restriction('NUMBER_OF_ISSUALS', '10', '1')],
                earnRestrictions: [restriction('NUMBER_OF_EARNS', '7', '0')],
                redemptionRestrictions: [],
              },
              customerPromotionTimelines: [
                {
                  enrollmentDate: AT,
                  enrollmentExpiryDate: E_AND_I.endDate,
                  enrollmentId,
                  issuedDetails: [],
                },
              ],
            },
            {
              ...DIRECT,
              ...usage(0),
              promotionRestriction: {
                issualRestrictions: [restriction('NUMBER_OF_ISSUALS', '100', '0')],
                earnRestrictions: [],
                redemptionRestrictions: [],
              },
              customerPromotionTimelines: [],
            },
          ],
          warnings: [],
        },
      });

      const [earnA] = earnedIds(await grant(t, org.auth, 'EARN', 1085, 1119990, [345854019])) as [number];
      const direct = await grant(t, org.auth, 'EARN', 1085, 1119509, [345854019]);
      const directEnrollment = Number(direct.body.response[0].result.issualId);
      const earnB = Number(direct.body.response[0].result.earnedId);
      const issued = (issualId: number, issualExpiryDate: string) => ({
        issualId,
        issualDate: AT,
        issualExpiryDate,
        redeemedCount: 0,
      });

      const toRedeem = await lookup({ ...query, promotionStatusForCustomer: 'AVAILABLE_TO_REDEEM' });
      expect({ status: toRedeem.status, body: toRedeem.body }).toStrictEqual({
        status: 200,
        body: {
          pageDetails: page(0, 10, 3, 1),
          customerId: 345854019,
          promotions: [
            {
              ...E_AND_I,
              ...usage(1),
              promotionRestriction: {
                issualRestrictions: [restriction('NUMBER_OF_ISSUALS', '10', '1')],
                earnRestrictions: [restriction('NUMBER_OF_EARNS', '7', '1')],
                redemptionRestrictions: [],
              },
              customerPromotionTimelines: [
                {
                  enrollmentDate: AT,
                  enrollmentExpiryDate: E_AND_I.endDate,
                  enrollmentId,
                  issuedDetails: [issued(earnA, E_AND_I.endDate)],
                },
              ],
            },
            {
              ...DIRECT,
              ...usage(1),
              promotionRestriction: {
                issualRestrictions: [restriction('NUMBER_OF_ISSUALS', '100', '1')],
                earnRestrictions: [],
                redemptionRestrictions: [],
              },
              customerPromotionTimelines: [
                {
                  enrollmentDate: AT,
                  enrollmentExpiryDate: DIRECT.endDate,
                  enrollmentId: directEnrollment,
                  issuedDetails: [issued(earnB, DIRECT.endDate)],
                },
              ],
            },
            GENERIC,
          ],
          warnings: [],
        },
      });

      const expired = await lookup({ ...query, promotionStatusForCustomer: 'EXPIRED' });
      expect({ status: expired.status, body: expired.body }).toStrictEqual({
        status: 200,
        body: { pageDetails: page(0, 10, 1, 1), customerId: 345854019, promotions: [EXPIRED], warnings: [] },
      });
    });

    it('promotionType DIRECT_ISSUE, the programs filter, limit from 0 and pages by offset', async () => {
      const customer = { identifierName: 'id', identifierValue: '345853998', source: 'INSTORE' };
      const direct = await lookup({ ...customer, promotionType: 'DIRECT_ISSUE' });
      expect(direct.status, JSON.stringify(direct.body)).toBe(200);
      expect(direct.body.promotions.map((p: any) => p.promotionId)).toStrictEqual([1119509]);

      const both = { identifierName: 'mobile', identifierValue: '919456430850', source: 'ALL' };
      const in973 = await lookup({ ...both, programs: '973' });
      expect(in973.status, JSON.stringify(in973.body)).toBe(200);
      expect(in973.body.promotions.map((p: any) => p.promotionId)).toStrictEqual([79878, 79877]);
      const inBoth = await lookup({ ...both, programs: '469,973' });
      expect(inBoth.body.pageDetails).toStrictEqual(page(0, 10, 4, 1));

      const counted = await lookup({ ...customer, limit: 0 });
      expect({ status: counted.status, body: counted.body }).toStrictEqual({
        status: 200,
        body: { pageDetails: page(0, 0, 4, 0), customerId: 345853998, promotions: [], warnings: [] },
      });
      const second = await lookup({ ...customer, limit: 1, offset: 1 });
      expect(second.body.pageDetails).toStrictEqual(page(1, 1, 4, 4));
      expect(second.body.promotions.map((p: any) => p.promotionId)).toStrictEqual([1119509]);
    });

    it('fetchAllUsage=true lists the limits that are not set, with maxLimit "-1"', async () => {
      const res = await lookup({
        identifierName: 'mobile',
        identifierValue: '919456430850',
        source: 'INSTORE',
        programs: '973',
        promotionType: 'ENROL_AND_ISSUE',
        fetchAllUsage: 'true',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.promotions.map((p: any) => p.promotionRestriction)).toStrictEqual([
        {
          issualRestrictions: [restriction('NUMBER_OF_ISSUALS', '-1', '0')],
          earnRestrictions: [restriction('NUMBER_OF_EARNS', '-1', '0')],
          redemptionRestrictions: [],
        },
      ]);
    });

    it('the page’s failures: a body of errors alone', async () => {
      const unknown = await lookup({
        identifierName: 'externalId',
        identifierValue: '000003873355',
        source: 'INSTORE',
      });
      expect({ status: unknown.status, body: unknown.body }).toStrictEqual({
        status: 400,
        body: { errors: [{ status: false, code: 8015, message: PAGE.customerNotFound }] },
      });
      const source = await lookup({
        identifierName: 'externalId',
        identifierValue: '000003873354',
        source: 'NOWHERE',
      });
      expect({ status: source.status, body: source.body }).toStrictEqual({
        status: 400,
        body: { errors: [{ status: false, code: 8003, message: PAGE.invalidSource }] },
      });
    });
  },
);
