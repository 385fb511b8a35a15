import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTransaction } from '../../src/db/database.js';
import { decodeCursor, encodeCursor } from '../../src/events/event.model.js';
import { createOutbox } from '../../src/events/outbox.repository.js';
import { STORES } from '../helpers/stores.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { feedShows, newOrg, readAll, someEvent, writeEvents } from './helpers.js';

describe('feed cursors', () => {
  it('encode a position and read it back, and refuse anything else', () => {
    const position = { xid: 123456789012, id: 42 };
    expect(decodeCursor(encodeCursor(position))).toStrictEqual(position);
    expect(decodeCursor('not a cursor')).toBeUndefined();
    expect(decodeCursor(Buffer.from('1.x').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('99999999999999999999.1').toString('base64url'))).toBeUndefined();
  });
});

for (const kind of STORES) {
  describe(`event feed on ${kind}`, () => {
    let t: TestApp;
    let orgId: number;
    let otherOrg: number;

    beforeAll(async () => {
      t = await startTestApp(kind);
      orgId = await newOrg(t);
      otherOrg = await newOrg(t);
    });
    afterAll(() => t?.close());

    it('answers every committed event once, in a stable order, page by page, from the oldest', async () => {
      const at = Date.parse('2026-11-30T01:02:03.004Z');
      await writeEvents(
        t.testStore.store,
        orgId,
        [someEvent('promotion.enrolled', 1), someEvent('promotion.earned', 2)],
        at,
      );
      await writeEvents(t.testStore.store, orgId, [someEvent('promotion.enrolment_revoked', 3)], at);
      await writeEvents(t.testStore.store, otherOrg, [someEvent('promotion.enrolled', 4)], at);
      await writeEvents(t.testStore.store, orgId, [someEvent('promotion.earn_revoked', 5)], at);
      await feedShows(t, orgId, 4);
      await feedShows(t, otherOrg, 1);

      const first = await readAll(t, orgId, 2);
      const again = await readAll(t, orgId, 1000);
      expect(first.events.map((e) => e.id)).toStrictEqual(again.events.map((e) => e.id));
      expect(first.events.map((e) => e.data.customerId)).toStrictEqual([1001, 1002, 1003, 1005]);
      expect(new Set(first.events.map((e) => e.id)).size).toBe(4);
      expect(first.events[1]).toStrictEqual({
        id: expect.stringMatching(/^evt_\d+$/),
        type: 'promotion.earned',
        timestamp: '2026-11-30T01:02:03.004Z',
        orgId,
        data: {
          programId: 1,
          promotionId: 2,
          customerId: 1002,
          issualId: '5002',
          earnedId: '9002',
          source: 'INSTORE',
          requestId: 'req-2',
          credential: 'till:test',
        },
      });
      // Nothing of another org.
      expect((await readAll(t, otherOrg)).events.map((e) => e.data.customerId)).toStrictEqual([1004]);

      // A consumer at the end sees only what is written after.
      const tail = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?after=${first.cursor}`);
      expect(tail.body).toStrictEqual({ events: [], nextCursor: first.cursor });
      await writeEvents(t.testStore.store, orgId, [someEvent('promotion.enrolled', 6)], at);
      await feedShows(t, orgId, 5);
      const next = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?after=${first.cursor}`);
      expect(next.body.events.map((e: any) => e.data.customerId)).toStrictEqual([1006]);
    });

    it('filters by type', async () => {
      const revokes = await readAll(t, orgId, 1, '&type=promotion.enrolment_revoked');
      expect(revokes.events.map((e) => e.type)).toStrictEqual(['promotion.enrolment_revoked']);
    });

    it('holds nothing of a transaction that rolled back', async () => {
      const before = (await readAll(t, orgId, 1000)).events.length;
      const outbox = createOutbox(t.testStore.store.dialect);
      await expect(
        writeTransaction(t.testStore.store, async (trx) => {
          await outbox.append(trx, orgId, Date.now(), [someEvent('promotion.enrolled', 7)]);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect((await readAll(t, orgId, 1000)).events).toHaveLength(before);
    });

    it('refuses a bad limit, cursor or type, naming the parameter', async () => {
      for (const [query, field] of [
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=x', 'limit'],
        ['after=nope', 'after'],
        ['type=promotion.other', 'type'],
      ] as const) {
        const res = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.body.error.field, query).toBe(field);
      }
      const max = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1000`);
      expect(max.status).toBe(200);
    });

    it('needs the admin token', async () => {
      const res = await t.app.inject({ method: 'GET', url: `/admin/v1/orgs/${orgId}/events` });
      expect(res.statusCode).toBe(401);
    });
  });
}
