import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { bulkRequest, items, postBulk } from '../helpers/bulk.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { STORES } from '../helpers/stores.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { type Receiver, startReceiver } from './receiver.js';

/**
 * Every acknowledged issual, earn and revoke becomes exactly one event, written with it and sent to
 * a real receiver that verifies every signature; nothing for refused customers, rolled-back requests
 * or replays.
 */

const URL = {
  enrolAndEarn: '/v2/promotion/bulk/enrolAndEarn',
  directEarn: '/v2/promotion/bulk/directEarn',
  revokeEnrolAndEarn: '/v2/promotion/bulk/revokeEnrolAndEarn',
  revokeDirectEarn: '/v2/promotion/bulk/revokeDirectEarn',
};

for (const kind of STORES) {
  describe(`the outbox on ${kind}`, { timeout: 60_000 }, () => {
    let t: TestApp;
    let org: StandardOrg;
    let receiver: Receiver;
    /** What the API acknowledged, as the events it must have made: "type issualId earnedId". */
    const expected: string[] = [];

    beforeAll(async () => {
      t = await startTestApp(kind, {
        config: { events: { ...DEFAULT_EVENTS_CONFIG, allowPrivate: true, pollMs: 50, retryBaseMs: 100 } },
      });
      receiver = await startReceiver();
      org = await seedStandardOrg(t, 6);
      const hook = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/webhooks`, {
        url: receiver.url('all'),
        maxBatchSize: 7,
      });
      receiver.secret('all', hook.body.secret);
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
    });

    const ids = (n: number) => org.customers.slice(0, n).map((c) => c.id);
    const feed = async () =>
      (await t.admin('GET', `/admin/v1/orgs/${org.orgId}/events?limit=1000`)).body.events as any[];
    const key = (e: any) => `${e.type} ${e.data.issualId} ${e.data.earnedId ?? '-'}`;

    async function send(url: string, action: string, promotionId: number, customers: unknown, headers = {}) {
      const res = await postBulk(
        t,
        bulkRequest(action, { programId: org.programId, promotionId }, 'id', customers),
        { auth: org.auth.write, url, headers, requestId: `req-${action}-${expected.length}` },
      );
      expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
      return res.body.response as any[];
    }

    /** Waits until the feed holds `count` events, then returns them. */
    async function feedOf(count: number): Promise<any[]> {
      for (let i = 0; ; i++) {
        const events = await feed();
        if (events.length >= count || i > 300) return events;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    it('ENROL writes one event per new issual, none for refused or already enrolled customers', async () => {
      const promotionId = org.promotions.enrolAndIssue;
      const answer = await send(URL.enrolAndEarn, 'ENROL', promotionId, [
        ...items(ids(3)),
        { identifierValue: '999999999', source: 'INSTORE' }, // no such customer
        { identifierValue: String(ids(4)[3]), source: 'WEBSITE' }, // not registered there
        { identifierValue: String(ids(1)[0]), source: 'INSTORE' }, // twice: already enrolled
      ]);
      const issualIds = answer.slice(0, 3).map((item) => item.result.issualId);
      for (const id of issualIds) expected.push(`promotion.enrolled ${id} -`);
      expect(answer[3].errors).toHaveLength(1);
      expect(answer[5].warnings).toHaveLength(1);

      const events = await feedOf(3);
      expect(events.map(key)).toStrictEqual(expected);
      expect(events[0]).toStrictEqual({
        id: expect.stringMatching(/^evt_\d+$/),
        type: 'promotion.enrolled',
        timestamp: expect.stringMatching(/Z$/),
        orgId: org.orgId,
        data: {
          programId: org.programId,
          promotionId,
          customerId: ids(1)[0],
          issualId: issualIds[0],
          source: 'INSTORE',
          requestId: 'req-ENROL-0',
          credential: expect.stringMatching(/^till:till-write-/),
        },
      });
    });

    it('EARN and a direct earn write an event per earn (and per issual made on the way)', async () => {
      const answer = await send(URL.enrolAndEarn, 'EARN', org.promotions.enrolAndIssue, [
        ...items(ids(2)),
        { identifierValue: String(ids(6)[5]), source: 'INSTORE' }, // not enrolled: 8896
      ]);
      for (const item of answer.slice(0, 2))
        expected.push(`promotion.earned ${item.result.issualId} ${item.result.earnedId}`);
      expect(answer[2].errors[0].code).toBe(8896);
      const direct = await send(URL.directEarn, 'EARN', org.promotions.direct, items([ids(1)[0] as number]));
      expected.push(`promotion.enrolled ${direct[0].result.issualId} -`);
      expected.push(`promotion.earned ${direct[0].result.issualId} ${direct[0].result.earnedId}`);
      const withIdentifier = await send(
        URL.enrolAndEarn,
        'ENROL',
        org.promotions.withIdentifier,
        items(ids(1)),
      );
      expected.push(`promotion.enrolled ${withIdentifier[0].result.issualId} -`);
      const events = await feedOf(expected.length);
      expect(events.map(key)).toStrictEqual(expected);
      expect(events.at(-1).data.promoIdentifier).toBe(org.promoIdentifier);
    });

    it('revokes write an event per record revoked, with the revoking request and credential', async () => {
      const earned = await send(URL.enrolAndEarn, 'EARN', org.promotions.enrolAndIssue, items(ids(1)));
      expected.push(`promotion.earned ${earned[0].result.issualId} ${earned[0].result.earnedId}`);
      const one = await send(URL.revokeEnrolAndEarn, 'REVOKE_EARN', org.promotions.enrolAndIssue, [
        { identifierValue: String(ids(1)[0]), source: 'INSTORE', earnIds: [earned[0].result.earnedId] },
      ]);
      expected.push(`promotion.earn_revoked ${earned[0].result.issualId} ${one[0].result.revokedEarnIds[0]}`);
      // The revoke pages: the earns go first (REVOKE_ENROL answers 8905 while any is active and
      // writes nothing, so no event), then the enrolment.
      const refused = await send(URL.revokeEnrolAndEarn, 'REVOKE_ENROL', org.promotions.enrolAndIssue, [
        ...items(ids(1)),
      ]);
      expect(refused[0].errors[0].code).toBe(8905);
      const rest = await send(URL.revokeEnrolAndEarn, 'REVOKE_EARN', org.promotions.enrolAndIssue, [
        ...items(ids(1)),
      ]);
      for (const earnId of rest[0].result.revokedEarnIds)
        expected.push(`promotion.earn_revoked ${earned[0].result.issualId} ${earnId}`);
      expect(rest[0].result.revokedEarnIds).toHaveLength(1);
      const all = await send(URL.revokeEnrolAndEarn, 'REVOKE_ENROL', org.promotions.enrolAndIssue, [
        ...items(ids(1)),
        { identifierValue: String(ids(6)[5]), source: 'INSTORE' }, // not enrolled: 2305
      ]);
      const revoked = all[0].result;
      expected.push(`promotion.enrolment_revoked ${revoked.issualId} -`);
      expect(revoked.revokedIssualId).toBe(Number(revoked.issualId));
      expect(all[1].errors[0].code).toBe(2305);
      const events = await feedOf(expected.length);
      expect(events.map(key)).toStrictEqual(expected);
      const last = events.at(-1);
      expect(last.data.requestId).toBe(`req-REVOKE_ENROL-${expected.length - 1}`);
      expect(last.data.credential).toMatch(/^till:till-write-/);
    });

    it('a replayed Idempotency-Key request, and the twins of one, add no event', async () => {
      const body = bulkRequest(
        'ENROL',
        { programId: org.programId, promotionId: org.promotions.withIdentifier },
        'id',
        items(ids(4)),
      );
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          postBulk(t, body, { auth: org.auth.write, headers: { 'idempotency-key': `key-${kind}` } }),
        ),
      );
      const made = answers[0]?.body.response.filter((i: any) => i.result && i.warnings.length === 0) as any[];
      expect(made, JSON.stringify(answers[0]?.body)).toHaveLength(3);
      for (const answer of answers) expect(answer.body).toStrictEqual(answers[0]?.body);
      for (const item of made) expected.push(`promotion.enrolled ${item.result.issualId} -`);
      await postBulk(t, body, { auth: org.auth.write, headers: { 'idempotency-key': `key-${kind}` } });
      const events = await feedOf(expected.length);
      expect(events.map(key)).toStrictEqual(expected);
    });

    it('a refused request and a request with nothing to do write nothing', async () => {
      const inactive = await postBulk(
        t,
        bulkRequest(
          'ENROL',
          { programId: org.programId, promotionId: org.promotions.inactive },
          'id',
          items(ids(2)),
        ),
        { auth: org.auth.write },
      );
      expect(inactive.status).toBe(400);
      await send(URL.enrolAndEarn, 'ENROL', org.promotions.enrolAndIssue, items(ids(2)));
      expect((await feed()).map(key)).toStrictEqual(expected);
    });

    it('the receiver gets each event exactly once, every signature verified', async () => {
      await receiver.waitFor(() => receiver.delivered('all').length >= expected.length, 'every event');
      const got = receiver.delivered('all').map((d) => d.event);
      expect(got.map(key)).toStrictEqual(expected);
      expect(new Set(got.map((e) => e.id)).size).toBe(expected.length);
      expect(got).toStrictEqual(await feed());
      expect(receiver.unverified).toStrictEqual([]);
    });

    it('counts the events written, by type, in the metrics', async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      for (const type of [
        'promotion.enrolled',
        'promotion.earned',
        'promotion.enrolment_revoked',
        'promotion.earn_revoked',
      ]) {
        const n = expected.filter((e) => e.startsWith(`${type} `)).length;
        expect(text).toContain(`loyalty_events_written_total{type="${type}"} ${n}`);
      }
    });
  });
}
