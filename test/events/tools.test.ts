import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoyaltyEventsClient } from '../../src/client/events.client.js';
import { LoyaltyApiError } from '../../src/client/loyalty-api.error.js';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { cleanEnv, ROOT } from '../helpers/cli.js';
import { STORES } from '../helpers/stores.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/test-app.js';
import { feedShows, newOrg, someEvent, writeEvents } from './helpers.js';
import { type Receiver, startReceiver } from './receiver.js';

const run = promisify(execFile);

for (const kind of STORES) {
  describe(`events client, command and metrics on ${kind}`, { timeout: 60_000 }, () => {
    let t: TestApp;
    let base: string;
    let client: LoyaltyEventsClient;
    let receiver: Receiver;
    let orgId: number;

    beforeAll(async () => {
      t = await startTestApp(kind, {
        config: { events: { ...DEFAULT_EVENTS_CONFIG, allowPrivate: true, pollMs: 50, retryBaseMs: 100 } },
      });
      base = await t.app.listen({ host: '127.0.0.1', port: 0 });
      client = new LoyaltyEventsClient({ baseUrl: base, adminToken: ADMIN_TOKEN });
      receiver = await startReceiver();
      orgId = await newOrg(t);
      await writeEvents(t.testStore.store, orgId, [
        someEvent('promotion.enrolled', 1),
        someEvent('promotion.earned', 2),
        someEvent('promotion.earn_revoked', 3),
      ]);
      await feedShows(t, orgId, 3);
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
    });

    it('the client reads the feed page by page and tails it', async () => {
      const first = await client.events(orgId, { limit: 2 });
      expect(first.events.map((e) => e.type)).toStrictEqual(['promotion.enrolled', 'promotion.earned']);
      const rest = await client.events(orgId, { after: first.nextCursor });
      expect(rest.events.map((e) => e.type)).toStrictEqual(['promotion.earn_revoked']);
      const earned = await client.events(orgId, { type: 'promotion.earned' });
      expect(earned.events).toHaveLength(1);

      const stop = new AbortController();
      const seen: string[] = [];
      const tail = (async () => {
        for await (const page of client.tail(orgId, { limit: 2, intervalMs: 20, signal: stop.signal })) {
          seen.push(...page.events.map((e) => e.id));
          if (seen.length >= 4) stop.abort();
        }
      })();
      await writeEvents(t.testStore.store, orgId, [someEvent('promotion.enrolled', 4)]);
      await tail;
      const all = await client.events(orgId);
      expect(seen).toStrictEqual(all.events.map((e) => e.id));
      await expect(client.events(orgId, { after: 'bad cursor' })).rejects.toBeInstanceOf(LoyaltyApiError);
    });

    it('the client manages webhooks', async () => {
      const made = await client.createWebhook(orgId, { url: receiver.url('client'), maxBatchSize: 10 });
      expect(made.secret).toMatch(/^whsec_/);
      expect((await client.getWebhook(orgId, made.id)).maxBatchSize).toBe(10);
      expect((await client.listWebhooks(orgId)).webhooks.map((w) => w.id)).toContain(made.id);
      expect((await client.updateWebhook(orgId, made.id, { enabled: false })).enabled).toBe(false);
      const rotated = await client.rotateWebhookSecret(orgId, made.id);
      expect(rotated.secret).not.toBe(made.secret);
      receiver.secret('client', rotated.secret);
      await client.updateWebhook(orgId, made.id, { enabled: true });
      await client.replayWebhook(orgId, made.id);
      await receiver.waitFor(() => receiver.delivered('client').length >= 4, 'the replayed events');
      expect(receiver.unverified).toStrictEqual([]);
      let log = await client.webhookDeliveries(orgId, made.id);
      for (let i = 0; i < 100 && log.deliveries.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        log = await client.webhookDeliveries(orgId, made.id);
      }
      expect(log.deliveries[0]?.outcome).toBe('delivered');
      await client.deleteWebhook(orgId, made.id);
      await expect(client.getWebhook(orgId, made.id)).rejects.toMatchObject({ status: 404 });
    });

    it('loyalty events tail --once prints the feed as JSON lines and the cursor to go on from', async () => {
      const { stdout, stderr } = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(ROOT, 'src', 'cli.ts'),
          'events',
          'tail',
          '--org',
          String(orgId),
          '--once',
          '--url',
          base,
        ],
        { env: cleanEnv({ LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN }), cwd: ROOT },
      );
      const printed = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const feed = await client.events(orgId);
      expect(printed).toStrictEqual(feed.events);
      expect(stderr).toContain(`cursor: ${feed.nextCursor}`);
      // Starting a TypeScript process on a busy machine takes a while.
    }, 180_000);

    /** The metrics text, once it matches `pattern` (an attempt is counted after its answer). */
    async function metricsMatching(pattern: RegExp): Promise<string> {
      let text = '';
      for (let i = 0; i < 200; i++) {
        text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        if (pattern.test(text)) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return text;
    }

    it("metrics show each endpoint its waiting events, the oldest one's age, and deliveries by outcome", async () => {
      const hook = await client.createWebhook(orgId, { url: receiver.url('metrics') });
      receiver.secret('metrics', hook.secret);
      receiver.behave('metrics', { status: 503 });
      await writeEvents(t.testStore.store, orgId, [
        someEvent('promotion.enrolled', 5),
        someEvent('promotion.enrolled', 6),
      ]);
      await receiver.waitFor(
        () => receiver.received.filter((r) => r.endpoint === 'metrics').length >= 2,
        'retries',
      );
      const text = await metricsMatching(
        new RegExp(`loyalty_webhook_deliveries_total\\{webhook="${hook.id}",outcome="retrying"\\} \\d`),
      );
      expect(text).toMatch(new RegExp(`loyalty_webhook_pending_events\\{webhook="${hook.id}"\\} 2`));
      expect(text).toMatch(
        new RegExp(`loyalty_webhook_oldest_pending_age_seconds\\{webhook="${hook.id}"\\} \\d`),
      );
      expect(text).toMatch(
        new RegExp(`loyalty_webhook_deliveries_total\\{webhook="${hook.id}",outcome="retrying"\\} \\d`),
      );
      receiver.behave('metrics', { status: 200 });
      await receiver.waitFor(() => receiver.delivered('metrics').length >= 2, 'the two events');
      const after = await metricsMatching(
        new RegExp(`loyalty_webhook_deliveries_total\\{webhook="${hook.id}",outcome="delivered"\\} 2`),
      );
      expect(after).toContain(`loyalty_webhook_pending_events{webhook="${hook.id}"} 0`);
      expect(after).toContain(`loyalty_webhook_oldest_pending_age_seconds{webhook="${hook.id}"} 0`);
      expect(after).toMatch(
        new RegExp(`loyalty_webhook_deliveries_total\\{webhook="${hook.id}",outcome="delivered"\\} 2`),
      );
    });
  });
}
