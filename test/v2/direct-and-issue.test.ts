import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import {
  bulk,
  byIds,
  type CallOptions,
  earnRows,
  errorItem,
  expectRejected,
  expectV2Error,
  get,
  ID,
  issualRows,
  MESSAGE,
  NO_POINTS,
  newApiClient,
  newCustomers,
  newPromotion,
  patchPromotion,
  post,
  type RawResponse,
  URLS,
  usage,
  usernameOf,
  warning,
  writeCounts,
} from '../helpers/v2-family.js';

const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describeEachStore(
  'directEarn, issue and promotionData',
  () => ({ clock: fixedClock(T0) }),
  (t, kind, { clock }) => {
    let org: StandardOrg;
    let orgB: StandardOrg;

    beforeAll(async () => {
      org = await seedStandardOrg(t, 2);
      orgB = await seedStandardOrg(t, 2);
    });

    const call = (url: string, body: unknown, opts: CallOptions = {}): Promise<RawResponse> =>
      post(t, url, body, { auth: org.auth.write, ...opts });

    const direct = (promotionId: number, ids: number[], opts: CallOptions = {}) =>
      call(URLS.directEarn, bulk('EARN', { programId: org.programId, promotionId }, 'id', byIds(ids)), opts);

    describe('POST /v2/promotion/bulk/directEarn', () => {
      it('EARN creates an issual, then earns on it; records who, when, the source and the request id', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT' });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        const first = await direct(promo.id, [id], { requestId: `direct-1-${kind}` });
        expect(first.status).toBe(200);
        expect(first.body).toStrictEqual({
          response: [
            {
              result: {
                entityType: 'CUSTOMER',
                entityId: id,
                promotionId: promo.id,
                programId: org.programId,
                issualId: expect.stringMatching(ID),
                earnedId: expect.stringMatching(ID),
              },
              errors: [],
              warnings: [],
            },
          ],
          totalCount: 1,
          failureCount: 0,
        });
        const second = await direct(promo.id, [id]);
        expect(second.status).toBe(200);
        const [r1, r2] = [first.body.response[0].result, second.body.response[0].result];
        expect(r2.issualId).toBe(r1.issualId);
        expect(r2.earnedId).not.toBe(r1.earnedId);

        const by = `till:${usernameOf(org.auth.write)}`;
        const issuals = await issualRows(t, promo.id);
        expect(issuals).toHaveLength(1);
        expect(issuals[0]).toMatchObject({
          id: Number(r1.issualId),
          customer_id: id,
          source: 'INSTORE',
          created_at: T0,
          created_by: by,
          request_id: `direct-1-${kind}`,
          revoked_at: null,
        });
        const earns = await earnRows(t, promo.id);
        expect(
          earns.map((e) => [String(e.id), String(e.issual_id), e.customer_id, e.created_by]),
        ).toStrictEqual([
          [r1.earnedId, r1.issualId, id, by],
          [r2.earnedId, r1.issualId, id, by],
        ]);
        expect(earns[0]?.request_id).toBe(`direct-1-${kind}`);
      });

      // Its page names the promotion in results as the request did (promoIdentifier alone here),
      // where the seed page's enrolAndEarn gives promotionId too; otherwise the shape is the same.
      it('answers the shape of enrolAndEarn’s EARN on a DIRECT promotion, naming the promotion as requested', async () => {
        const viaDirect = await newPromotion(t, org, { type: 'DIRECT', promoIdentifier: `D1-${kind}-${T0}` });
        const viaBulk = await newPromotion(t, org, { type: 'DIRECT', promoIdentifier: `D2-${kind}-${T0}` });
        const [a, b] = await newCustomers(t, org, 2);
        const ids = [a?.id as number, b?.id as number, 999_999_999_999];
        const one = await call(
          URLS.directEarn,
          bulk(
            'EARN',
            { programId: org.programId, promoIdentifier: viaDirect.promoIdentifier },
            'id',
            byIds(ids),
          ),
        );
        const two = await call(
          URLS.enrolAndEarn,
          bulk(
            'EARN',
            { programId: org.programId, promoIdentifier: viaBulk.promoIdentifier },
            'id',
            byIds(ids),
          ),
        );
        expect(one.status).toBe(201);
        expect(two.status).toBe(201);
        const normal = (body: any, promo: { id: number; promoIdentifier: string | null }) =>
          JSON.parse(
            JSON.stringify(body)
              .replaceAll(`"promotionId":${promo.id}`, '"promotionId":0')
              .replaceAll(`"promoIdentifier":"${promo.promoIdentifier}"`, '"promoIdentifier":"P"')
              .replace(/"(issualId|earnedId)":"\d+"/g, '"$1":"N"'),
          );
        const seed = normal(two.body, viaBulk);
        for (const item of seed.response) delete item.result?.promotionId;
        expect(normal(one.body, viaDirect)).toStrictEqual(seed);
        expect(one.body.response[0].result.promoIdentifier).toBe(viaDirect.promoIdentifier);
        expect(one.body.response[2]).toStrictEqual(errorItem(8015, MESSAGE[8015]));
      });

      it('finds customers by mobile and email, any registered source with ALL, and keeps request order', async () => {
        const promo = await newPromotion(t, org, { type: 'LOYALTY' });
        const [a, b] = await newCustomers(t, org, 2, () => ({ sources: ['WEBSITE', 'INSTORE'] }));
        const byMobile = await call(
          URLS.directEarn,
          bulk('EARN', { programId: String(org.programId), promotionId: String(promo.id) }, 'mobile', [
            { identifierValue: `+${b?.mobile}`, source: 'website' },
            { identifierValue: a?.mobile, source: 'ALL' },
          ]),
        );
        expect(byMobile.status).toBe(200);
        expect(byMobile.body.response.map((i: any) => i.result.entityId)).toStrictEqual([b?.id, a?.id]);
        const byEmail = await call(
          URLS.directEarn,
          bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'email', [
            { identifierValue: ` ${a?.email?.toUpperCase()} `, source: 'INSTORE' },
          ]),
        );
        expect(byEmail.status).toBe(200);
        expect(byEmail.body.response[0].result.issualId).toBe(byMobile.body.response[1].result.issualId);
      });

      // Its page: a reached limit is warning 8890 in the page's words, with no ids.
      it('at maxEarnsPerCustomer answers no ids and warns 8890 in the page’s words (not a failure)', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: 2 });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        const res = await direct(promo.id, [id, id, id]);
        expect(res.status).toBe(200);
        expect(res.body.failureCount).toBe(0);
        const [x, y, z] = res.body.response;
        expect(x.result.earnedId).toMatch(ID);
        expect(y.result.earnedId).toMatch(ID);
        expect(z).toStrictEqual({
          result: {
            entityType: 'CUSTOMER',
            entityId: id,
            promotionId: promo.id,
            programId: org.programId,
          },
          errors: [],
          warnings: [warning(8890, MESSAGE['8890direct'])],
        });
        expect(y.result.issualId).toBe(x.result.issualId);
        expect(await earnRows(t, promo.id)).toHaveLength(2);
        const again = await direct(promo.id, [id]);
        expect(again.body.response[0].warnings).toStrictEqual([warning(8890)]);
        expect(await earnRows(t, promo.id)).toHaveLength(2);
      });

      it('per-customer errors 11013, 8003 and 8015 (HTTP 201); the others earn', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT' });
        const [c, outsider] = await newCustomers(t, org, 2, (i) => (i === 1 ? { programIds: [] } : {}));
        const res = await call(
          URLS.directEarn,
          bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'id', [
            { identifierValue: String(c?.id) },
            { identifierValue: '', source: 'INSTORE' },
            { identifierValue: String(c?.id), source: 'POS' },
            { identifierValue: 'abc', source: 'INSTORE' },
            { identifierValue: String(outsider?.id), source: 'INSTORE' },
            { identifierValue: String(c?.id), source: 'FACEBOOK' },
            { identifierValue: String(orgB.customers[0]?.id), source: 'INSTORE' },
            { identifierValue: String(c?.id), source: 'INSTORE' },
          ]),
        );
        expect(res.status).toBe(201);
        expect(res.body.response.slice(0, 7)).toStrictEqual([
          errorItem(11013, MESSAGE[11013]),
          errorItem(11013, MESSAGE[11013]),
          errorItem(8003, MESSAGE[8003]),
          errorItem(8015, MESSAGE[8015]),
          errorItem(8015, MESSAGE[8015]),
          errorItem(8015, MESSAGE[8015]),
          errorItem(8015, MESSAGE[8015]),
        ]);
        expect(res.body.response[7].result.earnedId).toMatch(ID);
        expect(res.body).toMatchObject({ totalCount: 8, failureCount: 7 });
        expect(await earnRows(t, promo.id)).toHaveLength(1);
      });

      describe('whole-request rejections write nothing', () => {
        let customerId: number;
        let promoId: number;
        beforeAll(async () => {
          const [c] = await newCustomers(t, org, 1);
          customerId = c?.id as number;
          promoId = (await newPromotion(t, org, { type: 'DIRECT' })).id;
        });

        async function rejected(
          body: unknown,
          status: number,
          code: number,
          message?: string,
          auth = org.auth.write,
        ) {
          const before = await writeCounts(t);
          expectRejected(await post(t, URLS.directEarn, body, { auth }), status, code, message);
          expect(await writeCounts(t)).toStrictEqual(before);
        }

        // The page's request has no bulkAction (EARN), an older version sends ENROL: both are EARN.
        it('8902 "bulk action passed not supported" for any action but EARN, ENROL or none', async () => {
          for (const action of ['ENROL', undefined]) {
            const res = await call(
              URLS.directEarn,
              bulk(action, { programId: org.programId, promotionId: promoId }, 'id', byIds([customerId])),
            );
            expect(res.status).toBe(200);
            expect(res.body.response[0].result.earnedId).toMatch(ID);
          }
          for (const action of ['REVOKE_EARN', 'REVOKE_ENROL', 'earn', 'REVOKE']) {
            await rejected(
              bulk(action, { programId: org.programId, promotionId: promoId }, 'id', byIds([customerId])),
              400,
              8902,
              MESSAGE[8902],
            );
          }
        });

        it('8902 "... for loyalty/generic promotion type" for an enrol-and-issue or generic promotion', async () => {
          for (const promotionId of [
            org.promotions.enrolAndIssue,
            org.promotions.withIdentifier,
            org.promotions.generic,
          ]) {
            await rejected(
              bulk('EARN', { programId: org.programId, promotionId }, 'id', byIds([customerId])),
              400,
              8902,
              MESSAGE['8902type'],
            );
          }
          await rejected(
            bulk(
              'EARN',
              { programId: org.programId, promoIdentifier: org.promoIdentifier },
              'id',
              byIds([customerId]),
            ),
            400,
            8902,
            MESSAGE['8902type'],
          );
        });

        it('8901, 8899, 8881, 11013, 8013 and 1060 in the contract’s order', async () => {
          const base = bulk(
            'EARN',
            { programId: org.programId, promotionId: promoId },
            'id',
            byIds([customerId]),
          );
          await rejected({ ...base, type: 'customer' }, 400, 8901, MESSAGE[8901]);
          // The direct pages word 8899 and 8881 otherwise than the seed page.
          await rejected(
            { ...base, type: 'USERGROUP2', bulkAction: 'ENROL' },
            400,
            8899,
            MESSAGE['8899direct'],
          );
          await rejected(
            { ...base, promotionDetails: { programId: 0, promotionId: promoId } },
            400,
            8881,
            MESSAGE['8881direct'],
          );
          await rejected(
            { ...base, promotionDetails: { programId: org.programId } },
            400,
            8881,
            MESSAGE['8881direct'],
          );
          await rejected({ ...base, identifierName: undefined }, 400, 11013, MESSAGE[11013]);
          await rejected({ ...base, identifierName: 'externalId' }, 400, 8013, MESSAGE[8013]);
          await rejected({ ...base, customers: undefined }, 400, 11013, MESSAGE[11013]);
          await rejected(
            { ...base, customers: byIds(Array(101).fill(customerId)) },
            400,
            1060,
            MESSAGE[1060],
          );
          // 100 is fine
          const hundred = await call(URLS.directEarn, {
            ...base,
            customers: byIds(Array(100).fill(customerId)),
          });
          expect(hundred.status).toBe(200);
        });

        it('1101, 8874 and 8892', async () => {
          const body = (details: Record<string, unknown>) => bulk('EARN', details, 'id', byIds([customerId]));
          await rejected(body({ programId: 999_999_999, promotionId: promoId }), 400, 1101, MESSAGE[1101]);
          await rejected(body({ programId: orgB.programId, promotionId: promoId }), 400, 1101, MESSAGE[1101]);
          await rejected(
            body({ programId: org.programId, promotionId: 999_999_999 }),
            400,
            8874,
            MESSAGE[8874],
          );
          await rejected(
            body({ programId: org.otherProgramId, promotionId: promoId }),
            400,
            8874,
            MESSAGE[8874],
          );
          await rejected(
            body({ programId: org.programId, promotionId: orgB.promotions.direct }),
            400,
            8874,
            MESSAGE[8874],
          );
          await rejected(
            body({ programId: org.programId, promoIdentifier: 'NOPE' }),
            400,
            8874,
            MESSAGE[8874],
          );
          const inactive = await newPromotion(t, org, { type: 'DIRECT', active: false });
          const ended = await newPromotion(t, org, { type: 'DIRECT', endDate: iso(T0 - 1) });
          const future = await newPromotion(t, org, { type: 'DIRECT', startDate: iso(T0 + HOUR) });
          for (const p of [inactive, ended, future]) {
            await rejected(body({ programId: org.programId, promotionId: p.id }), 400, 8892, MESSAGE[8892]);
          }
          // endDate is inclusive, startDate too
          const edge = await newPromotion(t, org, { type: 'DIRECT', startDate: iso(T0), endDate: iso(T0) });
          expect(
            (await call(URLS.directEarn, body({ programId: org.programId, promotionId: edge.id }))).status,
          ).toBe(200);
        });

        it('401, 403, and another org’s till (1101, 8015)', async () => {
          const body = bulk(
            'EARN',
            { programId: org.programId, promotionId: promoId },
            'id',
            byIds([customerId]),
          );
          const before = await writeCounts(t);
          const none = await post(t, URLS.directEarn, body);
          expect(none.status).toBe(401);
          expect(none.body).toStrictEqual({
            warnings: [],
            errors: [{ status: false, code: 401, message: MESSAGE[401] }],
          });
          const read = await post(t, URLS.directEarn, body, { auth: org.auth.read });
          expect(read.status).toBe(403);
          expect(read.body.errors[0].code).toBe(4000);
          await rejected(body, 400, 1101, MESSAGE[1101], orgB.auth.write);
          const onB = await post(
            t,
            URLS.directEarn,
            bulk(
              'EARN',
              { programId: orgB.programId, promotionId: orgB.promotions.direct },
              'id',
              byIds([customerId]),
            ),
            { auth: orgB.auth.write },
          );
          expect(onB.status).toBe(201);
          expect(onB.body.response).toStrictEqual([errorItem(8015, MESSAGE[8015])]);
          expect(await writeCounts(t)).toStrictEqual(before);
        });
      });
    });

    describe('POST /v2/promotion/issue', () => {
      const issueUrl = (query: Record<string, string | number | undefined>) => {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
        return `${URLS.issue}?${params}`;
      };
      const issue = (
        query: Record<string, string | number | undefined>,
        body: unknown,
        opts: CallOptions = {},
      ): Promise<RawResponse> => call(issueUrl(query), body, opts);
      const byId = (id: number | string, source = 'INSTORE') => ({
        identifierName: 'id',
        identifierValue: String(id),
        source,
      });

      /** HTTP 400, the error, and no side effect. */
      function expectIssueError(res: RawResponse, code: number, message?: string) {
        expectV2Error(res, 400, code, message);
        expect(res.body.sideEffects ?? []).toStrictEqual([]);
      }

      // The issue pages: side effects carry numeric ids and type "Points promotion".
      it('issues on a DIRECT promotion: 200 with one side effect, and the records exist', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT' });
        const [c] = await newCustomers(t, org, 1);
        const res = await issue(byId(c?.id as number), { programId: org.programId, promotionId: promo.id });
        expect(res.status).toBe(200);
        expect(res.body).toStrictEqual({
          warnings: [],
          errors: [],
          sideEffects: [
            {
              programId: org.programId,
              promotionId: promo.id,
              issualId: expect.any(Number),
              earnedId: expect.any(Number),
              type: 'Points promotion',
            },
          ],
        });
        const [effect] = res.body.sideEffects;
        const issuals = await issualRows(t, promo.id);
        const earns = await earnRows(t, promo.id);
        expect(issuals.map((i) => [Number(i.id), i.customer_id, i.created_by])).toStrictEqual([
          [effect.issualId, c?.id, `till:${usernameOf(org.auth.write)}`],
        ]);
        expect(earns.map((e) => [Number(e.id), Number(e.issual_id)])).toStrictEqual([
          [effect.earnedId, effect.issualId],
        ]);

        const again = await issue(byId(c?.id as number), { programId: org.programId, promotionId: promo.id });
        expect(again.status).toBe(200);
        expect(again.body.sideEffects[0].issualId).toBe(effect.issualId);
        expect(again.body.sideEffects[0].earnedId).not.toBe(effect.earnedId);
      });

      it('takes promoIdentifier, ids as strings, mobile and email, and an API client token', async () => {
        const promoIdentifier = `ISSUE-${kind}-${T0}`;
        const promo = await newPromotion(t, org, { type: 'DIRECT_EARN', promoIdentifier });
        const [c] = await newCustomers(t, org, 1);
        const res = await issue(
          { identifierName: 'mobile', identifierValue: c?.mobile, source: 'instore' },
          { programId: String(org.programId), promoIdentifier },
        );
        expect(res.status).toBe(200);
        expect(res.body.sideEffects).toHaveLength(1);
        expect(res.body.sideEffects[0]).toMatchObject({
          programId: org.programId,
          promotionId: promo.id,
          type: 'Points promotion',
        });
        const client = await newApiClient(t, org);
        const viaClient = await post(
          t,
          issueUrl({ identifierName: 'email', identifierValue: c?.email?.toUpperCase(), source: 'ALL' }),
          { programId: org.programId, promotionId: String(promo.id) },
          { headers: { 'x-cap-api-oauth-token': client.token } },
        );
        expect(viaClient.status).toBe(200);
        expect(viaClient.body.sideEffects[0].issualId).toBe(res.body.sideEffects[0].issualId);
        const earns = await earnRows(t, promo.id);
        expect(earns.map((e) => e.created_by)).toStrictEqual([
          `till:${usernameOf(org.auth.write)}`,
          `client:${client.key}`,
        ]);
      });

      // The issue-promotion page: on an enrol-and-issue promotion it "enrols the customer, but does
      // not issue" (where we used to earn, or answer 8896 to a customer not enrolled).
      it('on an ENROL_AND_ISSUE promotion enrols (warning 8890 if enrolled already) and earns nothing', async () => {
        const promo = await newPromotion(t, org);
        const [enrolled, not] = await newCustomers(t, org, 2);
        const enrol = await call(
          URLS.enrolAndEarn,
          bulk(
            'ENROL',
            { programId: org.programId, promotionId: promo.id },
            'id',
            byIds([enrolled?.id as number]),
          ),
        );
        const issualId = enrol.body.response[0].result.issualId;
        const before = await writeCounts(t);
        const ok = await issue(byId(enrolled?.id as number), {
          programId: org.programId,
          promotionId: promo.id,
        });
        expect(ok.status).toBe(200);
        expect(ok.body.sideEffects[0].issualId).toBe(Number(issualId));
        expect(ok.body.sideEffects[0]).not.toHaveProperty('earnedId');
        expect(ok.body.warnings).toStrictEqual([warning(8890, MESSAGE[8890])]);
        expect(await writeCounts(t)).toStrictEqual(before);

        const res = await issue(byId(not?.id as number), { programId: org.programId, promotionId: promo.id });
        expect(res.status).toBe(200);
        expect(res.body).toStrictEqual({
          warnings: [],
          errors: [],
          sideEffects: [
            {
              programId: org.programId,
              promotionId: promo.id,
              issualId: expect.any(Number),
              type: 'Points promotion',
            },
          ],
        });
        const after = await writeCounts(t);
        expect([after.issuals, after.earns]).toStrictEqual([before.issuals + 1, before.earns]);
      });

      it('at maxEarnsPerCustomer answers 200 with warning 8890 and no side effect', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: 1 });
        const [c] = await newCustomers(t, org, 1);
        const body = { programId: org.programId, promotionId: promo.id };
        expect((await issue(byId(c?.id as number), body)).status).toBe(200);
        const res = await issue(byId(c?.id as number), body);
        expect(res.status).toBe(200);
        expect(res.body).toStrictEqual({
          warnings: [warning(8890, MESSAGE['8890direct'])],
          errors: [],
          sideEffects: [],
        });
        expect(await earnRows(t, promo.id)).toHaveLength(1);
      });

      it('answers each error with HTTP 400 and writes nothing', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT' });
        const inactive = await newPromotion(t, org, { type: 'DIRECT', active: false });
        const expired = await newPromotion(t, org, { type: 'DIRECT', endDate: iso(T0 - HOUR) });
        const [c, outsider] = await newCustomers(t, org, 2, (i) => (i === 1 ? { programIds: [] } : {}));
        const id = c?.id as number;
        const good = { programId: org.programId, promotionId: promo.id };
        const cases: [Record<string, string | number | undefined>, unknown, number, string?][] = [
          [byId(999_999_999_999), good, 8015, MESSAGE[8015]],
          [byId('not-a-number'), good, 8015, MESSAGE[8015]],
          [byId(outsider?.id as number), good, 8015, MESSAGE[8015]],
          [byId(id, 'TMALL'), good, 8015, MESSAGE[8015]],
          [byId(orgB.customers[0]?.id as number), good, 8015, MESSAGE[8015]],
          [byId(id, 'SHOP'), good, 8003, MESSAGE[8003]],
          [{ identifierName: 'id', source: 'INSTORE' }, good, 11013, MESSAGE[11013]],
          [{ identifierName: 'id', identifierValue: String(id) }, good, 11013, MESSAGE[11013]],
          [{ identifierValue: String(id), source: 'INSTORE' }, good, 11013, MESSAGE[11013]],
          [{ ...byId(id), identifierName: 'card' }, good, 8013, MESSAGE[8013]],
          [byId(id), { programId: 999_999_999, promotionId: promo.id }, 1101, MESSAGE[1101]],
          [byId(id), { programId: orgB.programId, promotionId: orgB.promotions.direct }, 1101, MESSAGE[1101]],
          [byId(id), { programId: org.programId, promotionId: 999_999_999 }, 8874, MESSAGE[8874]],
          [byId(id), { programId: org.programId, promoIdentifier: 'NO-SUCH' }, 8874, MESSAGE[8874]],
          [byId(id), { programId: org.otherProgramId, promotionId: promo.id }, 8874, MESSAGE[8874]],
          [byId(id), { programId: org.programId, promotionId: inactive.id }, 8892, MESSAGE[8892]],
          [byId(id), { programId: org.programId, promotionId: expired.id }, 8892, MESSAGE[8892]],
          [byId(id), { programId: org.programId, promotionId: org.promotions.generic }, 8902],
          [byId(id), { promotionId: promo.id }, 8881, MESSAGE[8881]],
          [byId(id), { programId: org.programId }, 8881, MESSAGE[8881]],
          [byId(id), {}, 8881, MESSAGE[8881]],
          [byId(id), [], 8881, MESSAGE[8881]],
        ];
        for (const [query, body, code, message] of cases) {
          const before = await writeCounts(t);
          const res = await issue(query, body);
          expect({ query, body, code: res.body?.errors?.[0]?.code }).toStrictEqual({ query, body, code });
          expectIssueError(res, code, message);
          expect(await writeCounts(t)).toStrictEqual(before);
        }
      });

      it('401, 403, 415 and 400 for a broken body', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT' });
        const [c] = await newCustomers(t, org, 1);
        const url = issueUrl(byId(c?.id as number));
        const body = { programId: org.programId, promotionId: promo.id };
        const before = await writeCounts(t);
        const none = await post(t, url, body);
        expect(none.status).toBe(401);
        expect(none.body).toStrictEqual({
          warnings: [],
          errors: [{ status: false, code: 401, message: MESSAGE[401] }],
        });
        const read = await post(t, url, body, { auth: org.auth.read });
        expect(read.status).toBe(403);
        expect(read.body).toStrictEqual({
          warnings: [],
          errors: [{ status: false, code: 4000, message: MESSAGE[4000] }],
        });
        expectV2Error(
          await call(url, 'programId=1', { headers: { 'content-type': 'text/plain' } }),
          415,
          415,
        );
        expectV2Error(await call(url, '{"programId":'), 400, 400);
        expect(await writeCounts(t)).toStrictEqual(before);
      });

      it('another org’s till cannot issue to this org’s customer or in its program', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT' });
        const [c] = await newCustomers(t, org, 1);
        const before = await writeCounts(t);
        const asB = (query: Record<string, string | number | undefined>, body: unknown) =>
          post(t, issueUrl(query), body, { auth: orgB.auth.write });
        expectIssueError(
          await asB(byId(c?.id as number), { programId: org.programId, promotionId: promo.id }),
          1101,
        );
        expectIssueError(
          await asB(byId(c?.id as number), {
            programId: orgB.programId,
            promotionId: orgB.promotions.direct,
          }),
          8015,
          MESSAGE[8015],
        );
        expectIssueError(
          await asB(
            { identifierName: 'mobile', identifierValue: c?.mobile, source: 'INSTORE' },
            { programId: orgB.programId, promotionId: orgB.promotions.direct },
          ),
          8015,
          MESSAGE[8015],
        );
        expect(await writeCounts(t)).toStrictEqual(before);
      });
    });

    describe('GET /v2/customers/lookup/promotionData', () => {
      let lookupOrg: StandardOrg;
      let programId: number;
      let customer: { id: number; mobile: string; email: string };
      let loner: { id: number };
      const P: Record<string, { id: number; [k: string]: unknown }> = {};
      const records: Record<string, { issualId?: string; earnedIds: string[] }> = {};

      const lookup = (query: Record<string, string | number | undefined>, auth = lookupOrg.auth.read) =>
        get(
          t,
          URLS.lookup,
          {
            identifierName: 'id',
            identifierValue: String(customer.id),
            source: 'INSTORE',
            limit: 100,
            ...query,
          },
          auth,
        );

      beforeAll(async () => {
        lookupOrg = await seedStandardOrg(t, 0);
        const programRes = await t.admin('POST', `/admin/v1/orgs/${lookupOrg.orgId}/programs`, {
          name: 'Lookup',
        });
        programId = programRes.body.id;
        const inProgram = { ...lookupOrg, programId };
        const promo = (body: Record<string, unknown>) => newPromotion(t, inProgram, body);
        // Created in this order, so that ids (the order of the answer) follow the names.
        P.toEnrol = await promo({
          name: 'to enrol',
          promoIdentifier: `LK-${kind}-${T0}`,
          maxEarnsPerCustomer: 2,
        });
        P.enrolled = await promo({ name: 'enrolled', maxEarnsPerCustomer: 2 });
        P.direct = await promo({ name: 'direct', type: 'LOYALTY' });
        P.expired = await promo({
          name: 'expired',
          startDate: iso(T0 - 48 * HOUR),
          endDate: iso(T0 - HOUR),
        });
        P.expiredDirect = await promo({ name: 'expired direct', type: 'DIRECT', endDate: iso(T0 - HOUR) });
        P.full = await promo({ name: 'full', maxEarnsPerCustomer: 1 });
        P.generic = await promo({ name: 'generic', type: 'GENERIC' });
        P.inactive = await promo({ name: 'inactive', active: false });
        P.future = await promo({ name: 'future', startDate: iso(T0 + HOUR) });
        P.revoked = await promo({ name: 'revoked' });

        const made = await newCustomers(t, inProgram, 2, (i) => ({
          sources: ['INSTORE', 'ECOMMERCE'],
          programIds: i === 0 ? [programId] : [],
        }));
        customer = made[0] as typeof customer;
        loner = made[1] as typeof loner;

        const write = (url: string, action: string, promotionId: number) =>
          post(t, url, bulk(action, { programId, promotionId }, 'id', byIds([customer.id])), {
            auth: lookupOrg.auth.write,
          });
        const issualOf = (res: RawResponse) => res.body.response[0].result.issualId as string;
        const earnOf = (res: RawResponse) => res.body.response[0].result.earnedId as string;

        // Records made while the expired promotions were still running.
        clock.set(T0 - 2 * HOUR);
        const exE = await write(URLS.enrolAndEarn, 'ENROL', P.expired.id);
        const exEarn = await write(URLS.enrolAndEarn, 'EARN', P.expired.id);
        records.expired = { issualId: issualOf(exE), earnedIds: [earnOf(exEarn)] };
        const exD = await write(URLS.directEarn, 'EARN', P.expiredDirect.id);
        records.expiredDirect = { issualId: issualOf(exD), earnedIds: [earnOf(exD)] };
        clock.set(T0);

        const en = await write(URLS.enrolAndEarn, 'ENROL', P.enrolled.id);
        const enEarn = await write(URLS.enrolAndEarn, 'EARN', P.enrolled.id);
        records.enrolled = { issualId: issualOf(en), earnedIds: [earnOf(enEarn)] };
        const full = await write(URLS.enrolAndEarn, 'ENROL', P.full.id);
        const fullEarn = await write(URLS.enrolAndEarn, 'EARN', P.full.id);
        records.full = { issualId: issualOf(full), earnedIds: [earnOf(fullEarn)] };
        await write(URLS.enrolAndEarn, 'ENROL', P.revoked.id);
        await write(URLS.enrolAndEarn, 'EARN', P.revoked.id);
        // The revoke pages: the earn first, then the enrolment (8905 while an earn is active).
        expect((await write(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', P.revoked.id)).status).toBe(200);
        const rev = await write(URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', P.revoked.id);
        expect(rev.status).toBe(200);
      });
      afterAll(() => clock.set(T0));

      /** The page's refusal: HTTP 400 and its errors alone. */
      const expectRefused = (res: RawResponse, code: number, message?: string) => {
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expect(res.body).toStrictEqual({
          errors: [{ status: false, code, message: message ?? expect.any(String) }],
        });
      };
      const namesOf = (body: any) => body.promotions.map((p: any) => p.promotionName);
      const restriction = (kpi: string, maxLimit: number, used: number) => ({
        kpi: `NUMBER_OF_${kpi}`,
        maxLimit: String(maxLimit),
        currentCustomerUsage: String(used),
        limitOn: 'CUSTOMER',
      });

      // The get-promotion-data page's shape replaced ours (issue 13): customerId, pageDetails and
      // promotions at the top level; a promotion's enrolments and earns as customerPromotionTimelines,
      // its limits as promotionRestriction; the statuses are filters, not a field.
      it('lists the customer’s promotions with their enrolments, earns and limits', async () => {
        const res = await lookup({});
        expect(res.status).toBe(200);
        expect(res.body.warnings).toStrictEqual([]);
        expect(res.body.customerId).toBe(customer.id);
        expect(res.body.pageDetails).toStrictEqual({
          pageNumber: 0,
          pageSize: 100,
          totalEntries: 10,
          pageCount: 1,
        });
        // Newest first (docs/api.md), where ours listed the oldest first.
        expect(res.body.promotions.map((p: any) => p.promotionId)).toStrictEqual(
          Object.values(P)
            .map((p) => p.id)
            .reverse(),
        );
        const byName = (name: string) => res.body.promotions.find((p: any) => p.promotionName === name);
        expect(byName('to enrol')).toStrictEqual({
          promotionId: P.toEnrol?.id,
          promotionName: 'to enrol',
          programId,
          startDate: null,
          endDate: null,
          identifier: P.toEnrol?.promoIdentifier,
          description: '',
          active: true,
          ...NO_POINTS,
          ...usage(0),
          pointsOfferType: 'LOYALTY_EARNING',
          promotionRestriction: {
            issualRestrictions: [restriction('ISSUALS', 1, 0)],
            earnRestrictions: [restriction('EARNS', 2, 0)],
            redemptionRestrictions: [],
          },
          customerPromotionTimelines: [],
        });
        expect(byName('enrolled')).toStrictEqual({
          promotionId: P.enrolled?.id,
          promotionName: 'enrolled',
          programId,
          startDate: null,
          endDate: null,
          identifier: null,
          description: '',
          active: true,
          ...NO_POINTS,
          ...usage(1),
          pointsOfferType: 'LOYALTY_EARNING',
          promotionRestriction: {
            issualRestrictions: [restriction('ISSUALS', 1, 1)],
            earnRestrictions: [restriction('EARNS', 2, 1)],
            redemptionRestrictions: [],
          },
          customerPromotionTimelines: [
            {
              enrollmentDate: iso(T0),
              enrollmentExpiryDate: null,
              enrollmentId: Number(records.enrolled?.issualId),
              issuedDetails: [
                {
                  issualId: Number(records.enrolled?.earnedIds[0]),
                  issualDate: iso(T0),
                  issualExpiryDate: null,
                  redeemedCount: 0,
                },
              ],
            },
          ],
        });
        expect(byName('direct')).toMatchObject({
          pointsOfferType: 'LOYALTY',
          customerPromotionTimelines: [],
          promotionRestriction: {
            issualRestrictions: [restriction('ISSUALS', 1, 0)],
            earnRestrictions: [],
            redemptionRestrictions: [],
          },
        });
        expect(byName('expired')).toStrictEqual({
          promotionId: P.expired?.id,
          promotionName: 'expired',
          programId,
          startDate: iso(T0 - 48 * HOUR),
          endDate: iso(T0 - HOUR),
          identifier: null,
          description: '',
          active: true,
          ...NO_POINTS,
          ...usage(1),
          pointsOfferType: 'LOYALTY_EARNING',
          promotionRestriction: {
            issualRestrictions: [restriction('ISSUALS', 1, 1)],
            earnRestrictions: [],
            redemptionRestrictions: [],
          },
          customerPromotionTimelines: [
            {
              enrollmentDate: iso(T0 - 2 * HOUR),
              enrollmentExpiryDate: iso(T0 - HOUR),
              enrollmentId: Number(records.expired?.issualId),
              issuedDetails: [
                {
                  issualId: Number(records.expired?.earnedIds[0]),
                  issualDate: iso(T0 - 2 * HOUR),
                  issualExpiryDate: iso(T0 - HOUR),
                  redeemedCount: 0,
                },
              ],
            },
          ],
        });
        expect(byName('full').promotionRestriction).toStrictEqual({
          issualRestrictions: [restriction('ISSUALS', 1, 1)],
          earnRestrictions: [restriction('EARNS', 1, 1)],
          redemptionRestrictions: [],
        });
        // A revoked enrolment: no timeline, no active earns, but it still counts toward the issual limit.
        expect(byName('revoked')).toMatchObject({
          ...usage(0),
          customerPromotionTimelines: [],
          promotionRestriction: { issualRestrictions: [restriction('ISSUALS', 1, 1)], earnRestrictions: [] },
        });
        // A generic promotion has no enrolments: no timelines at all.
        expect(byName('generic')).not.toHaveProperty('customerPromotionTimelines');
        expect(byName('generic').pointsOfferType).toBe('GENERIC');
      });

      it('filters by promotionStatusForCustomer (a promotion may be in several)', async () => {
        const names = async (status: string) => {
          const res = await lookup({ promotionStatusForCustomer: status });
          expect(res.status).toBe(200);
          expect(res.body.pageDetails.totalEntries).toBe(res.body.promotions.length);
          return namesOf(res.body);
        };
        expect(await names('AVAILABLE_TO_ENROL')).toStrictEqual(['to enrol']);
        expect(await names('AVAILABLE_TO_EARN')).toStrictEqual(['direct', 'enrolled']);
        expect(await names('AVAILABLE_TO_REDEEM')).toStrictEqual(['generic', 'full', 'enrolled']);
        expect(await names('EXPIRED')).toStrictEqual(['expired direct', 'expired']);
      });

      it('moves a promotion to EXPIRED once the clock passes its endDate', async () => {
        const earnable = async () =>
          namesOf((await lookup({ promotionStatusForCustomer: 'AVAILABLE_TO_EARN' })).body);
        await patchPromotion(t, { ...lookupOrg, programId }, P.direct?.id as number, {
          endDate: iso(T0 + HOUR),
        });
        try {
          expect(await earnable()).toContain('direct');
          clock.set(T0 + HOUR); // endDate is inclusive
          expect(await earnable()).toContain('direct');
          clock.set(T0 + HOUR + 1);
          expect(await earnable()).not.toContain('direct');
          const expired = await lookup({ promotionStatusForCustomer: 'EXPIRED' });
          expect(namesOf(expired.body)).toStrictEqual(['expired direct', 'expired', 'direct']);
        } finally {
          clock.set(T0);
          await patchPromotion(t, { ...lookupOrg, programId }, P.direct?.id as number, { endDate: null });
        }
      });

      it('filters by promotionType, aliases and any case accepted', async () => {
        const names = async (promotionType: string, extra: Record<string, string> = {}) => {
          const res = await lookup({ promotionType, ...extra });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          return namesOf(res.body);
        };
        const directs = ['expired direct', 'direct'];
        for (const alias of ['DIRECT', 'LOYALTY', 'DIRECT_EARN', 'DIRECT_ISSUE', 'direct', 'Loyalty']) {
          expect(await names(alias)).toStrictEqual(directs);
        }
        const enrols = ['revoked', 'future', 'inactive', 'full', 'expired', 'enrolled', 'to enrol'];
        for (const alias of ['ENROL_AND_ISSUE', 'LOYALTY_EARNING', 'ISSUE_AND_EARN', 'loyalty_earning']) {
          expect(await names(alias)).toStrictEqual(enrols);
        }
        expect(await names('GENERIC')).toStrictEqual(['generic']);
        expect(await names('LOYALTY', { promotionStatusForCustomer: 'EXPIRED' })).toStrictEqual([
          'expired direct',
        ]);
      });

      // The page's pageDetails (pageNumber, pageSize, totalEntries, pageCount); its default limit is
      // 10 and a limit of 0 is allowed.
      it('pages with limit and offset; totalEntries counts every match', async () => {
        const page = async (limit: number | undefined, offset: number | undefined) => {
          const res = await lookup({ limit, offset });
          expect(res.status).toBe(200);
          return res.body;
        };
        const all = Object.values(P)
          .map((p) => p.id)
          .reverse();
        const first = await page(3, undefined);
        expect(first.pageDetails).toStrictEqual({
          pageNumber: 0,
          pageSize: 3,
          totalEntries: 10,
          pageCount: 4,
        });
        expect(first.promotions.map((p: any) => p.promotionId)).toStrictEqual(all.slice(0, 3));
        const middle = await page(4, 3);
        expect(middle.promotions.map((p: any) => p.promotionId)).toStrictEqual(all.slice(3, 7));
        const last = await page(100, 9);
        expect(last.promotions.map((p: any) => p.promotionId)).toStrictEqual(all.slice(9));
        const beyond = await page(1, 50);
        expect(beyond).toMatchObject({ promotions: [], pageDetails: { pageSize: 1, totalEntries: 10 } });
        const one = await page(1, 0);
        expect(one.promotions).toHaveLength(1);
        const none = await page(0, 0);
        expect(none).toMatchObject({ promotions: [], pageDetails: { pageSize: 0, totalEntries: 10 } });
        const defaults = await lookup({ limit: undefined });
        expect(defaults.body.pageDetails).toStrictEqual({
          pageNumber: 0,
          pageSize: 10,
          totalEntries: 10,
          pageCount: 1,
        });
        const filtered = await lookup({ promotionStatusForCustomer: 'EXPIRED', limit: 1, offset: 1 });
        expect(namesOf(filtered.body)).toStrictEqual(['expired']);
        expect(filtered.body.pageDetails.totalEntries).toBe(2);
      });

      it('finds the customer by mobile, email, and with source ALL; a customer of no program has none', async () => {
        const mobile = await lookup({ identifierName: 'mobile', identifierValue: `+${customer.mobile}` });
        expect(mobile.status).toBe(200);
        expect(mobile.body.customerId).toBe(customer.id);
        const email = await lookup({
          identifierName: 'email',
          identifierValue: customer.email.toUpperCase(),
          source: 'ecommerce',
        });
        expect(email.body.customerId).toBe(customer.id);
        const all = await lookup({ source: 'ALL' });
        expect(all.body.pageDetails.totalEntries).toBe(10);
        const none = await lookup({ identifierValue: String(loner.id) });
        expect(none.status).toBe(200);
        expect(none.body).toStrictEqual({
          pageDetails: { pageNumber: 0, pageSize: 100, totalEntries: 0, pageCount: 0 },
          customerId: loner.id,
          promotions: [],
          warnings: [],
        });
      });

      it('takes READ and WRITE tills and API clients; 401 without credentials, 403 for NONE', async () => {
        expect((await lookup({}, lookupOrg.auth.write)).status).toBe(200);
        const client = await newApiClient(t, lookupOrg, 'READ');
        expect((await lookup({}, `Bearer ${client.token}`)).status).toBe(200);
        const none = await get(
          t,
          URLS.lookup,
          { identifierName: 'id', identifierValue: String(customer.id), source: 'INSTORE' },
          undefined,
        );
        expect(none.status).toBe(401);
        expect(none.body).toStrictEqual({
          warnings: [],
          errors: [{ status: false, code: 401, message: MESSAGE[401] }],
        });
        const denied = await lookup({}, lookupOrg.auth.none);
        expect(denied.status).toBe(403);
        expect(denied.body).toStrictEqual({
          warnings: [],
          errors: [{ status: false, code: 4000, message: MESSAGE[4000] }],
        });
      });

      it('answers 400 for each bad parameter, with the page’s body of errors alone', async () => {
        const cases: [Record<string, string | number | undefined>, number, string?][] = [
          [{ identifierName: undefined }, 11013, MESSAGE[11013]],
          [{ identifierName: 'phone' }, 8013, MESSAGE[8013]],
          [{ identifierValue: undefined }, 11013, MESSAGE[11013]],
          [{ identifierValue: '  ' }, 11013, MESSAGE[11013]],
          [{ source: undefined }, 11013, MESSAGE[11013]],
          [{ source: 'SHOP' }, 8003, MESSAGE[8003]],
          [{ identifierValue: '999999999999' }, 8015, MESSAGE[8015]],
          [{ identifierValue: 'abc' }, 8015, MESSAGE[8015]],
          [{ source: 'JD' }, 8015, MESSAGE[8015]],
          [{ promotionStatusForCustomer: 'NOT_AVAILABLE' }, 400],
          [{ promotionStatusForCustomer: 'available_to_earn' }, 400],
          [{ promotionType: 'POINTS' }, 400],
          [{ limit: 101 }, 400],
          [{ limit: 'ten' }, 400],
          [{ limit: '1.5' }, 400],
          [{ limit: -1 }, 400],
          [{ offset: -1 }, 400],
          [{ offset: 'x' }, 400],
        ];
        for (const [query, code, message] of cases) {
          const res = await lookup(query);
          expect({ query, code: res.body?.errors?.[0]?.code }).toStrictEqual({ query, code });
          expectRefused(res, code, message);
        }
        expect((await lookup({ limit: 100 })).status).toBe(200);
        expect((await lookup({ limit: 1 })).status).toBe(200);
        // The page's limit starts at 0 (where ours started at 1).
        expect((await lookup({ limit: 0 })).status).toBe(200);
      });

      it('sees only the caller’s org: another org’s customer is 8015, a same-mobile customer there is its own', async () => {
        const foreign = await lookup({}, orgB.auth.read);
        expectRefused(foreign, 8015, MESSAGE[8015]);
        const foreignMobile = await lookup(
          { identifierName: 'mobile', identifierValue: customer.mobile },
          orgB.auth.read,
        );
        expectRefused(foreignMobile, 8015, MESSAGE[8015]);

        // orgB has a customer with the very same mobile: orgB's lookup finds that one and its promotions.
        const [twin] = await newCustomers(t, orgB, 1, () => ({
          mobile: customer.mobile,
          email: `twin.${customer.email}`,
        }));
        const mine = await lookup(
          { identifierName: 'mobile', identifierValue: customer.mobile },
          orgB.auth.read,
        );
        expect(mine.status).toBe(200);
        expect(mine.body.customerId).toBe(twin?.id);
        const ids = mine.body.promotions.map((p: any) => p.promotionId);
        expect(ids).toStrictEqual(Object.values(orgB.promotions).sort((a, b) => b - a)); // newest first
        for (const p of mine.body.promotions) expect(p.programId).toBe(orgB.programId);
      });
    });
  },
);
