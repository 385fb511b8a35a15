import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { STORES } from '../helpers/stores.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/test-app.js';
import { newOrg, someEvent, writeEvents } from './helpers.js';
import { type Receiver, startReceiver } from './receiver.js';

const events = {
  ...DEFAULT_EVENTS_CONFIG,
  allowPrivate: true,
  pollMs: 50,
  retryBaseMs: 100,
  timeoutMs: 1_000,
  leaseMs: 2_000,
};

for (const kind of STORES) {
  describe(`webhooks on ${kind}`, { timeout: 60_000 }, () => {
    let t: TestApp;
    let receiver: Receiver;
    let orgId: number;
    let n = 0;

    beforeAll(async () => {
      t = await startTestApp(kind, { config: { events } });
      receiver = await startReceiver();
      orgId = await newOrg(t);
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
    });

    /** A new endpoint of `orgId` on the receiver; returns its id and name. */
    async function endpoint(body: Record<string, unknown> = {}, org = orgId) {
      const name = `e${++n}`;
      const res = await t.admin('POST', `/admin/v1/orgs/${org}/webhooks`, {
        url: receiver.url(name),
        ...body,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      receiver.secret(name, res.body.secret);
      return { id: res.body.id as string, name, created: res.body };
    }

    const write = (org: number, count: number, type = 'promotion.enrolled' as const) =>
      writeEvents(
        t.testStore.store,
        org,
        Array.from({ length: count }, (_, i) => someEvent(type, ++n * 100 + i)),
      );

    /** The endpoint's delivery log, once `ready` holds for it (an attempt is logged after its answer). */
    async function deliveries(id: string, ready: (log: any[]) => boolean = () => true): Promise<any[]> {
      for (let i = 0; ; i++) {
        const res = await t.admin('GET', `/admin/v1/orgs/${orgId}/webhooks/${id}/deliveries?limit=1000`);
        if (ready(res.body.deliveries) || i > 200) return res.body.deliveries;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    /** Waits until the feed shows `count` events more than `before`: the writers have all ended. */
    async function feedLength(org: number): Promise<number> {
      const res = await t.admin('GET', `/admin/v1/orgs/${org}/events?limit=1000`);
      return res.body.events.length;
    }

    it('creates, shows, changes, rotates and deletes an endpoint; the secret is shown only when made', async () => {
      const { id, created } = await endpoint({
        description: 'CRM',
        types: ['promotion.earned'],
        maxBatchSize: 5,
      });
      expect(created).toStrictEqual({
        id: expect.stringMatching(/^wh_/),
        url: expect.stringContaining('/hook/'),
        description: 'CRM',
        types: ['promotion.earned'],
        enabled: true,
        disabledReason: null,
        maxBatchSize: 5,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      });
      expect(Buffer.from(created.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
      const shown = await t.admin('GET', `/admin/v1/orgs/${orgId}/webhooks/${id}`);
      const { secret: _secret, ...withoutSecret } = created;
      expect(shown.body).toStrictEqual({ ...withoutSecret, updatedAt: expect.any(String) });
      const listed = await t.admin('GET', `/admin/v1/orgs/${orgId}/webhooks`);
      expect(listed.body.webhooks.map((w: any) => w.id)).toContain(id);
      expect(listed.body.nextCursor).toBeNull();

      const patched = await t.admin('PATCH', `/admin/v1/orgs/${orgId}/webhooks/${id}`, {
        types: ['promotion.enrolled', 'promotion.earned'],
        maxBatchSize: 1,
        enabled: false,
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        types: ['promotion.enrolled', 'promotion.earned'],
        maxBatchSize: 1,
        enabled: false,
      });
      const rotated = await t.admin('POST', `/admin/v1/orgs/${orgId}/webhooks/${id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(created.secret);

      const gone = await t.app.inject({
        method: 'DELETE',
        url: `/admin/v1/orgs/${orgId}/webhooks/${id}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(gone.statusCode).toBe(204);
      expect((await t.admin('GET', `/admin/v1/orgs/${orgId}/webhooks/${id}`)).status).toBe(404);
      expect((await t.admin('GET', `/admin/v1/orgs/999999/webhooks/${id}`)).status).toBe(404);
      expect(
        (await t.admin('POST', '/admin/v1/orgs/999999/webhooks', { url: receiver.url('x') })).status,
      ).toBe(404);
    });

    it('refuses a malformed endpoint, naming the field', async () => {
      for (const [body, field] of [
        [{}, 'url'],
        [{ url: 'ftp://example.com/x' }, 'url'],
        [{ url: receiver.url('x'), maxBatchSize: 0 }, 'maxBatchSize'],
        [{ url: receiver.url('x'), maxBatchSize: 1001 }, 'maxBatchSize'],
        [{ url: receiver.url('x'), types: [] }, 'types'],
        [{ url: receiver.url('x'), types: ['promotion.nothing'] }, 'types[0]'],
        [{ url: receiver.url('x'), other: 1 }, 'other'],
      ] as const) {
        const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/webhooks`, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.field, JSON.stringify(body)).toBe(field);
      }
    });

    it('delivers each event once, signed, in feed order, from when the endpoint was made', async () => {
      const before = await feedLength(orgId);
      await write(orgId, 2); // before the endpoint, and seen in the feed: not sent to it
      while ((await feedLength(orgId)) < before + 2) await new Promise((resolve) => setTimeout(resolve, 20));
      const { id, name } = await endpoint();
      await write(orgId, 3);
      await write(orgId, 2, 'promotion.earned' as never);
      await receiver.waitFor(() => receiver.delivered(name).length >= 5, 'five events');
      const got = receiver.delivered(name);
      expect(got).toHaveLength(5);
      for (const { messageId, event } of got) expect(messageId).toBe(event.id);
      const feed = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1000`);
      const tail = feed.body.events.slice(-5);
      expect(got.map((g) => g.event)).toStrictEqual(tail);
      expect(receiver.unverified).toStrictEqual([]);
      const log = await deliveries(id, (l) => l.length >= 5);
      expect(log).toHaveLength(5);
      expect(log[0]).toStrictEqual({
        id: expect.any(String),
        messageId: tail[4].id,
        eventIds: [tail[4].id],
        attempt: 1,
        outcome: 'delivered',
        statusCode: 200,
        durationMs: expect.any(Number),
        error: null,
        nextRetryAt: null,
        at: expect.any(String),
      });
    });

    it('sends batches of up to maxBatchSize in feed order, of the types asked for', async () => {
      const { name } = await endpoint({ maxBatchSize: 3, types: ['promotion.earned'] });
      await write(orgId, 4, 'promotion.earned' as never);
      await write(orgId, 2);
      await write(orgId, 3, 'promotion.earned' as never);
      await receiver.waitFor(() => receiver.delivered(name).length >= 7, 'seven earned events');
      const messages = receiver.received.filter((r) => r.endpoint === name);
      for (const m of messages) {
        expect(m.body.type).toBe('batch');
        expect(m.body.events.length).toBeLessThanOrEqual(3);
        expect(m.messageId).toMatch(/^msg_/);
      }
      const got = receiver.delivered(name).map((d) => d.event);
      expect(got.every((e) => e.type === 'promotion.earned')).toBe(true);
      const feed = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1000&type=promotion.earned`);
      expect(got).toStrictEqual(feed.body.events.slice(-7));
    });

    it('sends a round of several messages in feed order, and stops it at the first that fails', async () => {
      const { id, name } = await endpoint({ maxBatchSize: 2 });
      // Two messages answered, the third refused once, then every one answered.
      receiver.behave(name, { status: 200, times: 2, next: { status: 503, times: 1 } });
      // One transaction: ten events, one round of five messages.
      await write(orgId, 10);
      const mine = () => receiver.received.filter((r) => r.endpoint === name);
      // Until the refused message went again and it and every one after it were answered 2xx from
      // then on. Those sent behind it the first time may be answered after the refusal too, so the
      // answers are counted from the refused message's second sending, not from the refusal.
      await receiver.waitFor(() => {
        const all = [...new Set(mine().map((r) => r.messageId))];
        const refused = mine().findIndex((r) => r.status === 503);
        if (refused < 0 || all.length !== 5) return false;
        const rest = mine().slice(refused + 1);
        const resent = rest.findIndex((r) => r.messageId === all[2]);
        if (resent < 0) return false;
        const after = rest
          .slice(resent)
          .filter((r) => r.status === 200)
          .map((r) => r.messageId);
        return all.slice(2).every((m) => after.includes(m));
      }, 'the refused message and those after it');
      const sent = mine();
      const ids = sent.map((r) => r.messageId);
      const messages = [...new Set(ids)];
      expect(messages).toHaveLength(5);
      // The messages went out in feed order, up to four at once on one connection. Those sent behind
      // the refused one before its answer came went again after it, under the same webhook-ids, and
      // nothing new went out before it was delivered.
      const again = ids.indexOf(messages[2] as string, 3);
      expect(ids.slice(0, again)).toStrictEqual(messages.slice(0, again));
      expect(sent.slice(0, 3).map((r) => r.status)).toStrictEqual([200, 200, 503]);
      expect(ids.slice(again)).toStrictEqual(messages.slice(2));
      expect(sent.slice(again).map((r) => r.status)).toStrictEqual([200, 200, 200]);
      expect(new Set(sent.map((r) => r.connection)).size).toBe(1);
      const feed = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1000`);
      // Each message's first arrival, in order: the feed's events.
      const firstArrivals = messages.flatMap((m) => sent.find((r) => r.messageId === m)?.body.events);
      expect(firstArrivals).toStrictEqual(feed.body.events.slice(-10));
      const deliveredOnce = (l: any[], m: string | undefined) =>
        l.some((d) => d.messageId === m && d.outcome === 'delivered');
      const log = await deliveries(id, (l) => deliveredOnce(l, messages[2]) && deliveredOnce(l, messages[4]));
      const third = log.filter((d: any) => d.messageId === messages[2]).reverse();
      expect(third.map((d: any) => [d.attempt, d.outcome])).toStrictEqual([
        [1, 'retrying'],
        [2, 'delivered'],
      ]);
      expect(receiver.unverified).toStrictEqual([]);
    });

    it('keeps several messages of an endpoint in flight on one connection, in feed order', async () => {
      const { name } = await endpoint();
      receiver.behave(name, { status: 200, delayMs: 30 });
      await write(orgId, 12);
      await receiver.waitFor(() => receiver.delivered(name).length >= 12, 'twelve events');
      const sent = receiver.received.filter((r) => r.endpoint === name);
      expect(Math.max(...sent.map((r) => r.inFlight))).toBe(4);
      expect(new Set(sent.map((r) => r.connection)).size).toBe(1);
      const feed = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1000`);
      expect(receiver.delivered(name).map((d) => d.event)).toStrictEqual(feed.body.events.slice(-12));
      expect(receiver.unverified).toStrictEqual([]);
    });

    it('sends one message at a time to a receiver that closes the connection after each answer', async () => {
      const { id, name } = await endpoint();
      receiver.behave(name, { status: 200, delayMs: 5, close: true });
      await write(orgId, 8);
      await receiver.waitFor(
        () => new Set(receiver.delivered(name).map((d) => d.event.id)).size >= 8,
        'eight',
      );
      const feed = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1000`);
      const got = receiver.delivered(name);
      // Whatever reached the receiver twice came again under its own webhook-id, and in feed order.
      for (const { messageId, event } of got) expect(messageId).toBe(event.id);
      const firstTimes = new Map(got.map((d) => [d.event.id, d.event]));
      expect([...firstTimes.values()]).toStrictEqual(feed.body.events.slice(-8));
      // A message the connection dropped was not an attempt that failed: nothing waits for a retry.
      const log = await deliveries(id, (l) => l.filter((d) => d.outcome === 'delivered').length >= 8);
      expect(
        log.every((d: any) => d.outcome === 'delivered'),
        JSON.stringify(log),
      ).toBe(true);
      expect(receiver.unverified).toStrictEqual([]);
    });

    it('retries a receiver that is down until it is up, and it gets everything once', async () => {
      const { id, name } = await endpoint({ maxBatchSize: 2 });
      receiver.behave(name, { status: 503 });
      await write(orgId, 3);
      const mine = () => receiver.received.filter((r) => r.endpoint === name);
      // Its first message: every try carries the same webhook-id.
      const triesOfFirst = () => mine().filter((r) => r.messageId === mine()[0]?.messageId);
      await receiver.waitFor(() => triesOfFirst().length >= 2, 'a retry');
      receiver.behave(name, { status: 429 });
      await receiver.waitFor(() => triesOfFirst().some((r) => r.status === 429), 'a 429');
      receiver.behave(name, { status: 204 });
      await receiver.waitFor(() => receiver.delivered(name).length >= 3, 'three events');
      const got = receiver.delivered(name);
      expect(new Set(got.map((g) => g.event.id)).size).toBe(3);
      expect(triesOfFirst().length).toBeGreaterThanOrEqual(4);
      const log = await deliveries(id, (l) => l.filter((d) => d.outcome === 'delivered').length >= 2);
      expect(log.some((d: any) => d.outcome === 'retrying' && d.statusCode === 503 && d.nextRetryAt)).toBe(
        true,
      );
      expect(log.some((d: any) => d.outcome === 'retrying' && d.statusCode === 429)).toBe(true);
      // Two messages, each delivered under one webhook-id. The second, sent behind the first, may have
      // been answered 2xx while the first was refused, and then went again after it, the same message.
      const delivered = log.filter((d: any) => d.outcome === 'delivered');
      const byMessage = new Map(delivered.map((d: any) => [d.messageId, d.eventIds]));
      expect(byMessage.size, JSON.stringify(log)).toBe(2);
      for (const d of delivered) expect(d.eventIds).toStrictEqual(byMessage.get(d.messageId));
      expect([...byMessage.values()].flat().sort()).toStrictEqual(
        [...new Set(got.map((g) => g.event.id))].sort(),
      );
      expect(receiver.unverified).toStrictEqual([]);
    });

    it('does not retry a 400, shows the event failed, and replay sends it again', async () => {
      const { id, name } = await endpoint();
      receiver.behave(name, { status: 400 });
      await write(orgId, 1);
      await receiver.waitFor(() => receiver.received.some((r) => r.endpoint === name), 'an attempt');
      await write(orgId, 1);
      receiver.behave(name, { status: 200 });
      await receiver.waitFor(() => receiver.delivered(name).length >= 1, 'the second event');
      const log = await deliveries(id, (l) => l.some((d) => d.outcome === 'failed'));
      const failed = log.find((d: any) => d.outcome === 'failed');
      expect(failed).toMatchObject({ statusCode: 400, attempt: 1, nextRetryAt: null });
      expect(
        receiver.received.filter((r) => r.endpoint === name && r.messageId === failed.messageId),
      ).toHaveLength(1);

      const replay = await t.admin('POST', `/admin/v1/orgs/${orgId}/webhooks/${id}/replay`, {});
      expect(replay.status).toBe(200);
      await receiver.waitFor(
        () => receiver.delivered(name).some((d) => d.event.id === failed.messageId),
        'the failed event again',
      );
    });

    it('turns an endpoint off on 410, and on again when asked', async () => {
      const { id, name } = await endpoint();
      receiver.behave(name, { status: 410 });
      await write(orgId, 1);
      await receiver.waitFor(() => receiver.received.some((r) => r.endpoint === name), 'an attempt');
      let shown = await t.admin('GET', `/admin/v1/orgs/${orgId}/webhooks/${id}`);
      for (let i = 0; i < 50 && shown.body.enabled; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        shown = await t.admin('GET', `/admin/v1/orgs/${orgId}/webhooks/${id}`);
      }
      expect(shown.body).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
      receiver.behave(name, { status: 200 });
      await t.admin('PATCH', `/admin/v1/orgs/${orgId}/webhooks/${id}`, { enabled: true });
      await receiver.waitFor(() => receiver.delivered(name).length === 1, 'the event after re-enabling');
    });

    it('a receiver that never answers slows neither the API nor another endpoint', async () => {
      const slow = await endpoint();
      const fast = await endpoint();
      receiver.behave(slow.name, { status: 200, hang: true });
      await write(orgId, 3);
      await receiver.waitFor(() => receiver.delivered(fast.name).length >= 3, 'the fast endpoint');
      // Sent to at the same time as the fast one, the slow endpoint's request may arrive after it is done.
      await receiver.waitFor(
        () => receiver.received.some((r) => r.endpoint === slow.name),
        'the hanging attempt',
      );
      expect(receiver.delivered(slow.name)).toHaveLength(0);
      expect((await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1`)).status).toBe(200);
      // The hanging attempt timed out and is retried, not given up.
      receiver.behave(slow.name, { status: 200 });
      await receiver.waitFor(() => receiver.delivered(slow.name).length >= 3, 'the slow endpoint after all');
      const log = await deliveries(slow.id, (l) => l.some((d) => d.outcome === 'delivered'));
      expect(log.some((d: any) => d.outcome === 'retrying' && /no answer within/.test(d.error))).toBe(true);
    });

    it('never sends one org its events to another org', async () => {
      const other = await newOrg(t);
      const mine = await endpoint();
      await write(other, 2);
      await write(orgId, 1);
      await receiver.waitFor(() => receiver.delivered(mine.name).length >= 1, 'my event');
      expect(receiver.delivered(mine.name).every((d) => d.event.orgId === orgId)).toBe(true);
    });
  });
}
