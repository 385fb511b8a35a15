import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox, generateSecretKey } from '../../src/auth/secret-box.js';
import { systemClock } from '../../src/clock.js';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/events/delivery.worker.js';
import { createFeedRepository } from '../../src/events/feed.repository.js';
import { createWebhookRepository } from '../../src/events/webhook.repository.js';
import { createWebhookService } from '../../src/events/webhook.service.js';
import { openTestStore, STORES, type TestStore } from '../helpers/stores.js';
import { someEvent, writeEvents } from './helpers.js';
import { type Receiver, startReceiver } from './receiver.js';

// Every request's commit nudges delivery. With no endpoint enabled anywhere, a nudge must not look
// for work (each look is a statement, and in the server a wake-up of the delivery thread); an
// endpoint made by another process is found by the next poll, and one made here at once.
for (const kind of STORES) {
  describe(`delivery nudges with no endpoint on ${kind}`, { timeout: 30_000 }, () => {
    let t: TestStore;
    let receiver: Receiver;
    let worker: DeliveryWorker;
    const sent: string[] = [];
    const told: boolean[] = [];
    // A look for work (the claim's first statement), and a poll's look for endpoints.
    const isClaim = (text: string) => /from webhooks w\s+where w\.enabled = 1 and w\.lease_until/.test(text);
    const isLook = (text: string) => /select 1 as one from webhooks/.test(text);
    const claims = () => sent.filter(isClaim).length;
    const looks = () => sent.filter(isLook).length;
    const box = createSecretBox(generateSecretKey());

    beforeAll(async () => {
      t = await openTestStore(kind, (text) => sent.push(text));
      await t.store.db.insertInto('orgs').values({ org_id: 1, name: 'o', created_at: 0 }).execute();
      receiver = await startReceiver();
      worker = createDeliveryWorker({
        repository: createWebhookRepository(t.store),
        config: { ...DEFAULT_EVENTS_CONFIG, allowPrivate: true, pollMs: 500 },
        clock: systemClock,
        log: { warn: () => undefined },
        box,
        onEndpoints: (any) => told.push(any),
      });
      worker.start();
    });
    afterAll(async () => {
      await worker?.stop();
      await receiver?.close();
      await t?.dispose();
    });

    /** An endpoint made through a service of its own, as another process would: this worker is not told. */
    async function endpointElsewhere(name: string): Promise<string> {
      const webhooks = createWebhookService({
        repository: createWebhookRepository(t.store),
        feed: createFeedRepository(t.store.db, t.store.dialect),
        orgExists: async () => true,
        clock: systemClock,
        allowPrivate: true,
        box,
      });
      const made = await webhooks.create(1, { url: receiver.url(name) });
      receiver.secret(name, made.secret as string);
      return made.id;
    }

    it('looks for work on no nudge while no endpoint is enabled, polls included', async () => {
      await receiver.waitFor(() => told.includes(false), 'a poll that finds no endpoint');
      const before = { claims: claims(), looks: looks() };
      for (let i = 0; i < 50; i++) {
        worker.nudge();
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Two more polls: each looks for endpoints, and claims nothing.
      await receiver.waitFor(() => looks() >= before.looks + 2, 'two more polls');
      expect(claims()).toBe(before.claims);
    });

    it('finds an endpoint made by another process at its next poll, and delivers to it', async () => {
      await endpointElsewhere('elsewhere');
      await writeEvents(t.store, 1, [someEvent('promotion.enrolled', 1)]);
      await receiver.waitFor(() => receiver.delivered('elsewhere').length === 1, 'the event delivered');
      expect(told.at(-1)).toBe(true);
      expect(receiver.delivered('elsewhere')[0]?.event.data.customerId).toBe(1001);
    });

    it('looks for work at once when told of an endpoint made here, whatever the last poll found', async () => {
      // The endpoint above is off: the next poll finds none again.
      await t.store.db.updateTable('webhooks').set({ enabled: 0 }).execute();
      const offs = told.filter((any) => !any).length;
      await receiver.waitFor(() => told.filter((any) => !any).length > offs, 'a poll that finds none');
      await t.store.db.updateTable('webhooks').set({ enabled: 1 }).execute();
      // Right after a poll's look (the poll ends in the same turn), so that the next is 500 ms away.
      const polls = looks();
      await receiver.waitFor(() => looks() > polls, 'a poll');
      await new Promise((resolve) => setImmediate(resolve));
      const mark = sent.length;
      worker.endpointsChanged();
      expect(told.at(-1)).toBe(true);
      await receiver.waitFor(() => sent.slice(mark).some(isClaim), 'a claim');
      // The nudge's own claim: no poll looked for endpoints before it.
      const after = sent.slice(mark);
      expect(after.slice(0, after.findIndex(isClaim)).filter(isLook)).toStrictEqual([]);
    });
  });
}
