import { beforeAll, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';
import {
  bulk,
  byIds,
  type CustomerItem,
  newCustomers,
  newPromotion,
  post,
  URLS,
} from '../helpers/v2-family.js';

const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const HEADER = 'issualId,customerId,createdAt,revokedAt,earnedId,earnCreatedAt,earnRevokedAt';

describeEachStore(
  'the enrolment report as CSV',
  () => ({ clock: fixedClock(T0) }),
  (t, _kind, { clock }) => {
    let org: StandardOrg;
    let orgB: StandardOrg;

    beforeAll(async () => {
      org = await seedStandardOrg(t, 0);
      orgB = await seedStandardOrg(t, 0);
    });

    async function csv(orgId: number, promotionId: number | string, token: string | null = ADMIN_TOKEN) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/admin/v1/orgs/${orgId}/promotions/${promotionId}/issuals.csv`,
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: res.statusCode, headers: res.headers, text: res.body };
    }

    async function v2(url: string, action: string, promotionId: number, customers: CustomerItem[]) {
      const res = await post(
        t,
        url,
        bulk(action, { programId: org.programId, promotionId }, 'id', customers),
        {
          auth: org.auth.write,
        },
      );
      expect(res.status, res.text).toBe(200);
      return res.body.response.map((i: any) => i.result);
    }

    /** The CSV that the JSON report describes (every page of it). */
    async function expectedFromJson(orgId: number, promotionId: number): Promise<string> {
      const lines = [HEADER];
      let cursor = '';
      for (;;) {
        const page = await t.admin(
          'GET',
          `/admin/v1/orgs/${orgId}/promotions/${promotionId}/issuals?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        for (const i of page.body.issuals) {
          const head = `${i.issualId},${i.customerId},${i.createdAt},${i.revokedAt ?? ''}`;
          if (i.earns.length === 0) lines.push(`${head},,,`);
          for (const e of i.earns) lines.push(`${head},${e.earnedId},${e.createdAt},${e.revokedAt ?? ''}`);
        }
        if (page.body.nextCursor === null) break;
        cursor = page.body.nextCursor;
      }
      return `${lines.join('\n')}\n`;
    }

    it('is text/csv with a header and a row per earn, or per issual without earns, revokes filled in', async () => {
      const promo = await newPromotion(t, org, { maxIssualsPerCustomer: 2, maxEarnsPerCustomer: null });
      const [a, b, c, d] = await newCustomers(t, org, 4);
      const [ia, ib, ic, id1] = await v2(
        URLS.enrolAndEarn,
        'ENROL',
        promo.id,
        byIds([a, b, c, d].map((x) => x?.id as number)),
      );
      clock.set(T0 + MINUTE);
      const [ea1, ec, ed] = await v2(
        URLS.enrolAndEarn,
        'EARN',
        promo.id,
        byIds([a, c, d].map((x) => x?.id as number)),
      );
      clock.set(T0 + 2 * MINUTE);
      const [ea2] = await v2(URLS.enrolAndEarn, 'EARN', promo.id, byIds([a?.id as number]));
      clock.set(T0 + 3 * MINUTE);
      await v2(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, byIds([c?.id as number]));
      clock.set(T0 + 4 * MINUTE);
      // The revoke pages: d's earn first (REVOKE_ENROL answers 8905 while it is active), then d's enrolment.
      await v2(URLS.revokeEnrolAndEarn, 'REVOKE_EARN', promo.id, byIds([d?.id as number]));
      await v2(URLS.revokeEnrolAndEarn, 'REVOKE_ENROL', promo.id, byIds([d?.id as number]));
      clock.set(T0 + 5 * MINUTE);
      const [id2] = await v2(URLS.enrolAndEarn, 'ENROL', promo.id, byIds([d?.id as number]));
      clock.set(T0);

      const res = await csv(org.orgId, promo.id);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe(
        `attachment; filename="promotion-${promo.id}-issuals.csv"`,
      );
      expect(res.text).toBe(
        [
          HEADER,
          `${ia.issualId},${a?.id},${iso(T0)},,${ea1.earnedId},${iso(T0 + MINUTE)},`,
          `${ia.issualId},${a?.id},${iso(T0)},,${ea2.earnedId},${iso(T0 + 2 * MINUTE)},`,
          `${ib.issualId},${b?.id},${iso(T0)},,,,`,
          `${ic.issualId},${c?.id},${iso(T0)},,${ec.earnedId},${iso(T0 + MINUTE)},${iso(T0 + 3 * MINUTE)}`,
          `${id1.issualId},${d?.id},${iso(T0)},${iso(T0 + 4 * MINUTE)},${ed.earnedId},${iso(T0 + MINUTE)},${iso(T0 + 4 * MINUTE)}`,
          `${id2.issualId},${d?.id},${iso(T0 + 5 * MINUTE)},,,,`,
          '',
        ].join('\n'),
      );
      expect(res.text).toBe(await expectedFromJson(org.orgId, promo.id));
    });

    it('covers a DIRECT promotion, whose issuals come with the first earn', async () => {
      const promo = await newPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
      const [a] = await newCustomers(t, org, 1);
      const [e1] = await v2(URLS.directEarn, 'EARN', promo.id, byIds([a?.id as number]));
      const [e2] = await v2(URLS.directEarn, 'EARN', promo.id, byIds([a?.id as number]));
      await v2(URLS.revokeDirectEarn, 'REVOKE_EARN', promo.id, [
        { identifierValue: String(a?.id), source: 'INSTORE', earnIds: [e1.earnedId] },
      ]);
      const res = await csv(org.orgId, promo.id);
      expect(res.text.split('\n')).toStrictEqual([
        HEADER,
        `${e1.issualId},${a?.id},${iso(T0)},,${e1.earnedId},${iso(T0)},${iso(T0)}`,
        `${e1.issualId},${a?.id},${iso(T0)},,${e2.earnedId},${iso(T0)},`,
        '',
      ]);
    });

    it('is only the header for a promotion without issuals', async () => {
      const promo = await newPromotion(t, org);
      const res = await csv(org.orgId, promo.id);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.text).toBe(`${HEADER}\n`);
    });

    it('holds every issual of a report longer than one page (over 1,000 issuals), in order', async () => {
      const promo = await newPromotion(t, org, { maxEarnsPerCustomer: null });
      const customers = await newCustomers(t, org, 1_050);
      const ids = customers.map((c) => c.id);
      for (let i = 0; i < ids.length; i += 100) {
        await v2(URLS.enrolAndEarn, 'ENROL', promo.id, byIds(ids.slice(i, i + 100)));
      }
      // Earns on both sides of the first page's end.
      await v2(
        URLS.enrolAndEarn,
        'EARN',
        promo.id,
        byIds([ids[999] as number, ids[1000] as number, ids[1049] as number]),
      );
      const res = await csv(org.orgId, promo.id);
      expect(res.status).toBe(200);
      const lines = res.text.split('\n');
      expect(lines[0]).toBe(HEADER);
      expect(lines.at(-1)).toBe('');
      const rows = lines.slice(1, -1).map((l) => l.split(','));
      expect(rows).toHaveLength(1_050);
      expect(rows.map((r) => Number(r[1]))).toStrictEqual(ids);
      const issualIds = rows.map((r) => Number(r[0]));
      expect(issualIds).toStrictEqual([...issualIds].sort((x, y) => x - y));
      expect(new Set(issualIds).size).toBe(1_050);
      expect(rows.filter((r) => r[4] !== '').map((r) => Number(r[1]))).toStrictEqual([
        ids[999],
        ids[1000],
        ids[1049],
      ]);
      expect(res.text).toBe(await expectedFromJson(org.orgId, promo.id));
    }, 120_000);

    it('is a 404 JSON error for an unknown promotion, another org’s promotion or an unknown org', async () => {
      const mine = await newPromotion(t, org);
      const cases: [number, number][] = [
        [org.orgId, 987_654_321_987],
        [org.orgId, orgB.promotions.enrolAndIssue],
        [orgB.orgId, mine.id],
        [987_654_321_987, mine.id],
      ];
      for (const [orgId, promotionId] of cases) {
        const res = await csv(orgId, promotionId);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(res.text)).toStrictEqual({
          error: { code: 'not_found', message: expect.any(String) },
        });
      }
    });

    it('is a 400 JSON error for a malformed id and 401 without the admin token', async () => {
      const bad = await csv(org.orgId, 'abc');
      expect(bad.status).toBe(400);
      expect(bad.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(bad.text)).toStrictEqual({
        error: { code: 'invalid_request', message: expect.any(String), field: 'promotionId' },
      });
      const promo = await newPromotion(t, org);
      for (const token of [null, 'wrong-token']) {
        const res = await csv(org.orgId, promo.id, token);
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(res.text).error.code).toBe('unauthorized');
      }
    });
  },
);
