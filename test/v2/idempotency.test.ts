import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import {
  bulk,
  byIds,
  type CallOptions,
  earnRows,
  expectRejected,
  expectV2Error,
  ID,
  issualRows,
  newApiClient,
  newCustomers,
  newPromotion,
  newTill,
  patchPromotion,
  post,
  type RawResponse,
  URLS,
  writeCounts,
} from '../helpers/v2-family.js';

const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const DAY = 24 * 3_600_000;

let keySeq = 0;
const newKey = () => `idem-${process.pid}-${++keySeq}-${Math.random().toString(36).slice(2, 10)}`;

describeEachStore(
  'Idempotency-Key',
  () => ({ clock: fixedClock(T0) }),
  (t, _kind, { clock }) => {
    let org: StandardOrg;
    let orgB: StandardOrg;

    beforeAll(async () => {
      org = await seedStandardOrg(t, 0);
      orgB = await seedStandardOrg(t, 0);
    });

    const call = (url: string, body: unknown, opts: CallOptions = {}): Promise<RawResponse> =>
      post(t, url, body, { auth: org.auth.write, ...opts });

    const earnBody = (promotionId: number, ids: number[]) =>
      bulk('EARN', { programId: org.programId, promotionId }, 'id', byIds(ids));

    /** Sends twice with one key; the second answer is the first, byte for byte, and writes nothing. */
    async function expectReplayed(url: string, body: unknown, key: string): Promise<RawResponse> {
      const first = await call(url, body, { idempotencyKey: key });
      expect(first.status, first.text).toBeLessThan(300);
      const before = await writeCounts(t);
      const second = await call(url, body, { idempotencyKey: key });
      expect(second.status).toBe(first.status);
      expect(second.text).toBe(first.text);
      expect(second.headers['content-type']).toBe(first.headers['content-type']);
      expect(await writeCounts(t)).toStrictEqual(before);
      return first;
    }

    describe('the same key with the same request', () => {
      it('replays an EARN of enrolAndEarn byte for byte and writes nothing', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const customers = await newCustomers(t, org, 3);
        const ids = customers.map((c) => c.id);
        await call(
          URLS.enrolAndEarn,
          bulk('ENROL', { programId: org.programId, promotionId: promo.id }, 'id', byIds(ids)),
        );
        const key = newKey();
        const first = await expectReplayed(URLS.enrolAndEarn, earnBody(promo.id, ids), key);
        expect(first.status).toBe(200);
        expect(first.body.response.map((i: any) => i.result.earnedId)).toStrictEqual([
          expect.stringMatching(ID),
          expect.stringMatching(ID),
          expect.stringMatching(ID),
        ]);
        // A third and a fourth time too.
        for (let i = 0; i < 2; i++) {
          const again = await call(URLS.enrolAndEarn, earnBody(promo.id, ids), { idempotencyKey: key });
          expect(again.text).toBe(first.text);
        }
        expect(await earnRows(t, promo.id)).toHaveLength(3);
        // Without the key, the same request is a new EARN.
        const fresh = await call(URLS.enrolAndEarn, earnBody(promo.id, ids));
        expect(fresh.status).toBe(200);
        expect(await earnRows(t, promo.id)).toHaveLength(6);
      });

      it('replays ENROL, directEarn, both revokes and issue', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const direct = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        const details = { programId: org.programId, promotionId: promo.id };
        const directDetails = { programId: org.programId, promotionId: direct.id };

        await expectReplayed(URLS.enrolAndEarn, bulk('ENROL', details, 'id', byIds([id])), newKey());
        expect(await issualRows(t, promo.id)).toHaveLength(1);
        await expectReplayed(URLS.enrolAndEarn, bulk('EARN', details, 'id', byIds([id])), newKey());
        await expectReplayed(URLS.directEarn, bulk('EARN', directDetails, 'id', byIds([id])), newKey());
        const issueUrl = `${URLS.issue}?identifierName=id&identifierValue=${id}&source=INSTORE`;
        const issued = await expectReplayed(issueUrl, directDetails, newKey());
        expect(issued.body.sideEffects).toHaveLength(1);
        expect(await earnRows(t, direct.id)).toHaveLength(2);

        // A replayed revoke answers the first revoke, not "already revoked". The enrolment's earn
        // goes first: REVOKE_ENROL refuses 8905 while it is active (the revoke pages).
        await expectReplayed(
          URLS.revokeEnrolAndEarn,
          bulk('REVOKE_EARN', details, 'id', byIds([id])),
          newKey(),
        );
        const revokeEarn = await expectReplayed(
          URLS.revokeDirectEarn,
          bulk('REVOKE_EARN', directDetails, 'id', byIds([id])),
          newKey(),
        );
        expect(revokeEarn.body.response[0].result.revokedEarnIds).toHaveLength(2);
        const revokeEnrol = await expectReplayed(
          URLS.revokeEnrolAndEarn,
          bulk('REVOKE_ENROL', details, 'id', byIds([id])),
          newKey(),
        );
        expect(revokeEnrol.status).toBe(200);
        expect(revokeEnrol.body.response[0].result.revokedIssualId).toStrictEqual(expect.any(Number));
      });

      it('replays a partial failure with its status 201', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const body = bulk('EARN', { programId: org.programId, promotionId: promo.id }, 'id', [
          ...byIds([c?.id as number]),
          { identifierValue: '999999999999', source: 'INSTORE' },
        ]);
        const first = await expectReplayed(URLS.directEarn, body, newKey());
        expect(first.status).toBe(201);
        expect(first.body.failureCount).toBe(1);
        expect(await earnRows(t, promo.id)).toHaveLength(1);
      });

      it('replays the stored answer even after the promotion stopped being live', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT' });
        const [c] = await newCustomers(t, org, 1);
        const key = newKey();
        const body = earnBody(promo.id, [c?.id as number]);
        const first = await call(URLS.directEarn, body, { idempotencyKey: key });
        expect(first.status).toBe(200);
        await patchPromotion(t, org, promo.id, { active: false });
        const again = await call(URLS.directEarn, body, { idempotencyKey: key });
        expect(again.status).toBe(200);
        expect(again.text).toBe(first.text);
        // The same request without the key meets the inactive promotion.
        expectRejected(await call(URLS.directEarn, body), 400, 8892);
      });
    });

    describe('the same key with a different request', () => {
      it('is 422 on a bulk endpoint, in the bulk envelope, and writes nothing; the key still replays', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [a, b] = await newCustomers(t, org, 2);
        const key = newKey();
        const first = await call(URLS.directEarn, earnBody(promo.id, [a?.id as number]), {
          idempotencyKey: key,
        });
        expect(first.status).toBe(200);
        const before = await writeCounts(t);
        const others: [string, unknown][] = [
          [URLS.directEarn, earnBody(promo.id, [b?.id as number])],
          [URLS.directEarn, earnBody(promo.id, [a?.id as number, a?.id as number])],
          [URLS.directEarn, { ...earnBody(promo.id, [a?.id as number]), extra: true }],
          // the same body on another endpoint is another request
          [URLS.enrolAndEarn, earnBody(promo.id, [a?.id as number])],
        ];
        for (const [url, body] of others) {
          const res = await call(url, body, { idempotencyKey: key });
          expectRejected(res, 422, 422);
        }
        expect(await writeCounts(t)).toStrictEqual(before);
        const replay = await call(URLS.directEarn, earnBody(promo.id, [a?.id as number]), {
          idempotencyKey: key,
        });
        expect(replay.text).toBe(first.text);
      });

      it('is 422 on issue, in the v2 envelope, for another body or another customer in the query', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const other = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [a, b] = await newCustomers(t, org, 2);
        const url = (id: number) => `${URLS.issue}?identifierName=id&identifierValue=${id}&source=INSTORE`;
        const key = newKey();
        const body = { programId: org.programId, promotionId: promo.id };
        const first = await call(url(a?.id as number), body, { idempotencyKey: key });
        expect(first.status).toBe(200);
        const before = await writeCounts(t);
        expectV2Error(await call(url(b?.id as number), body, { idempotencyKey: key }), 422, 422);
        expectV2Error(
          await call(url(a?.id as number), { ...body, promotionId: other.id }, { idempotencyKey: key }),
          422,
          422,
        );
        expect(await writeCounts(t)).toStrictEqual(before);
      });
    });

    describe('keys belong to the credential', () => {
      it('another till, an API client and another org can use the same key independently', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const body = earnBody(promo.id, [c?.id as number]);
        const key = newKey();
        const till2 = await newTill(t, org);
        const client = await newApiClient(t, org);

        const mine = await call(URLS.directEarn, body, { idempotencyKey: key });
        const theirs = await post(t, URLS.directEarn, body, { auth: till2.auth, idempotencyKey: key });
        const clients = await post(t, URLS.directEarn, body, {
          headers: { 'x-cap-api-oauth-token': client.token },
          idempotencyKey: key,
        });
        for (const res of [mine, theirs, clients]) expect(res.status).toBe(200);
        const earned = [mine, theirs, clients].map((r) => r.body.response[0].result.earnedId);
        expect(new Set(earned).size).toBe(3);
        expect(await earnRows(t, promo.id)).toHaveLength(3);

        // A different request with the same key by another credential is not a conflict either.
        const [bCustomer] = await newCustomers(t, orgB, 1);
        const onB = await post(
          t,
          URLS.directEarn,
          bulk(
            'EARN',
            { programId: orgB.programId, promotionId: orgB.promotions.direct },
            'id',
            byIds([bCustomer?.id as number]),
          ),
          { auth: orgB.auth.write, idempotencyKey: key },
        );
        expect(onB.status).toBe(200);

        // Each credential replays its own answer.
        const before = await writeCounts(t);
        expect((await post(t, URLS.directEarn, body, { auth: till2.auth, idempotencyKey: key })).text).toBe(
          theirs.text,
        );
        expect((await call(URLS.directEarn, body, { idempotencyKey: key })).text).toBe(mine.text);
        expect(
          (
            await post(t, URLS.directEarn, body, {
              headers: { 'x-cap-api-oauth-token': client.token },
              idempotencyKey: key,
            })
          ).text,
        ).toBe(clients.text);
        expect(await writeCounts(t)).toStrictEqual(before);
      });
    });

    describe('retries after a lost response', () => {
      it('a retry after an answer that never arrived finds exactly one earn', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const id = c?.id as number;
        await call(
          URLS.enrolAndEarn,
          bulk('ENROL', { programId: org.programId, promotionId: promo.id }, 'id', byIds([id])),
        );
        const key = newKey();
        const body = earnBody(promo.id, [id]);
        // The client sends and loses the answer (it never reads it) ...
        await call(URLS.enrolAndEarn, body, { idempotencyKey: key });
        // ... and retries.
        const retry = await call(URLS.enrolAndEarn, body, { idempotencyKey: key });
        expect(retry.status).toBe(200);
        const earns = await earnRows(t, promo.id);
        expect(earns).toHaveLength(1);
        expect(retry.body.response[0].result.earnedId).toBe(String(earns[0]?.id));
      });

      it('a retry sent while the first call is still in flight finds exactly one earn', async () => {
        const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
        const customers = await newCustomers(t, org, 20);
        const ids = customers.map((c) => c.id);
        await call(
          URLS.enrolAndEarn,
          bulk('ENROL', { programId: org.programId, promotionId: promo.id }, 'id', byIds(ids)),
        );
        const key = newKey();
        const body = earnBody(promo.id, ids);
        const lost = call(URLS.enrolAndEarn, body, { idempotencyKey: key });
        const retry = await call(URLS.enrolAndEarn, body, { idempotencyKey: key });
        await lost;
        expect(retry.status).toBe(200);
        const earns = await earnRows(t, promo.id);
        expect(earns).toHaveLength(20);
        expect(retry.body.response.map((i: any) => i.result.earnedId).sort()).toStrictEqual(
          earns.map((e) => String(e.id)).sort(),
        );
      });

      it('ten concurrent calls with one key make one earn per customer, and all get the same answer', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const customers = await newCustomers(t, org, 10);
        const ids = customers.map((c) => c.id);
        const key = newKey();
        const body = earnBody(promo.id, ids);
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => call(URLS.directEarn, body, { idempotencyKey: key })),
        );
        for (const res of answers) {
          expect(res.status, res.text).toBe(200);
          expect(res.text).toBe(answers[0]?.text);
        }
        const earns = await earnRows(t, promo.id);
        expect(earns).toHaveLength(10);
        expect((await issualRows(t, promo.id)).length).toBe(10);
        expect(answers[0]?.body.response.map((i: any) => i.result.earnedId).sort()).toStrictEqual(
          earns.map((e) => String(e.id)).sort(),
        );
        const stored = await t.testStore.store.db
          .selectFrom('idempotency_keys')
          .select(['credential', 'key'])
          .where('key', '=', key)
          .execute();
        expect(stored).toHaveLength(1);
      });

      it('concurrent calls with one key and two different bodies: one body runs, the others get its answer or 422', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [a, b] = await newCustomers(t, org, 2);
        const key = newKey();
        const bodies = [earnBody(promo.id, [a?.id as number]), earnBody(promo.id, [b?.id as number])];
        const answers = await Promise.all(
          Array.from({ length: 10 }, (_, i) => call(URLS.directEarn, bodies[i % 2], { idempotencyKey: key })),
        );
        const earns = await earnRows(t, promo.id);
        expect(earns).toHaveLength(1);
        const winner = earns[0]?.customer_id === a?.id ? 0 : 1;
        const okText = answers.find((r) => r.status === 200)?.text;
        answers.forEach((res, i) => {
          if (i % 2 === winner) {
            expect(res.status).toBe(200);
            expect(res.text).toBe(okText);
          } else {
            expectRejected(res, 422, 422);
          }
        });
      });
    });

    describe('the replay window', () => {
      it('replays for 24 hours; an older key is not replayed and the new answer is kept', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const body = earnBody(promo.id, [c?.id as number]);
        const key = newKey();
        try {
          const first = await call(URLS.directEarn, body, { idempotencyKey: key });
          clock.set(T0 + DAY - 1);
          expect((await call(URLS.directEarn, body, { idempotencyKey: key })).text).toBe(first.text);
          expect(await earnRows(t, promo.id)).toHaveLength(1);

          clock.set(T0 + DAY + 1);
          const later = await call(URLS.directEarn, body, { idempotencyKey: key });
          expect(later.status).toBe(200);
          expect(later.text).not.toBe(first.text);
          expect(later.body.response[0].result.earnedId).not.toBe(first.body.response[0].result.earnedId);
          expect(await earnRows(t, promo.id)).toHaveLength(2);
          // The new answer is what the key replays now.
          clock.set(T0 + DAY + 2);
          expect((await call(URLS.directEarn, body, { idempotencyKey: key })).text).toBe(later.text);
          expect(await earnRows(t, promo.id)).toHaveLength(2);
        } finally {
          clock.set(T0);
        }
      });

      it('an expired key may carry a different request', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [a, b] = await newCustomers(t, org, 2);
        const key = newKey();
        try {
          expect(
            (await call(URLS.directEarn, earnBody(promo.id, [a?.id as number]), { idempotencyKey: key }))
              .status,
          ).toBe(200);
          clock.set(T0 + 2 * DAY);
          const other = await call(URLS.directEarn, earnBody(promo.id, [b?.id as number]), {
            idempotencyKey: key,
          });
          expect(other.status).toBe(200);
          expect(other.body.response[0].result.entityId).toBe(b?.id);
        } finally {
          clock.set(T0);
        }
      });
    });

    describe('the header itself', () => {
      it('a malformed key is 400 and nothing is written; 255 printable characters are fine', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const body = earnBody(promo.id, [c?.id as number]);
        const before = await writeCounts(t);
        for (const key of ['x'.repeat(256), 'caf\u00e9', 'tab\tkey', '']) {
          const res = await call(URLS.directEarn, body, { idempotencyKey: key });
          expectRejected(res, 400, 400);
        }
        const issueUrl = `${URLS.issue}?identifierName=id&identifierValue=${c?.id}&source=INSTORE`;
        expectV2Error(
          await call(
            issueUrl,
            { programId: org.programId, promotionId: promo.id },
            { idempotencyKey: 'x'.repeat(256) },
          ),
          400,
          400,
        );
        expect(await writeCounts(t)).toStrictEqual(before);
        const long = `${'k'.repeat(250)}-~!#$`;
        expect(long).toHaveLength(255);
        await expectReplayed(URLS.directEarn, body, long);
      });

      it('a whole-request rejection is not stored: the same key answers it again, and a corrected request runs', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const key = newKey();
        const bad = bulk(
          'EARN',
          { programId: 999_999_999, promotionId: promo.id },
          'id',
          byIds([c?.id as number]),
        );
        expectRejected(await call(URLS.directEarn, bad, { idempotencyKey: key }), 400, 1101);
        expectRejected(await call(URLS.directEarn, bad, { idempotencyKey: key }), 400, 1101);
        const good = await call(URLS.directEarn, earnBody(promo.id, [c?.id as number]), {
          idempotencyKey: key,
        });
        expect(good.status).toBe(200);
        expect(await earnRows(t, promo.id)).toHaveLength(1);
      });

      it('a GET needs no key: with one it answers as usual and stores nothing', async () => {
        const [c] = await newCustomers(t, org, 1);
        const before = await writeCounts(t);
        const res = await t.app.inject({
          method: 'GET',
          url: `${URLS.lookup}?identifierName=id&identifierValue=${c?.id}&source=INSTORE`,
          headers: { authorization: org.auth.read, 'idempotency-key': newKey() },
        });
        expect(res.statusCode).toBe(200);
        expect(await writeCounts(t)).toStrictEqual(before);
      });

      it('authentication comes first: a bad credential with a used key is 401, not a replay', async () => {
        const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const [c] = await newCustomers(t, org, 1);
        const key = newKey();
        const body = earnBody(promo.id, [c?.id as number]);
        expect((await call(URLS.directEarn, body, { idempotencyKey: key })).status).toBe(200);
        const res = await post(t, URLS.directEarn, body, { idempotencyKey: key });
        expect(res.status).toBe(401);
        const read = await post(t, URLS.directEarn, body, { idempotencyKey: key, auth: org.auth.read });
        expect(read.status).toBe(403);
      });
    });
  },
);
