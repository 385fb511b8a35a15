import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import {
  bulk,
  byIds,
  type CallOptions,
  type CustomerItem,
  earnRows,
  errorItem,
  expectRejected,
  ID,
  issualRows,
  MESSAGE,
  newApiClient,
  newCustomers,
  newPromotion,
  patchPromotion,
  post,
  type RawResponse,
  URLS,
  usernameOf,
  warning,
  writeCounts,
} from '../helpers/v2-family.js';

const T0 = Date.parse('2026-06-01T10:00:00.000Z');

describeEachStore(
  'revokeEnrolAndEarn and revokeDirectEarn',
  () => ({ clock: fixedClock(T0) }),
  (t, kind, { clock }) => {
    // A test that moves the clock gets it back even when it fails, so the next test starts at T0.
    afterEach(() => clock.set(T0));

    let org: StandardOrg;
    let orgB: StandardOrg;

    beforeAll(async () => {
      org = await seedStandardOrg(t, 2);
      orgB = await seedStandardOrg(t, 2);
    });

    const call = (url: string, body: unknown, opts: CallOptions = {}): Promise<RawResponse> =>
      post(t, url, body, { auth: org.auth.write, ...opts });

    /** ENROL or EARN through enrolAndEarn (or directEarn), insisting that every customer succeeds. */
    async function grant(
      action: 'ENROL' | 'EARN',
      promotionId: number,
      ids: number[],
      url: string = URLS.enrolAndEarn,
    ): Promise<{ issualId: string; earnedId?: string }[]> {
      const res = await call(url, bulk(action, { programId: org.programId, promotionId }, 'id', byIds(ids)));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.response.map((item: any) => item.result);
    }

    const revoke = (
      url: string,
      action: string,
      promotionId: number,
      customers: CustomerItem[],
      opts: CallOptions = {},
      programId = org.programId,
    ) => call(url, bulk(action, { programId, promotionId }, 'id', customers), opts);

    /** A revoked customer's item; the promotion is named as the request named it (null: not by id). */
    function revoked(
      customerId: number,
      promotionId: number | null,
      extra: Record<string, unknown>,
      promoIdentifier?: string,
    ) {
      return {
        result: {
          entityType: 'CUSTOMER',
          entityId: customerId,
          ...(promotionId === null ? {} : { promotionId }),
          ...(promoIdentifier ? { promoIdentifier } : {}),
          programId: org.programId,
          ...extra,
        },
        errors: [],
        warnings: [],
      };
    }

    describe('REVOKE_ENROL', () => {
      // The revoke pages: a customer's earns are revoked before the customer can be unenrolled, so
      // REVOKE_ENROL no longer takes the earns with it: 8905 while any is active (ours, documented).
      it('refuses 8905 while earns are active; after REVOKE_EARN revokes the issual, answers its id, and deletes nothing', async () => {
        const promo = await newPromotion(t, org);
        const [a, b] = await newCustomers(t, org, 2);
        const ids = [a?.id as number, b?.id as number];
        const enrolled = await grant('ENROL', promo.id, ids);
        const e1 = await grant('EARN', promo.id, ids);
        const e2 = await grant('EARN', promo.id, [ids[0] as number]);
        clock.set(T0 + 60_000);
        const before = await writeCounts(t);

        const refused = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_ENROL',
          promo.id,
          byIds([ids[0] as number]),
        );
        expect(refused.status).toBe(201);
        expect(refused.body).toStrictEqual({ response: [errorItem(8905)], totalCount: 1, failureCount: 1 });
        expect(await writeCounts(t)).toStrictEqual(before);

        const earnsRevoked = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_EARN',
          promo.id,
          byIds([ids[0] as number]),
        );
        expect(earnsRevoked.status).toBe(200);
        expect(earnsRevoked.body.response).toStrictEqual([
          revoked(ids[0] as number, promo.id, {
            revokedEarnIds: [Number(e1[0]?.earnedId), Number(e2[0]?.earnedId)],
          }),
        ]);
        const res = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_ENROL',
          promo.id,
          byIds([ids[0] as number]),
        );
        expect(res.status).toBe(200);
        expect(res.body).toStrictEqual({
          response: [
            revoked(ids[0] as number, promo.id, {
              issualId: enrolled[0]?.issualId,
              revokedIssualId: Number(enrolled[0]?.issualId),
            }),
          ],
          totalCount: 1,
          failureCount: 0,
        });

        const after = await writeCounts(t);
        expect(after.issuals).toBe(before.issuals);
        expect(after.earns).toBe(before.earns);
        expect(after.revokedIssuals).toBe(before.revokedIssuals + 1);
        expect(after.revokedEarns).toBe(before.revokedEarns + 2);

        const by = `till:${usernameOf(org.auth.write)}`;
        const issuals = await issualRows(t, promo.id);
        expect(issuals.map((r) => [r.customer_id, r.revoked_at, r.revoked_by])).toStrictEqual([
          [ids[0], T0 + 60_000, by],
          [ids[1], null, null],
        ]);
        const earns = await earnRows(t, promo.id);
        expect(earns).toHaveLength(3);
        for (const e of earns) {
          if (e.customer_id === ids[0]) {
            expect([e.revoked_at, e.revoked_by]).toStrictEqual([T0 + 60_000, by]);
          } else {
            expect([e.revoked_at, e.revoked_by]).toStrictEqual([null, null]);
          }
        }
      });

      // The page's example: the issual as issualId (string) and revokedIssualId (integer), no
      // revokedEarnIds, and the promotion named as the request named it.
      it('answers the issual as issualId and revokedIssualId, naming the promotion by promoIdentifier as asked', async () => {
        const promoIdentifier = `REV-ID-${kind}-${Date.now()}`;
        const promo = await newPromotion(t, org, { promoIdentifier });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        const [enrolled] = await grant('ENROL', promo.id, [id]);
        const res = await call(
          URLS.revokeEnrolAndEarn,
          bulk('REVOKE_ENROL', { programId: org.programId, promoIdentifier }, 'id', byIds([id])),
        );
        expect(res.status).toBe(200);
        expect(res.body.response).toStrictEqual([
          revoked(
            id,
            null,
            { issualId: enrolled?.issualId, revokedIssualId: Number(enrolled?.issualId) },
            promoIdentifier,
          ),
        ]);
      });

      it('leaves earns revoked earlier with their own stamp and answers only the active ones', async () => {
        const promo = await newPromotion(t, org);
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await grant('ENROL', promo.id, [id]);
        const [first] = await grant('EARN', promo.id, [id]);
        const [second] = await grant('EARN', promo.id, [id]);
        clock.set(T0 + 1_000);
        const one = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, [
          { identifierValue: String(id), source: 'INSTORE', earnIds: [Number(first?.earnedId)] },
        ]);
        expect(one.status).toBe(200);
        clock.set(T0 + 2_000);
        // REVOKE_EARN without earnIds now does what REVOKE_ENROL did for the earns (8905 otherwise).
        const all = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, byIds([id]));
        expect(all.status).toBe(200);
        expect(all.body.response[0].result.revokedEarnIds).toStrictEqual([Number(second?.earnedId)]);
        const earns = await earnRows(t, promo.id);
        expect(earns.map((e) => [String(e.id), e.revoked_at])).toStrictEqual([
          [first?.earnedId, T0 + 1_000],
          [second?.earnedId, T0 + 2_000],
        ]);
      });

      // 8904 was ours; the revoke pages answer 2305 when there is nothing active to revoke.
      it('a customer not enrolled gets 2305 alone; the others are revoked (HTTP 201)', async () => {
        const promo = await newPromotion(t, org);
        const [a, b] = await newCustomers(t, org, 2);
        const enrolled = await grant('ENROL', promo.id, [a?.id as number]);
        const res = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_ENROL',
          promo.id,
          byIds([b?.id as number, a?.id as number]),
        );
        expect(res.status).toBe(201);
        expect(res.body).toStrictEqual({
          response: [
            errorItem(2305, MESSAGE[2305]),
            revoked(a?.id as number, promo.id, {
              issualId: enrolled[0]?.issualId,
              revokedIssualId: Number(enrolled[0]?.issualId),
            }),
          ],
          totalCount: 2,
          failureCount: 1,
        });
        expect((await issualRows(t, promo.id)).map((r) => r.revoked_at)).toStrictEqual([T0]);
      });

      it('revoking twice, or twice in one request, gives 2305 the second time', async () => {
        const promo = await newPromotion(t, org);
        const [a, b] = await newCustomers(t, org, 2);
        await grant('ENROL', promo.id, [a?.id as number, b?.id as number]);
        const dup = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_ENROL',
          promo.id,
          byIds([a?.id as number, a?.id as number]),
        );
        expect(dup.status).toBe(201);
        expect(dup.body.response[0].result.revokedIssualId).toStrictEqual(expect.any(Number));
        expect(dup.body.response[1]).toStrictEqual(errorItem(2305));
        expect(dup.body.failureCount).toBe(1);

        const once = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_ENROL',
          promo.id,
          byIds([b?.id as number]),
        );
        expect(once.status).toBe(200);
        const twice = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_ENROL',
          promo.id,
          byIds([b?.id as number]),
        );
        expect(twice.status).toBe(201);
        expect(twice.body.response).toStrictEqual([errorItem(2305)]);
        const rows = await issualRows(t, promo.id);
        expect(rows).toHaveLength(2);
        expect(rows.every((r) => r.revoked_at === T0)).toBe(true);
      });

      it('after a revoke, EARN needs a new enrolment (8896)', async () => {
        const promo = await newPromotion(t, org);
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await grant('ENROL', promo.id, [id]);
        await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', promo.id, byIds([id]));
        const earn = await call(
          URLS.enrolAndEarn,
          bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
        );
        expect(earn.status).toBe(201);
        expect(earn.body.response).toStrictEqual([errorItem(8896, MESSAGE[8896])]);
      });

      it('a new ENROL after a revoke works only while maxIssualsPerCustomer allows (revoked ones count)', async () => {
        const promo = await newPromotion(t, org); // maxIssualsPerCustomer defaults to 1
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        const [first] = await grant('ENROL', promo.id, [id]);
        await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', promo.id, byIds([id]));

        const blocked = await call(
          URLS.enrolAndEarn,
          bulk('ENROL', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
        );
        expect(blocked.status).toBe(200);
        expect(blocked.body.failureCount).toBe(0);
        expect(blocked.body.response[0].result).not.toHaveProperty('issualId');
        expect(blocked.body.response[0].warnings).toStrictEqual([warning(8890)]);
        expect(await issualRows(t, promo.id)).toHaveLength(1);

        await patchPromotion(t, org, promo.id, { maxIssualsPerCustomer: 2 });
        const [second] = await grant('ENROL', promo.id, [id]);
        expect(second?.issualId).toMatch(ID);
        expect(second?.issualId).not.toBe(first?.issualId);
        // Earning now lands on the new enrolment.
        const [earned] = await grant('EARN', promo.id, [id]);
        expect(earned?.issualId).toBe(second?.issualId);

        // The earn first (REVOKE_ENROL refuses 8905 while it is active), then the enrolment.
        const earnGone = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, byIds([id]));
        expect(earnGone.body.response[0].result.revokedEarnIds).toStrictEqual([Number(earned?.earnedId)]);
        const again = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', promo.id, byIds([id]));
        expect(again.body.response[0].result).toMatchObject({
          revokedIssualId: Number(second?.issualId),
        });
        const third = await call(
          URLS.enrolAndEarn,
          bulk('ENROL', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
        );
        expect(third.body.response[0].result).not.toHaveProperty('issualId');
        expect(third.body.response[0].warnings).toStrictEqual([warning(8890)]);

        await patchPromotion(t, org, promo.id, { maxIssualsPerCustomer: null });
        const [fourth] = await grant('ENROL', promo.id, [id]);
        expect(fourth?.issualId).toMatch(ID);
        const rows = await issualRows(t, promo.id);
        expect(rows).toHaveLength(3);
        expect(rows.filter((r) => r.revoked_at === null).map((r) => String(r.id))).toStrictEqual([
          fourth?.issualId,
        ]);
      });
    });

    describe('REVOKE_EARN on revokeEnrolAndEarn', () => {
      it('without earnIds revokes every active earn and keeps the enrolment', async () => {
        const promo = await newPromotion(t, org);
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        const [enrolled] = await grant('ENROL', promo.id, [id]);
        const [e1] = await grant('EARN', promo.id, [id]);
        const [e2] = await grant('EARN', promo.id, [id]);
        const res = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, byIds([id]));
        expect(res.status).toBe(200);
        expect(res.body).toStrictEqual({
          response: [
            // The page's REVOKE_EARN example: revokedEarnIds as integers, no issualId.
            revoked(id, promo.id, {
              revokedEarnIds: [Number(e1?.earnedId), Number(e2?.earnedId)],
            }),
          ],
          totalCount: 1,
          failureCount: 0,
        });
        const [issual] = await issualRows(t, promo.id);
        expect(issual?.revoked_at).toBeNull();
        const earns = await earnRows(t, promo.id);
        expect(earns.map((e) => [e.revoked_at, e.revoked_by])).toStrictEqual([
          [T0, `till:${usernameOf(org.auth.write)}`],
          [T0, `till:${usernameOf(org.auth.write)}`],
        ]);
        // The enrolment stands: a new EARN lands on it.
        const [e3] = await grant('EARN', promo.id, [id]);
        expect(e3?.issualId).toBe(enrolled?.issualId);
      });

      it('with earnIds revokes only those (ids as numbers or strings of digits)', async () => {
        const promo = await newPromotion(t, org);
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await grant('ENROL', promo.id, [id]);
        const earned: string[] = [];
        for (let i = 0; i < 3; i++) earned.push((await grant('EARN', promo.id, [id]))[0]?.earnedId as string);
        const res = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, [
          { identifierValue: String(id), source: 'INSTORE', earnIds: [Number(earned[0]), earned[2]] },
        ]);
        expect(res.status).toBe(200);
        expect([...res.body.response[0].result.revokedEarnIds].sort()).toStrictEqual(
          [Number(earned[0]), Number(earned[2])].sort(),
        );
        const earns = await earnRows(t, promo.id);
        expect(earns.map((e) => [String(e.id), e.revoked_at === null])).toStrictEqual([
          [earned[0], false],
          [earned[1], true],
          [earned[2], false],
        ]);
      });

      it('revoked earns no longer count toward maxEarnsPerCustomer', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: 2 });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await grant('ENROL', promo.id, [id]);
        const [e1] = await grant('EARN', promo.id, [id]);
        await grant('EARN', promo.id, [id]);
        const limited = await call(
          URLS.enrolAndEarn,
          bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
        );
        expect(limited.body.response[0].result).not.toHaveProperty('earnedId');
        expect(limited.body.response[0].warnings).toStrictEqual([warning(8890)]);

        await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, [
          { identifierValue: String(id), source: 'INSTORE', earnIds: [e1?.earnedId] },
        ]);
        const [e3] = await grant('EARN', promo.id, [id]);
        expect(e3?.earnedId).toMatch(ID);
        const limitedAgain = await call(
          URLS.enrolAndEarn,
          bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
        );
        expect(limitedAgain.body.response[0].result).not.toHaveProperty('earnedId');
        const earns = await earnRows(t, promo.id);
        expect(earns).toHaveLength(3);
        expect(earns.filter((e) => e.revoked_at === null)).toHaveLength(2);
      });

      it('gives 8903 to a customer whose earnIds are unknown, another customer’s, another promotion’s, revoked or malformed, and to nobody else', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const otherPromo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const [a, b, good] = await newCustomers(t, org, 3);
        const ids = [a?.id as number, b?.id as number, good?.id as number];
        await grant('ENROL', promo.id, ids);
        await grant('ENROL', otherPromo.id, [a?.id as number]);
        const [aEarn, bEarn, goodEarn] = await grant('EARN', promo.id, ids);
        const [aEarn2] = await grant('EARN', promo.id, [a?.id as number]);
        const [aOther] = await grant('EARN', otherPromo.id, [a?.id as number]);
        // One of a's earns is revoked already.
        const pre = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, [
          { identifierValue: String(a?.id), source: 'INSTORE', earnIds: [aEarn2?.earnedId] },
        ]);
        expect(pre.status).toBe(200);

        const aValue = String(a?.id);
        const bad: unknown[] = [
          [999_999_999_999],
          [bEarn?.earnedId],
          [aOther?.earnedId],
          [aEarn2?.earnedId],
          [aEarn?.earnedId, aEarn2?.earnedId],
          [aEarn?.earnedId, bEarn?.earnedId],
          [],
          'abc',
          12,
          [0],
          [-1],
          ['x1'],
          [1.5],
          [null],
          { id: aEarn?.earnedId },
        ];
        for (const earnIds of bad) {
          const before = await writeCounts(t);
          const res = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, [
            { identifierValue: aValue, source: 'INSTORE', earnIds },
          ]);
          expect({ earnIds, status: res.status, body: res.body }).toStrictEqual({
            earnIds,
            status: 201,
            body: { response: [errorItem(8903)], totalCount: 1, failureCount: 1 },
          });
          expect(await writeCounts(t)).toStrictEqual(before);
        }

        // In one request with a valid customer, only the bad one fails.
        const mixed = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, [
          { identifierValue: aValue, source: 'INSTORE', earnIds: [aEarn?.earnedId, bEarn?.earnedId] },
          { identifierValue: String(good?.id), source: 'INSTORE', earnIds: [goodEarn?.earnedId] },
        ]);
        expect(mixed.status).toBe(201);
        expect(mixed.body.failureCount).toBe(1);
        expect(mixed.body.response[0]).toStrictEqual(errorItem(8903));
        expect(mixed.body.response[1].result.revokedEarnIds).toStrictEqual([Number(goodEarn?.earnedId)]);
        const active = (await earnRows(t, promo.id))
          .filter((e) => e.revoked_at === null)
          .map((e) => String(e.id));
        expect(active.sort()).toStrictEqual([aEarn?.earnedId, bEarn?.earnedId].sort());
      });

      it('a repeated REVOKE_EARN of the same earn gives 8903 the second time, even in one request', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await grant('ENROL', promo.id, [id]);
        const [e1] = await grant('EARN', promo.id, [id]);
        const item = { identifierValue: String(id), source: 'INSTORE', earnIds: [e1?.earnedId] };
        const res = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, [item, item]);
        expect(res.status).toBe(201);
        expect(res.body.response[0].result.revokedEarnIds).toStrictEqual([Number(e1?.earnedId)]);
        expect(res.body.response[1]).toStrictEqual(errorItem(8903));
      });

      it('per-customer errors 11013, 8003 and 8015 leave the other customers revoked', async () => {
        const promo = await newPromotion(t, org);
        const [c, notMember] = await newCustomers(t, org, 2, (i) => (i === 1 ? { programIds: [] } : {}));
        const id = c?.id as number;
        await grant('ENROL', promo.id, [id]);
        const res = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', promo.id, [
          { identifierValue: '', source: 'INSTORE' },
          { identifierValue: String(id), source: 'NOWHERE' },
          { identifierValue: '999999999999', source: 'INSTORE' },
          { identifierValue: String(notMember?.id), source: 'INSTORE' },
          { identifierValue: String(orgB.customers[0]?.id), source: 'INSTORE' },
          { identifierValue: String(id), source: 'WEBSITE' },
          { identifierValue: String(id), source: 'instore' },
        ]);
        expect(res.status).toBe(201);
        expect(res.body.response.slice(0, 6)).toStrictEqual([
          errorItem(11013, MESSAGE[11013]),
          errorItem(8003, MESSAGE[8003]),
          errorItem(8015, MESSAGE[8015]),
          errorItem(8015, MESSAGE[8015]),
          errorItem(8015, MESSAGE[8015]),
          errorItem(8015, MESSAGE[8015]),
        ]);
        expect(res.body.response[6].result.revokedIssualId).toStrictEqual(expect.any(Number));
        expect(res.body.failureCount).toBe(6);
        expect(res.body.totalCount).toBe(7);
      });

      it('finds customers by mobile and email too', async () => {
        const promo = await newPromotion(t, org);
        const [c] = await newCustomers(t, org, 1);
        await grant('ENROL', promo.id, [c?.id as number]);
        await grant('EARN', promo.id, [c?.id as number]);
        const byMobile = await call(
          URLS.revokeEnrolAndEarn,
          bulk('REVOKE_EARN', { programId: org.programId, promotionId: promo.id }, 'mobile', [
            { identifierValue: `+${c?.mobile}`, source: 'INSTORE' },
          ]),
        );
        expect(byMobile.status).toBe(200);
        expect(byMobile.body.response[0].result.revokedEarnIds).toHaveLength(1);
        const byEmail = await call(
          URLS.revokeEnrolAndEarn,
          bulk('REVOKE_ENROL', { programId: org.programId, promotionId: promo.id }, 'email', [
            { identifierValue: ` ${c?.email?.toUpperCase()} `, source: 'INSTORE' },
          ]),
        );
        expect(byEmail.status).toBe(200);
        expect(byEmail.body.response[0].result).toMatchObject({
          entityId: c?.id,
          issualId: expect.stringMatching(ID),
          revokedIssualId: expect.any(Number),
        });
      });

      it('records client:<key> as revoked_by for an API client', async () => {
        const promo = await newPromotion(t, org);
        const [c] = await newCustomers(t, org, 1);
        await grant('ENROL', promo.id, [c?.id as number]);
        const client = await newApiClient(t, org);
        const res = await post(
          t,
          URLS.revokeEnrolAndEarn,
          bulk(
            'REVOKE_ENROL',
            { programId: org.programId, promotionId: promo.id },
            'id',
            byIds([c?.id as number]),
          ),
          { headers: { 'x-cap-api-oauth-token': client.token } },
        );
        expect(res.status).toBe(200);
        const [row] = await issualRows(t, promo.id);
        expect(row?.revoked_by).toBe(`client:${client.key}`);
      });
    });

    describe('revokeDirectEarn', () => {
      it('REVOKE_EARN revokes the earns of a DIRECT promotion; the implicit issual stays and is reused', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: 2 });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        const [e1] = await grant('EARN', promo.id, [id], URLS.directEarn);
        const [e2] = await grant('EARN', promo.id, [id], URLS.directEarn);
        const limited = await call(
          URLS.directEarn,
          bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
        );
        expect(limited.body.response[0].result).not.toHaveProperty('earnedId');

        const one = await revoke(URLS.revokeDirectEarn, 'REVOKE_EARN', promo.id, [
          { identifierValue: String(id), source: 'INSTORE', earnIds: [e2?.earnedId] },
        ]);
        expect(one.status).toBe(200);
        expect(one.body.response).toStrictEqual([
          revoked(id, promo.id, { revokedEarnIds: [Number(e2?.earnedId)] }),
        ]);
        const [e3] = await grant('EARN', promo.id, [id], URLS.directEarn);
        expect(e3?.earnedId).toMatch(ID);
        expect(e3?.issualId).toBe(e1?.issualId);

        const all = await revoke(URLS.revokeDirectEarn, 'REVOKE_EARN', promo.id, byIds([id]));
        expect(all.status).toBe(200);
        expect(all.body.response[0].result.revokedEarnIds).toStrictEqual([
          Number(e1?.earnedId),
          Number(e3?.earnedId),
        ]);
        const earns = await earnRows(t, promo.id);
        expect(earns).toHaveLength(3);
        expect(
          earns.every((e) => e.revoked_at === T0 && e.revoked_by === `till:${usernameOf(org.auth.write)}`),
        ).toBe(true);
        const issuals = await issualRows(t, promo.id);
        expect(issuals).toHaveLength(1);
        expect(issuals[0]?.revoked_at).toBeNull();
      });

      it('gives 8903 for earnIds that are not the customer’s active earns in this promotion', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [a, b] = await newCustomers(t, org, 2);
        const [aEarn, bEarn] = await grant(
          'EARN',
          promo.id,
          [a?.id as number, b?.id as number],
          URLS.directEarn,
        );
        await revoke(URLS.revokeDirectEarn, 'REVOKE_EARN', promo.id, [
          { identifierValue: String(b?.id), source: 'INSTORE', earnIds: [bEarn?.earnedId] },
        ]);
        for (const earnIds of [[bEarn?.earnedId], [123_456_789_012], 'all', []]) {
          const res = await revoke(URLS.revokeDirectEarn, 'REVOKE_EARN', promo.id, [
            { identifierValue: String(a?.id), source: 'INSTORE', earnIds },
            { identifierValue: String(b?.id), source: 'INSTORE', earnIds: [bEarn?.earnedId] },
          ]);
          expect(res.status).toBe(201);
          expect(res.body.response).toStrictEqual([errorItem(8903), errorItem(8903)]);
        }
        expect(
          (await earnRows(t, promo.id)).find((e) => String(e.id) === aEarn?.earnedId)?.revoked_at,
        ).toBeNull();
      });
    });

    describe('whole-request rejections write nothing', () => {
      let enrolPromo: { id: number };
      let directPromo: { id: number };
      let customerId: number;

      beforeAll(async () => {
        enrolPromo = await newPromotion(t, org);
        directPromo = await newPromotion(t, org, { type: 'DIRECT' });
        const [c] = await newCustomers(t, org, 1);
        customerId = c?.id as number;
        await grant('ENROL', enrolPromo.id, [customerId]);
        await grant('EARN', enrolPromo.id, [customerId]);
        await grant('EARN', directPromo.id, [customerId], URLS.directEarn);
      });

      async function rejected(url: string, body: unknown, status: number, code: number, message?: string) {
        const before = await writeCounts(t);
        const res = await call(url, body);
        expectRejected(res, status, code, message);
        expect(await writeCounts(t)).toStrictEqual(before);
      }

      // The revoke pages word 8902 as "revoke bulk action passed not supported for loyalty/generic
      // promotion type"; revokeDirectEarn's second example has no bulkAction (REVOKE_EARN).
      it('8902 for an action the endpoint does not take', async () => {
        for (const action of ['ENROL', 'EARN', 'REVOKE', 'revoke_enrol', '', null, 7]) {
          await rejected(
            URLS.revokeEnrolAndEarn,
            bulk(action, { programId: org.programId, promotionId: enrolPromo.id }, 'id', byIds([customerId])),
            400,
            8902,
            MESSAGE['8902revoke'],
          );
        }
        const missing = bulk(undefined, { programId: org.programId, promotionId: enrolPromo.id }, 'id', []);
        await rejected(URLS.revokeEnrolAndEarn, missing, 400, 8902, MESSAGE['8902revoke']);
        for (const action of ['REVOKE_ENROL', 'ENROL', 'EARN', 'REVOKE']) {
          await rejected(
            URLS.revokeDirectEarn,
            bulk(
              action,
              { programId: org.programId, promotionId: directPromo.id },
              'id',
              byIds([customerId]),
            ),
            400,
            8902,
            MESSAGE['8902revoke'],
          );
        }
      });

      // The pages: REVOKE_EARN on a DIRECT promotion is served by revokeEnrolAndEarn ("Direct +
      // REVOKE_EARN"), and revokeDirectEarn serves LOYALTY and LOYALTY_EARNING promotions alike;
      // only REVOKE_ENROL on a DIRECT one, and GENERIC ones, are refused.
      it('8902 for a promotion of a type the endpoint does not serve', async () => {
        const cases: [string, string, number][] = [
          [URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', directPromo.id],
          [URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', org.promotions.generic],
          [URLS.revokeEnrolAndEarn, 'REVOKE_EARN', org.promotions.generic],
          [URLS.revokeDirectEarn, 'REVOKE_EARN', org.promotions.generic],
        ];
        for (const [url, action, promotionId] of cases) {
          await rejected(
            url,
            bulk(action, { programId: org.programId, promotionId }, 'id', byIds([customerId])),
            400,
            8902,
            MESSAGE['8902revoke'],
          );
        }
      });

      it('the checks before the promotion: 8901, 8899, 8881, 11013, 8013, 1060', async () => {
        const details = { programId: org.programId, promotionId: enrolPromo.id };
        const good = bulk('REVOKE_ENROL', details, 'id', byIds([customerId]));
        for (const url of [URLS.revokeEnrolAndEarn, URLS.revokeDirectEarn]) {
          const action = url === URLS.revokeDirectEarn ? 'REVOKE_EARN' : 'REVOKE_ENROL';
          const base = { ...good, bulkAction: action };
          // revokeDirectEarn's page words 8899 and 8881 as the direct pages do.
          const direct = url === URLS.revokeDirectEarn;
          const m8899 = direct ? MESSAGE['8899direct'] : MESSAGE[8899];
          const m8881 = direct ? MESSAGE['8881direct'] : MESSAGE[8881];
          await rejected(url, { ...base, type: 'ORDER' }, 400, 8901, MESSAGE[8901]);
          await rejected(url, { ...base, type: undefined }, 400, 8901, MESSAGE[8901]);
          await rejected(url, { ...base, type: 'USERGROUP2' }, 400, 8899, m8899);
          await rejected(url, { ...base, promotionDetails: { programId: org.programId } }, 400, 8881, m8881);
          await rejected(url, { ...base, promotionDetails: { promotionId: 1 } }, 400, 8881, m8881);
          await rejected(url, { ...base, identifierName: '' }, 400, 11013, MESSAGE[11013]);
          await rejected(url, { ...base, identifierName: 'phone' }, 400, 8013, MESSAGE[8013]);
          await rejected(url, { ...base, customers: [] }, 400, 11013, MESSAGE[11013]);
          await rejected(url, { ...base, customers: 'x' }, 400, 11013, MESSAGE[11013]);
          await rejected(
            url,
            { ...base, customers: byIds(Array(101).fill(customerId)) },
            400,
            1060,
            MESSAGE[1060],
          );
        }
      });

      it('1101 for a program not in the caller’s org and 8874 for a promotion not in the program', async () => {
        const cases: [string, string, number][] = [
          [URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', enrolPromo.id],
          [URLS.revokeEnrolAndEarn, 'REVOKE_EARN', enrolPromo.id],
          [URLS.revokeDirectEarn, 'REVOKE_EARN', directPromo.id],
        ];
        for (const [url, action, promotionId] of cases) {
          for (const programId of [999_999_999, orgB.programId]) {
            await rejected(
              url,
              bulk(action, { programId, promotionId }, 'id', byIds([customerId])),
              400,
              1101,
              MESSAGE[1101],
            );
          }
          for (const details of [
            { programId: org.programId, promotionId: 999_999_999 },
            { programId: org.otherProgramId, promotionId },
            { programId: org.programId, promotionId: orgB.promotions.enrolAndIssue },
            { programId: org.programId, promotionId, promoIdentifier: org.promoIdentifier },
            { programId: org.programId, promoIdentifier: 'NO-SUCH-IDENTIFIER' },
            { programId: org.programId, promotionId: 'abc' },
          ]) {
            await rejected(url, bulk(action, details, 'id', byIds([customerId])), 400, 8874, MESSAGE[8874]);
          }
        }
      });

      it('401 without credentials and 403 for a READ till', async () => {
        const body = bulk(
          'REVOKE_ENROL',
          { programId: org.programId, promotionId: enrolPromo.id },
          'id',
          byIds([customerId]),
        );
        const before = await writeCounts(t);
        const none = await post(t, URLS.revokeEnrolAndEarn, body);
        expect(none.status).toBe(401);
        expect(none.body).toStrictEqual({
          warnings: [],
          errors: [{ status: false, code: 401, message: MESSAGE[401] }],
        });
        for (const auth of [org.auth.read, org.auth.none]) {
          const denied = await post(t, URLS.revokeEnrolAndEarn, body, { auth });
          expect(denied.status).toBe(403);
          expect(denied.body).toStrictEqual({
            warnings: [],
            errors: [{ status: false, code: 4000, message: MESSAGE[4000] }],
          });
        }
        const direct = await post(
          t,
          URLS.revokeDirectEarn,
          bulk(
            'REVOKE_EARN',
            { programId: org.programId, promotionId: directPromo.id },
            'id',
            byIds([customerId]),
          ),
          { auth: org.auth.read },
        );
        expect(direct.status).toBe(403);
        expect(await writeCounts(t)).toStrictEqual(before);
      });

      it('415 for a non-JSON content type and 400 for a broken body, in the bulk envelope', async () => {
        const res = await call(URLS.revokeEnrolAndEarn, 'type=CUSTOMER', {
          headers: { 'content-type': 'text/plain' },
        });
        expectRejected(res, 415, 415);
        const broken = await call(URLS.revokeDirectEarn, '{"type": "CUSTOMER",');
        expectRejected(broken, 400, 400);
      });
    });

    describe('a promotion that is no longer live', () => {
      // The revoke pages answer 8892 for an inactive promotion, as ENROL and EARN do.
      it('cannot be revoked when inactive: 8892 on both revoke endpoints, as for ENROL and EARN', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const [a, b] = await newCustomers(t, org, 2);
        const ids = [a?.id as number, b?.id as number];
        const enrolled = await grant('ENROL', promo.id, ids);
        const earned = await grant('EARN', promo.id, ids);
        await patchPromotion(t, org, promo.id, { active: false });

        const enrol = await call(
          URLS.enrolAndEarn,
          bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'id', byIds(ids)),
        );
        expectRejected(enrol, 400, 8892, MESSAGE[8892]);

        const before = await writeCounts(t);
        for (const [url, action] of [
          [URLS.revokeEnrolAndEarn, 'REVOKE_EARN'],
          [URLS.revokeEnrolAndEarn, 'REVOKE_ENROL'],
          [URLS.revokeDirectEarn, 'REVOKE_EARN'],
        ] as const) {
          const res = await revoke(url, action, promo.id, byIds([ids[0] as number]));
          expectRejected(res, 400, 8892, MESSAGE[8892]);
        }
        expect(await writeCounts(t)).toStrictEqual(before);
        // Active again, the earn and then the enrolment are revoked.
        await patchPromotion(t, org, promo.id, { active: true });
        const earnRevoke = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_EARN',
          promo.id,
          byIds([ids[1] as number]),
        );
        expect(earnRevoke.status).toBe(200);
        expect(earnRevoke.body.response[0].result.revokedEarnIds).toStrictEqual([
          Number(earned[1]?.earnedId),
        ]);
        const enrolRevoke = await revoke(
          URLS.revokeEnrolAndEarn,
          'REVOKE_ENROL',
          promo.id,
          byIds([ids[1] as number]),
        );
        expect(enrolRevoke.status).toBe(200);
        expect(enrolRevoke.body.response[0].result).toMatchObject({
          revokedIssualId: Number(enrolled[1]?.issualId),
        });
      });

      it('can still be revoked after its endDate, on both endpoints', async () => {
        const enrolPromo = await newPromotion(t, org, { endDate: new Date(T0 + 3_600_000).toISOString() });
        const directPromo = await newPromotion(t, org, {
          type: 'DIRECT',
          endDate: new Date(T0 + 3_600_000).toISOString(),
        });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await grant('ENROL', enrolPromo.id, [id]);
        await grant('EARN', enrolPromo.id, [id]);
        await grant('EARN', directPromo.id, [id], URLS.directEarn);
        clock.set(T0 + 7_200_000);
        try {
          const direct = await revoke(URLS.revokeDirectEarn, 'REVOKE_EARN', directPromo.id, byIds([id]));
          expect(direct.status).toBe(200);
          expect(direct.body.response[0].result.revokedEarnIds).toHaveLength(1);
          const earns = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', enrolPromo.id, byIds([id]));
          expect(earns.status).toBe(200);
          expect(earns.body.response[0].result.revokedEarnIds).toHaveLength(1);
          const enrol = await revoke(URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', enrolPromo.id, byIds([id]));
          expect(enrol.status).toBe(200);
          expect(enrol.body.response[0].result.revokedIssualId).toStrictEqual(expect.any(Number));
          const rows = await issualRows(t, enrolPromo.id);
          expect(rows[0]?.revoked_at).toBe(T0 + 7_200_000);
        } finally {
          clock.set(T0);
        }
      });
    });

    describe('across orgs', () => {
      it('another org’s till gets 1101, 8874 or 8015 and revokes nothing', async () => {
        const promo = await newPromotion(t, org);
        const direct = await newPromotion(t, org, { type: 'DIRECT' });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await grant('ENROL', promo.id, [id]);
        await grant('EARN', promo.id, [id]);
        const [d] = await grant('EARN', direct.id, [id], URLS.directEarn);
        const before = await writeCounts(t);
        const asB = (url: string, body: unknown) => post(t, url, body, { auth: orgB.auth.write });

        // org's program, through orgB's credentials
        expectRejected(
          await asB(
            URLS.revokeEnrolAndEarn,
            bulk('REVOKE_ENROL', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
          ),
          400,
          1101,
          MESSAGE[1101],
        );
        expectRejected(
          await asB(
            URLS.revokeDirectEarn,
            bulk('REVOKE_EARN', { programId: org.programId, promotionId: direct.id }, 'id', byIds([id])),
          ),
          400,
          1101,
          MESSAGE[1101],
        );
        // orgB's program with org's promotion
        expectRejected(
          await asB(
            URLS.revokeEnrolAndEarn,
            bulk('REVOKE_EARN', { programId: orgB.programId, promotionId: promo.id }, 'id', byIds([id])),
          ),
          400,
          8874,
          MESSAGE[8874],
        );
        // orgB's own promotion, naming org's customer (by id, mobile and email), and org's earn id
        const onB = await asB(
          URLS.revokeEnrolAndEarn,
          bulk(
            'REVOKE_ENROL',
            { programId: orgB.programId, promotionId: orgB.promotions.enrolAndIssue },
            'id',
            byIds([id]),
          ),
        );
        expect(onB.status).toBe(201);
        expect(onB.body.response).toStrictEqual([errorItem(8015, MESSAGE[8015])]);
        const byMobile = await asB(
          URLS.revokeDirectEarn,
          bulk('REVOKE_EARN', { programId: orgB.programId, promotionId: orgB.promotions.direct }, 'mobile', [
            { identifierValue: c?.mobile, source: 'INSTORE', earnIds: [d?.earnedId] },
          ]),
        );
        expect(byMobile.body.response).toStrictEqual([errorItem(8015, MESSAGE[8015])]);
        // orgB's own customer, with org's earn id
        const [bCustomer] = orgB.customers;
        const foreignEarn = await asB(
          URLS.revokeDirectEarn,
          bulk('REVOKE_EARN', { programId: orgB.programId, promotionId: orgB.promotions.direct }, 'id', [
            { identifierValue: String(bCustomer?.id), source: 'INSTORE', earnIds: [d?.earnedId] },
          ]),
        );
        expect(foreignEarn.status).toBe(201);
        expect(foreignEarn.body.response).toStrictEqual([errorItem(8903)]);

        expect(await writeCounts(t)).toStrictEqual(before);
      });
    });
  },
);
