import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../src/config.js';
import { createStore, type Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import {
  call,
  type PrivateBuild,
  privateBuild,
  type ServerProcess,
  startServerProcess,
} from '../helpers/server-process.js';
import { openTestStore, STORES, type TestStore } from '../helpers/stores.js';
import { someEvent, writeEvents } from './helpers.js';
import { type Receiver, startReceiver } from './receiver.js';

/**
 * Delivery by real `loyalty serve` processes: one killed with SIGKILL in the middle of a delivery and
 * started again, and (PostgreSQL) two delivering from one database at once.
 */

const ADMIN_TOKEN = 'events-admin-token-0123456789abcdef0123456789';

function env(database: string): Record<string, string> {
  return {
    DATABASE_URL: database,
    LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
    LOYALTY_WEBHOOK_ALLOW_PRIVATE: '1',
    LOYALTY_WEBHOOK_POLL_MS: '50',
    LOYALTY_WEBHOOK_RETRY_BASE_MS: '100',
    LOYALTY_WEBHOOK_TIMEOUT_MS: '2000',
    LOYALTY_WEBHOOK_LEASE_MS: '3000',
  };
}

async function admin(server: ServerProcess, urlPath: string, body: unknown): Promise<any> {
  const res = await call(`${server.url}${urlPath}`, 'POST', body, { authorization: `Bearer ${ADMIN_TOKEN}` });
  if (res.status !== 201) throw new Error(`POST ${urlPath} answered ${res.status}: ${res.text}`);
  return res.body;
}

/** Writes `count` events in transactions of up to four. */
async function writeMany(store: Store, orgId: number, count: number, tag: number): Promise<void> {
  for (let i = 0; i < count; i += 4) {
    const size = Math.min(4, count - i);
    await writeEvents(
      store,
      orgId,
      Array.from({ length: size }, (_, k) => someEvent('promotion.enrolled', tag + i + k)),
    );
  }
}

/** Every event an endpoint got went out under one webhook-id only, however often it was sent. */
function idsPerEvent(receiver: Receiver, endpoint: string): Map<string, Set<string>> {
  const ids = new Map<string, Set<string>>();
  for (const r of receiver.received.filter((x) => x.endpoint === endpoint)) {
    const events = r.body.type === 'batch' ? r.body.events : [r.body];
    for (const e of events) ids.set(e.id, new Set([...(ids.get(e.id) ?? []), r.messageId]));
  }
  return ids;
}

describe('webhook delivery by server processes', { timeout: 240_000 }, () => {
  let build: PrivateBuild;
  let receiver: Receiver;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    build = await privateBuild('lp-events-');
    receiver = await startReceiver();
  }, 240_000);
  afterAll(async () => {
    for (const s of servers) await s.kill9();
    await receiver?.close();
    build?.remove();
  });

  for (const kind of STORES) {
    describe(`on ${kind}`, () => {
      let testStore: TestStore | undefined;
      let dir: string | undefined;
      let store: Store;
      let url: string;

      beforeAll(async () => {
        if (kind === 'postgres') {
          testStore = await openTestStore('postgres');
          store = testStore.store;
          url = (testStore.config as Extract<StoreConfig, { kind: 'postgres' }>).connectionString;
        } else {
          dir = mkdtempSync(path.join(tmpdir(), 'lp-events-db-'));
          const file = path.join(dir, 'events.db');
          url = `sqlite:${file}`;
          store = createStore({ kind: 'sqlite', filename: file });
          await migrateToLatest(store.db);
        }
      });
      afterAll(async () => {
        if (testStore) await testStore.dispose();
        else await store?.destroy();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      /** A server process with an org and an endpoint of batches of five on the receiver. */
      async function serverWithEndpoint(org: string, name: string) {
        const server = await startServerProcess(build.cli, env(url));
        servers.push(server);
        const orgId = (await admin(server, '/admin/v1/orgs', { name: org })).id as number;
        const hook = await admin(server, `/admin/v1/orgs/${orgId}/webhooks`, {
          url: receiver.url(name),
          maxBatchSize: 5,
        });
        receiver.secret(name, hook.secret);
        return { server, orgId };
      }

      /** kill -9 of `server`, the receiver healthy again, and a new process in its place. */
      async function restart(server: ServerProcess, name: string): Promise<ServerProcess> {
        await server.kill9();
        receiver.behave(name, { status: 200 });
        const next = await startServerProcess(build.cli, env(url));
        servers.push(next);
        return next;
      }

      it('delivers everything after kill -9 mid-delivery and a restart, repeating only under the same id', async () => {
        const name = `crash-${kind}`;
        const { server: first, orgId } = await serverWithEndpoint('Crash', name);
        await writeMany(store, orgId, 12, 0);
        await receiver.waitFor(() => receiver.delivered(name).length >= 12, 'the first twelve events');
        // The next batch never gets an answer: the process is killed while it waits for one.
        receiver.behave(name, { status: 200, hang: true });
        await writeMany(store, orgId, 28, 100);
        const hanging = () => receiver.received.find((r) => r.endpoint === name && r.status === 0);
        await receiver.waitFor(() => hanging() !== undefined, 'a delivery under way');
        const cut = hanging()?.messageId;
        const second = await restart(first, name);
        await receiver.waitFor(() => idsPerEvent(receiver, name).size >= 40, 'all forty events', 60_000);

        const ids = idsPerEvent(receiver, name);
        expect(ids.size).toBe(40);
        // The batch cut off was sent again after the restart, under its first webhook-id.
        expect(receiver.received.filter((r) => r.messageId === cut).length).toBeGreaterThanOrEqual(2);
        for (const [event, messages] of ids) expect(messages.size, event).toBe(1);
        const delivered = new Set(receiver.delivered(name).map((d) => d.event.id));
        expect(delivered.size).toBe(40);
        expect(receiver.unverified).toStrictEqual([]);
        await second.stop();
      });

      it('after kill -9 in the middle of a round, sends the round again under the same webhook-ids', async () => {
        const name = `round-${kind}`;
        const { server: first, orgId } = await serverWithEndpoint('Round', name);
        // One transaction of 28 events: one round of six messages. The first is answered, the second
        // never is, and the process is killed while it waits.
        receiver.behave(name, { status: 200, times: 1, next: { status: 200, hang: true } });
        await writeEvents(
          store,
          orgId,
          Array.from({ length: 28 }, (_, k) => someEvent('promotion.enrolled', 500 + k)),
        );
        const mine = () => receiver.received.filter((r) => r.endpoint === name);
        await receiver.waitFor(() => mine().some((r) => r.status === 0), 'the second message under way');
        const [answered, cut] = mine();
        const second = await restart(first, name);
        await receiver.waitFor(() => idsPerEvent(receiver, name).size >= 28, 'all 28 events', 60_000);

        // Nothing the killed process did was recorded: the round went out again from its first
        // message, each message under the id it had before.
        const ids = idsPerEvent(receiver, name);
        expect(ids.size).toBe(28);
        for (const [event, messages] of ids) expect(messages.size, event).toBe(1);
        // What the new process sent came on its own connection (the killed one had sent up to four
        // messages on its connection before it was killed, the first answered, the rest unanswered).
        const again = mine().filter((r) => r.connection !== answered?.connection);
        expect(again[0]?.messageId).toBe(answered?.messageId);
        expect(again[1]?.messageId).toBe(cut?.messageId);
        expect(new Set(again.map((r) => r.messageId)).size).toBe(6);
        expect(receiver.unverified).toStrictEqual([]);
        await second.stop();
      });

      if (kind === 'postgres') {
        it('two processes deliver from one database, never the same endpoint at once', async () => {
          const a = await startServerProcess(build.cli, env(url));
          const b = await startServerProcess(build.cli, env(url));
          servers.push(a, b);
          const orgId = (await admin(a, '/admin/v1/orgs', { name: 'Two' })).id as number;
          const names: string[] = [];
          for (let i = 0; i < 4; i++) {
            const name = `two-${i}`;
            const hook = await admin(i % 2 ? a : b, `/admin/v1/orgs/${orgId}/webhooks`, {
              url: receiver.url(name),
              maxBatchSize: 3,
            });
            receiver.secret(name, hook.secret);
            receiver.behave(name, { status: 200, delayMs: 20 });
            names.push(name);
          }
          await writeMany(store, orgId, 60, 1000);
          for (const name of names)
            await receiver.waitFor(
              () => idsPerEvent(receiver, name).size >= 60,
              `sixty events to ${name}`,
              60_000,
            );

          const feed = await call(`${a.url}/admin/v1/orgs/${orgId}/events?limit=1000`, 'GET', undefined, {
            authorization: `Bearer ${ADMIN_TOKEN}`,
          });
          for (const name of names) {
            const mine = receiver.received.filter((r) => r.endpoint === name);
            // Never two senders to one endpoint at once (each process has its own connection; one
            // process's messages to it share one), and never one batch twice.
            expect(Math.max(...mine.map((r) => r.otherConnections))).toBe(0);
            expect(new Set(mine.map((r) => r.messageId)).size).toBe(mine.length);
            expect(receiver.delivered(name).map((d) => d.event)).toStrictEqual(feed.body.events);
          }
          expect(receiver.unverified).toStrictEqual([]);
          await Promise.all([a.stop(), b.stop()]);
        });
      }
    });
  }
});
