import { beforeAll, describe, expect, it } from 'vitest';
import {
  bulkRequest,
  createCustomers,
  createPromotion,
  earnsOf,
  errorItem,
  expectBulkEnvelope,
  expectRejected,
  issualsOf,
  items,
  MSG,
  type PostOptions,
  patchPromotion,
  postBulk,
  recordCounts,
  revokeEarn,
  revokeIssual,
  usernameOf,
  warning,
} from '../helpers/bulk.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import type { JsonResponse } from '../helpers/test-app.js';

const ID = /^[1-9][0-9]*$/;

describeEachStore('POST /v2/promotion/bulk/enrolAndEarn', (t, kind) => {
  let org: StandardOrg;
  let orgB: StandardOrg;

  beforeAll(async () => {
    org = await seedStandardOrg(t);
    orgB = await seedStandardOrg(t);
  });

  /** One bulk call of the main org's write till (unless `opts.auth` says otherwise). */
  function call(
    action: 'ENROL' | 'EARN',
    promotionDetails: Record<string, unknown>,
    identifierName: string,
    customers: unknown[],
    opts: PostOptions = {},
  ): Promise<JsonResponse> {
    return postBulk(
      t,
      bulkRequest(action, { programId: org.programId, ...promotionDetails }, identifierName, customers),
      { auth: org.auth.write, ...opts },
    );
  }

  const byId = (action: 'ENROL' | 'EARN', promotionId: number, ids: readonly number[], opts?: PostOptions) =>
    call(action, { promotionId }, 'id', items(ids), opts);

  function okItem(
    customerId: number,
    promotionId: number,
    extra: Record<string, unknown> = {},
    warnings: unknown[] = [],
  ) {
    return {
      result: {
        entityType: 'CUSTOMER',
        entityId: customerId,
        promotionId,
        programId: org.programId,
        issualId: expect.stringMatching(ID),
        ...extra,
      },
      errors: [],
      warnings,
    };
  }

  describe('ENROL', () => {
    it('creates an issual and records who, when, through which source and request', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const customer = c as NonNullable<typeof c>;
      const requestId = `req-enrol-${kind}-1`;
      const res = await byId('ENROL', promo.id, [customer.id], { requestId });
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({
        response: [okItem(customer.id, promo.id)],
        totalCount: 1,
        failureCount: 0,
      });
      expect(res.headers['x-request-id']).toBe(requestId);
      const issualId = res.body.response[0].result.issualId;

      const rows = await issualsOf(t, promo.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        org_id: org.orgId,
        id: Number(issualId),
        promotion_id: promo.id,
        customer_id: customer.id,
        source: 'INSTORE',
        created_by: `till:${usernameOf(org.auth.write)}`,
        request_id: requestId,
        revoked_at: null,
      });
      expect(rows[0]?.created_at).toBeTypeOf('number');
      expect(await earnsOf(t, promo.id)).toHaveLength(0);
    });

    it('stores a generated request id when none (or an unusable one) is sent, and answers it', async () => {
      const promo = await createPromotion(t, org);
      const customers = await createCustomers(t, org, 2);
      const ids = customers.map((c) => c.id);
      const plain = await byId('ENROL', promo.id, [ids[0] as number]);
      const odd = await byId('ENROL', promo.id, [ids[1] as number], { requestId: 'has spaces in it' });
      expect(plain.status).toBe(200);
      expect(odd.status).toBe(200);
      const rows = await issualsOf(t, promo.id);
      expect(rows).toHaveLength(2);
      const [first, second] = rows;
      expect(first?.request_id).toBe(plain.headers['x-request-id']);
      expect(second?.request_id).toBe(odd.headers['x-request-id']);
      expect(first?.request_id).toMatch(/\S/);
      expect(second?.request_id).not.toBe('has spaces in it');
      expect(first?.request_id).not.toBe(second?.request_id);
    });

    it('enrolling again answers the same issualId with warning 8890 and writes nothing', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const first = await byId('ENROL', promo.id, [id]);
      const issualId = first.body.response[0].result.issualId;
      const second = await byId('ENROL', promo.id, [id], { requestId: 'second-enrol' });
      expect(second.status).toBe(200);
      expect(second.body).toStrictEqual({
        response: [okItem(id, promo.id, { issualId }, [warning(8890, MSG[8890])])],
        totalCount: 1,
        failureCount: 0,
      });
      const rows = await issualsOf(t, promo.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.request_id).not.toBe('second-enrol');
    });

    it('with the issual limit reached succeeds without ids, warns 8890 and is not a failure', async () => {
      const promo = await createPromotion(t, org); // maxIssualsPerCustomer defaults to 1
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const first = await byId('ENROL', promo.id, [id]);
      await revokeIssual(t, first.body.response[0].result.issualId);

      const again = await byId('ENROL', promo.id, [id]);
      expect(again.status).toBe(200);
      expect(again.body).toStrictEqual({
        response: [
          {
            result: {
              entityType: 'CUSTOMER',
              entityId: id,
              promotionId: promo.id,
              programId: org.programId,
            },
            errors: [],
            warnings: [warning(8890)],
          },
        ],
        totalCount: 1,
        failureCount: 0,
      });
      expect(await issualsOf(t, promo.id)).toHaveLength(1);
    });

    it('counts revoked issuals against maxIssualsPerCustomer, and a raised limit (PATCH) allows more', async () => {
      const promo = await createPromotion(t, org, { maxIssualsPerCustomer: 2 });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const first = await byId('ENROL', promo.id, [id]);
      const firstId = first.body.response[0].result.issualId;
      await revokeIssual(t, firstId);

      const second = await byId('ENROL', promo.id, [id]);
      expect(second.status).toBe(200);
      expect(second.body.response[0]).toStrictEqual(okItem(id, promo.id));
      const secondId = second.body.response[0].result.issualId;
      expect(secondId).not.toBe(firstId);
      await revokeIssual(t, secondId);

      const third = await byId('ENROL', promo.id, [id]);
      expect(third.status).toBe(200);
      expect(third.body.response[0].result).not.toHaveProperty('issualId');
      expect(third.body.response[0].warnings).toStrictEqual([warning(8890)]);
      expect(third.body.failureCount).toBe(0);

      await patchPromotion(t, org, promo.id, { maxIssualsPerCustomer: null });
      const unlimited = await byId('ENROL', promo.id, [id]);
      expect(unlimited.status).toBe(200);
      expect(unlimited.body.response[0]).toStrictEqual(okItem(id, promo.id));

      const rows = await issualsOf(t, promo.id);
      expect(rows).toHaveLength(3);
      expect(rows.filter((r) => r.revoked_at === null)).toHaveLength(1);
    });

    it('finds the promotion by promoIdentifier alone and answers the promoIdentifier', async () => {
      const ident = `ENROL-IDENT-${kind}`;
      const promo = await createPromotion(t, org, { promoIdentifier: ident });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await call('ENROL', { promoIdentifier: ident }, 'id', items([id]));
      expect(res.status).toBe(200);
      expect(res.body.response[0]).toStrictEqual(okItem(id, promo.id, { promoIdentifier: ident }));
      // By id too, the result names the identifier; by both (agreeing) as well.
      const again = await call('ENROL', { promotionId: promo.id, promoIdentifier: ident }, 'id', items([id]));
      expect(again.status).toBe(200);
      expect(again.body.response[0].result.promoIdentifier).toBe(ident);
    });

    it('omits promoIdentifier from the result when the promotion has none', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const res = await byId('ENROL', promo.id, [c?.id as number]);
      expect(res.status).toBe(200);
      expect(res.body.response[0].result).not.toHaveProperty('promoIdentifier');
      expect(res.body.response[0].result).not.toHaveProperty('earnedId');
    });

    it('includes promoIdentifier for the seeded promotion of an alias type (LOYALTY_EARNING)', async () => {
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await byId('ENROL', org.promotions.withIdentifier, [id]);
      expect(res.status).toBe(200);
      expect(res.body.response[0]).toStrictEqual(
        okItem(id, org.promotions.withIdentifier, { promoIdentifier: org.promoIdentifier }),
      );
    });

    it('accepts programId and promotionId as strings of digits', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await postBulk(
        t,
        bulkRequest(
          'ENROL',
          { programId: String(org.programId), promotionId: String(promo.id) },
          'id',
          items([id]),
        ),
        { auth: org.auth.write },
      );
      expect(res.status).toBe(200);
      expect(res.body.response[0]).toStrictEqual(okItem(id, promo.id));
      expect(res.body.response[0].result.promotionId).toBeTypeOf('number');
      expect(res.body.response[0].result.programId).toBeTypeOf('number');
    });

    it('writes nothing when the whole request is rejected', async () => {
      const [c] = await createCustomers(t, org, 1);
      const before = await recordCounts(t);
      const res = await byId('ENROL', org.promotions.inactive, [c?.id as number]);
      expectRejected(res, 400, 8892, MSG[8892]);
      const generic = await byId('ENROL', org.promotions.generic, [c?.id as number]);
      expectRejected(generic, 400, 8902, MSG['8902type']);
      expect(await recordCounts(t)).toStrictEqual(before);
    });

    it('keeps exactly one active issual per customer over repeated and duplicated enrolments', async () => {
      const promo = await createPromotion(t, org, { maxIssualsPerCustomer: null });
      const customers = await createCustomers(t, org, 3);
      const ids = customers.map((c) => c.id);
      for (let round = 0; round < 3; round++) {
        const res = await byId('ENROL', promo.id, [...ids, ...ids]);
        expect(res.status).toBe(200);
        expectBulkEnvelope(res.body);
      }
      const rows = await issualsOf(t, promo.id);
      expect(rows).toHaveLength(3);
      expect(new Set(rows.map((r) => r.customer_id))).toStrictEqual(new Set(ids));
      expect(rows.every((r) => r.revoked_at === null)).toBe(true);
    });
  });

  describe('EARN', () => {
    it('on ENROL_AND_ISSUE without enrolment fails with 8896 and writes nothing', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const res = await byId('EARN', promo.id, [c?.id as number]);
      expect(res.status).toBe(201);
      expect(res.body).toStrictEqual({
        response: [errorItem(8896, MSG[8896])],
        totalCount: 1,
        failureCount: 1,
      });
      expect(await issualsOf(t, promo.id)).toHaveLength(0);
      expect(await earnsOf(t, promo.id)).toHaveLength(0);
    });

    it('on ENROL_AND_ISSUE whose only issual was revoked fails with 8896', async () => {
      const promo = await createPromotion(t, org, { maxIssualsPerCustomer: null });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const enrol = await byId('ENROL', promo.id, [id]);
      await revokeIssual(t, enrol.body.response[0].result.issualId);
      const res = await byId('EARN', promo.id, [id]);
      expect(res.status).toBe(201);
      expect(res.body.response).toStrictEqual([errorItem(8896, MSG[8896])]);
    });

    it('after ENROL answers an earnedId on the same issualId and records the earn', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const enrol = await byId('ENROL', promo.id, [id]);
      const issualId = enrol.body.response[0].result.issualId;
      const requestId = `req-earn-${kind}`;
      const res = await call('EARN', { promotionId: promo.id }, 'id', items([id], 'all'), { requestId });
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({
        response: [okItem(id, promo.id, { issualId, earnedId: expect.stringMatching(ID) })],
        totalCount: 1,
        failureCount: 0,
      });
      const earnedId = res.body.response[0].result.earnedId;
      const earns = await earnsOf(t, promo.id);
      expect(earns).toHaveLength(1);
      expect(earns[0]).toMatchObject({
        org_id: org.orgId,
        id: Number(earnedId),
        issual_id: Number(issualId),
        promotion_id: promo.id,
        customer_id: id,
        created_by: `till:${usernameOf(org.auth.write)}`,
        request_id: requestId,
        revoked_at: null,
      });
      // The source given ("all", any case) is recorded in its canonical form.
      expect(earns[0]?.source).toBe('ALL');
      expect(await issualsOf(t, promo.id)).toHaveLength(1);
    });

    it('with the earn limit reached succeeds with issualId, no earnedId, warning 8890, not a failure', async () => {
      const promo = await createPromotion(t, org, { maxEarnsPerCustomer: 2 });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const enrol = await byId('ENROL', promo.id, [id]);
      const issualId = enrol.body.response[0].result.issualId;
      const e1 = await byId('EARN', promo.id, [id]);
      const e2 = await byId('EARN', promo.id, [id]);
      expect(e1.status).toBe(200);
      expect(e2.status).toBe(200);
      expect(e1.body.response[0].result.earnedId).not.toBe(e2.body.response[0].result.earnedId);

      const e3 = await byId('EARN', promo.id, [id]);
      expect(e3.status).toBe(200);
      expect(e3.body).toStrictEqual({
        response: [okItem(id, promo.id, { issualId }, [warning(8890)])],
        totalCount: 1,
        failureCount: 0,
      });
      expect(await earnsOf(t, promo.id)).toHaveLength(2);

      // Revoked earns do not count: revoking one makes room for one more.
      await revokeEarn(t, e1.body.response[0].result.earnedId);
      const e4 = await byId('EARN', promo.id, [id]);
      expect(e4.status).toBe(200);
      expect(e4.body.response[0]).toStrictEqual(
        okItem(id, promo.id, { issualId, earnedId: expect.stringMatching(ID) }),
      );
      expect(await earnsOf(t, promo.id)).toHaveLength(3);
    });

    it('counts the earn limit across a mixed request without counting the limited ones as failures', async () => {
      const promo = await createPromotion(t, org, { maxEarnsPerCustomer: 1 });
      const customers = await createCustomers(t, org, 2);
      const [a, b] = customers.map((c) => c.id) as [number, number];
      await byId('ENROL', promo.id, [a]);
      await byId('EARN', promo.id, [a]);
      // a: limit reached (warning); b: not enrolled (8896); unknown: 8015.
      const res = await call('EARN', { promotionId: promo.id }, 'id', [
        ...items([a, b]),
        { identifierValue: '987654321987', source: 'INSTORE' },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.totalCount).toBe(3);
      expect(res.body.failureCount).toBe(2);
      expect(res.body.response[0].warnings).toStrictEqual([warning(8890)]);
      expect(res.body.response[0].result).not.toHaveProperty('earnedId');
      expect(res.body.response[1]).toStrictEqual(errorItem(8896, MSG[8896]));
      expect(res.body.response[2]).toStrictEqual(errorItem(8015, MSG[8015]));
    });

    it('on DIRECT creates an implicit issual, reuses it on the next EARN, and records both', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const first = await byId('EARN', promo.id, [id], { requestId: `direct-1-${kind}` });
      expect(first.status).toBe(200);
      expect(first.body).toStrictEqual({
        response: [okItem(id, promo.id, { earnedId: expect.stringMatching(ID) })],
        totalCount: 1,
        failureCount: 0,
      });
      const { issualId, earnedId } = first.body.response[0].result;
      const second = await byId('EARN', promo.id, [id]);
      expect(second.status).toBe(200);
      expect(second.body.response[0]).toStrictEqual(
        okItem(id, promo.id, { issualId, earnedId: expect.stringMatching(ID) }),
      );
      expect(second.body.response[0].result.earnedId).not.toBe(earnedId);

      const issuals = await issualsOf(t, promo.id);
      expect(issuals).toHaveLength(1);
      expect(issuals[0]).toMatchObject({
        id: Number(issualId),
        customer_id: id,
        request_id: `direct-1-${kind}`,
        created_by: `till:${usernameOf(org.auth.write)}`,
        source: 'INSTORE',
      });
      const earns = await earnsOf(t, promo.id);
      expect(earns.map((e) => e.issual_id)).toStrictEqual([Number(issualId), Number(issualId)]);
    });

    it('on the seeded DIRECT promotion honours its earn limit of 3', async () => {
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await byId('EARN', org.promotions.direct, [id, id, id, id]);
      expect(res.status).toBe(200);
      expect(res.body.failureCount).toBe(0);
      const results = res.body.response.map((i: any) => i.result);
      expect(new Set(results.map((r: any) => r.issualId)).size).toBe(1);
      expect(results.filter((r: any) => 'earnedId' in r)).toHaveLength(3);
      expect(res.body.response[3].warnings).toStrictEqual([warning(8890)]);
    });

    it('on DIRECT with the issual limit used up by a revoked issual earns nothing and warns 8890', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const first = await byId('EARN', promo.id, [id]);
      await revokeIssual(t, first.body.response[0].result.issualId);
      const res = await byId('EARN', promo.id, [id]);
      expect(res.status).toBe(200);
      expect(res.body.failureCount).toBe(0);
      expect(res.body.response[0].result).not.toHaveProperty('earnedId');
      expect(res.body.response[0].warnings).toStrictEqual([warning(8890)]);
      expect(await issualsOf(t, promo.id)).toHaveLength(1);
      expect(await earnsOf(t, promo.id)).toHaveLength(1);
    });
  });

  describe('duplicates inside one request', () => {
    it('ENROL: the second sees the issual of the first', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await byId('ENROL', promo.id, [id, id]);
      expect(res.status).toBe(200);
      const [first, second] = res.body.response;
      expect(first).toStrictEqual(okItem(id, promo.id));
      expect(second).toStrictEqual(
        okItem(id, promo.id, { issualId: first.result.issualId }, [warning(8890, MSG[8890])]),
      );
      expect(await issualsOf(t, promo.id)).toHaveLength(1);
    });

    it('ENROL: the same customer named by differently written mobiles is one customer', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const mobile = c?.mobile as string;
      const spaced = `+${mobile.slice(0, 2)} (${mobile.slice(2, 5)}) ${mobile.slice(5, 8)}-${mobile.slice(8)}`;
      const res = await call('ENROL', { promotionId: promo.id }, 'mobile', items([mobile, spaced]));
      expect(res.status).toBe(200);
      expect(res.body.response[1].result.issualId).toBe(res.body.response[0].result.issualId);
      expect(res.body.response[1].warnings).toStrictEqual([warning(8890, MSG[8890])]);
      expect(await issualsOf(t, promo.id)).toHaveLength(1);
    });

    it('EARN on ENROL_AND_ISSUE: each duplicate earns until the limit, on one issual', async () => {
      const promo = await createPromotion(t, org, { maxEarnsPerCustomer: 2 });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const enrol = await byId('ENROL', promo.id, [id]);
      const issualId = enrol.body.response[0].result.issualId;
      const res = await byId('EARN', promo.id, [id, id, id]);
      expect(res.status).toBe(200);
      const [a, b, limited] = res.body.response;
      expect(a).toStrictEqual(okItem(id, promo.id, { issualId, earnedId: expect.stringMatching(ID) }));
      expect(b).toStrictEqual(okItem(id, promo.id, { issualId, earnedId: expect.stringMatching(ID) }));
      expect(a.result.earnedId).not.toBe(b.result.earnedId);
      expect(limited).toStrictEqual(okItem(id, promo.id, { issualId }, [warning(8890)]));
      expect(res.body.failureCount).toBe(0);
      expect(await earnsOf(t, promo.id)).toHaveLength(2);
    });

    it('EARN on DIRECT: the second reuses the implicit issual of the first', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await byId('EARN', promo.id, [id, id]);
      expect(res.status).toBe(200);
      const [a, b] = res.body.response;
      expect(b.result.issualId).toBe(a.result.issualId);
      expect(b.result.earnedId).not.toBe(a.result.earnedId);
      expect(await issualsOf(t, promo.id)).toHaveLength(1);
      const earns = await earnsOf(t, promo.id);
      expect(earns.map((e) => String(e.id)).sort()).toStrictEqual(
        [a.result.earnedId, b.result.earnedId].sort(),
      );
    });

    it('EARN on ENROL_AND_ISSUE after a failed duplicate: both fail with 8896', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await byId('EARN', promo.id, [id, id]);
      expect(res.status).toBe(201);
      expect(res.body).toStrictEqual({
        response: [errorItem(8896, MSG[8896]), errorItem(8896, MSG[8896])],
        totalCount: 2,
        failureCount: 2,
      });
    });

    it('hands out distinct ids to distinct customers in one request', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const customers = await createCustomers(t, org, 5);
      const ids = customers.map((c) => c.id);
      const res = await byId('EARN', promo.id, ids);
      expect(res.status).toBe(200);
      const results = res.body.response.map((i: any) => i.result);
      expect(results.map((r: any) => r.entityId)).toStrictEqual(ids);
      expect(new Set(results.map((r: any) => r.issualId)).size).toBe(5);
      expect(new Set(results.map((r: any) => r.earnedId)).size).toBe(5);
      const issuals = await issualsOf(t, promo.id);
      for (const r of results) {
        expect(issuals.find((i) => String(i.id) === r.issualId)?.customer_id).toBe(r.entityId);
      }
    });
  });

  describe('customer lookup', () => {
    it('by mobile, ignoring spaces, dashes, plus signs and brackets', async () => {
      const promo = await createPromotion(t, org, { maxIssualsPerCustomer: null });
      const customers = await createCustomers(t, org, 5);
      const forms = customers.map((c, i) => {
        const m = c.mobile as string;
        return [
          m,
          `+${m}`,
          `${m.slice(0, 3)} ${m.slice(3, 7)} ${m.slice(7)}`,
          `(${m.slice(0, 3)})-${m.slice(3, 7)}-${m.slice(7)}`,
          ` +${m.slice(0, 2)} (${m.slice(2, 6)}) ${m.slice(6)} `,
        ][i] as string;
      });
      const res = await call('ENROL', { promotionId: promo.id }, 'mobile', items(forms));
      expect(res.status).toBe(200);
      expect(res.body.response.map((i: any) => i.result.entityId)).toStrictEqual(customers.map((c) => c.id));
      expect(res.body.response.every((i: any) => i.warnings.length === 0)).toBe(true);
    });

    it('by email, trimmed and case-insensitive', async () => {
      const promo = await createPromotion(t, org);
      const customers = await createCustomers(t, org, 3);
      const emails = customers.map((c) => c.email as string);
      const forms = [
        emails[0] as string,
        `  ${(emails[1] as string).toUpperCase()}  `,
        `\t${(emails[2] as string).replace(/^c/, 'C').replace('example', 'ExAmPlE')}\n`,
      ];
      const res = await call('ENROL', { promotionId: promo.id }, 'email', items(forms));
      expect(res.status).toBe(200);
      expect(res.body.response.map((i: any) => i.result.entityId)).toStrictEqual(customers.map((c) => c.id));
    });

    it('by email for a customer registered with a mixed-case address', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1, () => ({ email: ` Mixed.Case.${kind}@Example.COM ` }));
      const res = await call(
        'ENROL',
        { promotionId: promo.id },
        'email',
        items([`mixed.case.${kind}@example.com`]),
      );
      expect(res.status).toBe(200);
      expect(res.body.response[0].result.entityId).toBe(c?.id);
    });

    it('by id, given as a string of digits', async () => {
      const promo = await createPromotion(t, org, { maxIssualsPerCustomer: null });
      const [c] = await createCustomers(t, org, 1);
      const id = c?.id as number;
      const res = await call('ENROL', { promotionId: promo.id }, 'id', items([String(id)]));
      expect(res.status).toBe(200);
      expect(res.body.response[0].result.entityId).toBe(id);
    });

    it('source ALL matches any registered source; another source fails with 8015; case does not matter', async () => {
      const promo = await createPromotion(t, org, { maxIssualsPerCustomer: null });
      const [c] = await createCustomers(t, org, 1, () => ({ sources: ['WEBSITE', 'LINE'] }));
      const id = String(c?.id);
      const res = await call('ENROL', { promotionId: promo.id }, 'id', [
        { identifierValue: id, source: 'ALL' },
        { identifierValue: id, source: 'all' },
        { identifierValue: id, source: 'WEBSITE' },
        { identifierValue: id, source: 'line' },
        { identifierValue: id, source: 'Website' },
        { identifierValue: id, source: 'INSTORE' },
        { identifierValue: id, source: 'facebook' },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.totalCount).toBe(7);
      expect(res.body.failureCount).toBe(2);
      for (const item of res.body.response.slice(0, 5)) {
        expect(item.result.entityId).toBe(c?.id);
        expect(item.errors).toStrictEqual([]);
      }
      expect(res.body.response[5]).toStrictEqual(errorItem(8015, MSG[8015]));
      expect(res.body.response[6]).toStrictEqual(errorItem(8015, MSG[8015]));
    });

    it('a customer who is not a member of the program gets 8015', async () => {
      const promo = await createPromotion(t, org);
      const [other] = await createCustomers(t, org, 1, () => ({ programIds: [org.otherProgramId] }));
      const [none] = await createCustomers(t, org, 1, () => ({ programIds: [] }));
      const res = await byId('ENROL', promo.id, [other?.id as number, none?.id as number]);
      expect(res.status).toBe(201);
      expect(res.body).toStrictEqual({
        response: [errorItem(8015, MSG[8015]), errorItem(8015, MSG[8015])],
        totalCount: 2,
        failureCount: 2,
      });
      expect(await issualsOf(t, promo.id)).toHaveLength(0);
    });

    it('malformed or unknown identifiers get 8015', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const ids = ['abc', '-5', '0', '1.5', '12e3', '0x1F', '999999999999', '99999999999999999999999'];
      const byIdRes = await call('ENROL', { promotionId: promo.id }, 'id', items(ids));
      expect(byIdRes.status).toBe(201);
      expect(byIdRes.body.response).toStrictEqual(ids.map(() => errorItem(8015, MSG[8015])));
      expect(byIdRes.body.failureCount).toBe(ids.length);

      const mobiles = ['abc', '98a7654321', '+', '()', `${c?.mobile as string}x`, '1'.repeat(60)];
      const byMobile = await call('ENROL', { promotionId: promo.id }, 'mobile', items(mobiles));
      expect(byMobile.status).toBe(201);
      expect(byMobile.body.response).toStrictEqual(mobiles.map(() => errorItem(8015, MSG[8015])));

      const emails = ['not-an-email', 'nobody@example.org', `${c?.email}x`, '@'];
      const byEmail = await call('ENROL', { promotionId: promo.id }, 'email', items(emails));
      expect(byEmail.status).toBe(201);
      expect(byEmail.body.response).toStrictEqual(emails.map(() => errorItem(8015, MSG[8015])));

      // An id used as a mobile or an email finds nobody either.
      const crossed = await call('ENROL', { promotionId: promo.id }, 'email', items([String(c?.id)]));
      expect(crossed.body.response).toStrictEqual([errorItem(8015, MSG[8015])]);
      expect(await issualsOf(t, promo.id)).toHaveLength(0);
    });
  });

  describe('per-customer checks and counts', () => {
    it('missing or empty identifierValue or source gets 11013; an unknown source gets 8003', async () => {
      const promo = await createPromotion(t, org);
      const [c] = await createCustomers(t, org, 1);
      const id = String(c?.id);
      const res = await call('ENROL', { promotionId: promo.id }, 'id', [
        { source: 'INSTORE' },
        { identifierValue: '', source: 'INSTORE' },
        { identifierValue: null, source: 'INSTORE' },
        { identifierValue: id },
        { identifierValue: id, source: '' },
        { identifierValue: id, source: null },
        {},
        { identifierValue: id, source: 'NOT_A_SOURCE' },
        { identifierValue: id, source: 'INSTORES' },
        { identifierValue: id, source: 'instore' },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.totalCount).toBe(10);
      expect(res.body.failureCount).toBe(9);
      expect(res.body.response.slice(0, 7)).toStrictEqual(
        Array.from({ length: 7 }, () => errorItem(11013, MSG[11013])),
      );
      expect(res.body.response[7]).toStrictEqual(errorItem(8003, MSG[8003]));
      expect(res.body.response[8]).toStrictEqual(errorItem(8003, MSG[8003]));
      expect(res.body.response[9]).toStrictEqual(okItem(c?.id as number, promo.id));
    });

    it('an unknown source is 8003 even for an unknown customer, and 11013 wins over a malformed id', async () => {
      const promo = await createPromotion(t, org);
      const res = await call('ENROL', { promotionId: promo.id }, 'id', [
        { identifierValue: 'not-an-id', source: 'MOON' },
        { identifierValue: 'not-an-id', source: '' },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.response).toStrictEqual([errorItem(8003, MSG[8003]), errorItem(11013, MSG[11013])]);
    });

    it('answers items in request order with totalCount and failureCount, 201 when any failed', async () => {
      const promo = await createPromotion(t, org);
      const customers = await createCustomers(t, org, 2);
      const [a, b] = customers.map((c) => c.id) as [number, number];
      const res = await call('ENROL', { promotionId: promo.id }, 'id', [
        { identifierValue: String(a), source: 'INSTORE' },
        { identifierValue: '123456789123', source: 'INSTORE' },
        { identifierValue: String(b), source: 'INSTORE' },
        { identifierValue: String(b), source: 'TMALL' },
        { identifierValue: '', source: 'INSTORE' },
        { identifierValue: String(a), source: 'SPACESHIP' },
      ]);
      expect(res.status).toBe(201);
      expect(res.body).toStrictEqual({
        response: [
          okItem(a, promo.id),
          errorItem(8015, MSG[8015]),
          okItem(b, promo.id),
          errorItem(8015, MSG[8015]),
          errorItem(11013, MSG[11013]),
          errorItem(8003, MSG[8003]),
        ],
        totalCount: 6,
        failureCount: 4,
      });
      // Successes of a partly failed request are written.
      expect((await issualsOf(t, promo.id)).map((r) => r.customer_id).sort()).toStrictEqual([a, b].sort());
    });

    it('answers 200 when every item succeeds, warnings included', async () => {
      const promo = await createPromotion(t, org);
      const customers = await createCustomers(t, org, 3);
      const ids = customers.map((c) => c.id);
      await byId('ENROL', promo.id, [ids[0] as number]);
      const res = await byId('ENROL', promo.id, ids);
      expect(res.status).toBe(200);
      expect(res.body.totalCount).toBe(3);
      expect(res.body.failureCount).toBe(0);
      expect(res.body.response[0].warnings).toStrictEqual([warning(8890, MSG[8890])]);
    });

    it('answers 201 when every item fails, and writes nothing', async () => {
      const promo = await createPromotion(t, org);
      const before = await recordCounts(t);
      const res = await byId('ENROL', promo.id, [111111111111, 222222222222]);
      expect(res.status).toBe(201);
      expect(res.body.totalCount).toBe(2);
      expect(res.body.failureCount).toBe(2);
      expect(await recordCounts(t)).toStrictEqual(before);
    });

    it('takes 100 customers in one request', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const customers = await createCustomers(t, org, 100);
      const res = await byId(
        'EARN',
        promo.id,
        customers.map((c) => c.id),
      );
      expect(res.status).toBe(200);
      expect(res.body.totalCount).toBe(100);
      expect(res.body.failureCount).toBe(0);
      expect(await issualsOf(t, promo.id)).toHaveLength(100);
      expect(await earnsOf(t, promo.id)).toHaveLength(100);
    });
  });

  describe('concurrent requests', () => {
    it('parallel ENROLs of the same customers leave exactly one active issual each, all answering it', async () => {
      const promo = await createPromotion(t, org);
      const customers = await createCustomers(t, org, 5);
      const ids = customers.map((c) => c.id);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => byId('ENROL', promo.id, i % 2 === 0 ? ids : [...ids].reverse())),
      );
      for (const res of results) {
        expect(res.status).toBe(200);
        expect(res.body.failureCount).toBe(0);
      }
      const rows = await issualsOf(t, promo.id);
      expect(rows).toHaveLength(5);
      const byCustomer = new Map(rows.map((r) => [r.customer_id, String(r.id)]));
      for (const res of results) {
        for (const item of res.body.response) {
          expect(item.result.issualId).toBe(byCustomer.get(item.result.entityId));
        }
      }
      // Exactly one of the answers created each issual; the others saw it as already enrolled.
      const fresh = results.flatMap((r) => r.body.response.filter((i: any) => i.warnings.length === 0));
      expect(fresh).toHaveLength(5);
    });

    it('parallel DIRECT EARNs never pass the earn limit nor create a second issual', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: 3 });
      const customers = await createCustomers(t, org, 3);
      const ids = customers.map((c) => c.id);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => byId('EARN', promo.id, i % 2 === 0 ? ids : [...ids].reverse())),
      );
      for (const res of results) expect(res.status).toBe(200);
      expect(await issualsOf(t, promo.id)).toHaveLength(3);
      const earns = await earnsOf(t, promo.id);
      expect(earns).toHaveLength(9);
      for (const id of ids) expect(earns.filter((e) => e.customer_id === id)).toHaveLength(3);
      const earned = results.flatMap((r) => r.body.response.filter((i: any) => 'earnedId' in i.result));
      expect(earned).toHaveLength(9);
      expect(new Set(earned.map((i: any) => i.result.earnedId)).size).toBe(9);
    });
  });

  describe('across orgs', () => {
    it("a till of org B gets 1101 for org A's program", async () => {
      const before = await recordCounts(t);
      const res = await postBulk(
        t,
        bulkRequest(
          'ENROL',
          { programId: org.programId, promotionId: org.promotions.enrolAndIssue },
          'id',
          items([org.customers[0]?.id as number]),
        ),
        { auth: orgB.auth.write },
      );
      expectRejected(res, 400, 1101, MSG[1101]);
      expect(await recordCounts(t)).toStrictEqual(before);
    });

    it("a till of org B gets 8874 for org A's promotion in its own program", async () => {
      const res = await postBulk(
        t,
        bulkRequest(
          'ENROL',
          { programId: orgB.programId, promotionId: org.promotions.enrolAndIssue },
          'id',
          items([orgB.customers[0]?.id as number]),
        ),
        { auth: orgB.auth.write },
      );
      expectRejected(res, 400, 8874, MSG[8874]);
      const byIdent = await postBulk(
        t,
        bulkRequest(
          'ENROL',
          { programId: orgB.programId, promoIdentifier: org.promoIdentifier },
          'id',
          items([orgB.customers[0]?.id as number]),
        ),
        { auth: orgB.auth.write },
      );
      expectRejected(byIdent, 400, 8874, MSG[8874]);
    });

    it("a till of org B gets 8015 for org A's customers, by id, mobile and email", async () => {
      const a = org.customers[1] as { id: number; mobile: string; email: string };
      const promoB = orgB.promotions.direct;
      const body = (name: string, value: string) =>
        bulkRequest('EARN', { programId: orgB.programId, promotionId: promoB }, name, items([value]));
      for (const [name, value] of [
        ['id', String(a.id)],
        ['mobile', a.mobile],
        ['email', a.email],
      ] as const) {
        const res = await postBulk(t, body(name, value), { auth: orgB.auth.write });
        expect(res.status).toBe(201);
        expect(res.body).toStrictEqual({
          response: [errorItem(8015, MSG[8015])],
          totalCount: 1,
          failureCount: 1,
        });
      }
      expect(await issualsOf(t, promoB)).toHaveLength(0);
    });

    it('the same mobile in two orgs names each org its own customer', async () => {
      const mobile = '4915112345678';
      const [inA] = await createCustomers(t, org, 1, () => ({ mobile }));
      const [inB] = await createCustomers(t, orgB, 1, () => ({ mobile, programIds: [orgB.programId] }));
      const resA = await call('EARN', { promotionId: org.promotions.direct }, 'mobile', items([mobile]));
      const resB = await postBulk(
        t,
        bulkRequest(
          'EARN',
          { programId: orgB.programId, promotionId: orgB.promotions.direct },
          'mobile',
          items([mobile]),
        ),
        { auth: orgB.auth.write },
      );
      expect(resA.status).toBe(200);
      expect(resB.status).toBe(200);
      expect(resA.body.response[0].result.entityId).toBe(inA?.id);
      expect(resB.body.response[0].result.entityId).toBe(inB?.id);
      const issualsB = await issualsOf(t, orgB.promotions.direct);
      expect(issualsB.map((r) => [r.org_id, r.customer_id])).toStrictEqual([[orgB.orgId, inB?.id]]);
    });
  });
});
