import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { defineConfig } from '../../src/config.js';
import { createStore, type Store } from '../../src/db/database.js';
import { MESSAGES } from '../../src/errors.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Between PostgreSQL and the server: passes everything through, except that once armed it lets the
 * next COMMIT reach PostgreSQL and then cuts the connection before the answer comes back, which is
 * what a network failure or a fast shutdown does at the worst moment.
 */
async function commitCutter(target: URL): Promise<{ port: number; arm(): void; close(): Promise<void> }> {
  let armed = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    let cut = false;
    upstream.connect(Number(target.port || 5432), target.hostname);
    client.on('data', (chunk) => {
      upstream.write(chunk);
      // A simple-protocol query ('Q') whose text is COMMIT: let PostgreSQL have it, then cut.
      if (armed && chunk[0] === 0x51 && chunk.subarray(5).toString('utf8').toLowerCase() === 'commit\u0000') {
        armed = false;
        cut = true;
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 200);
      }
    });
    upstream.on('data', (chunk) => {
      if (!cut) client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    arm: () => {
      armed = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// PostgreSQL only: an SQLite COMMIT runs inside the server process, so its outcome is always known.
describe('a COMMIT whose answer is lost on PostgreSQL', () => {
  let t: TestApp;
  let org: StandardOrg;
  let cutter: Awaited<ReturnType<typeof commitCutter>>;
  let proxied: Store;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    t = await startTestApp('postgres');
    org = await seedStandardOrg(t, 3);
    if (t.testStore.config.kind !== 'postgres') throw new Error('needs PostgreSQL');
    const direct = new URL(t.testStore.config.connectionString);
    cutter = await commitCutter(direct);
    const viaCutter = new URL(direct);
    viaCutter.host = `127.0.0.1:${cutter.port}`;
    const config = { kind: 'postgres' as const, connectionString: viaCutter.toString(), poolSize: 2 };
    proxied = createStore(config);
    // The idle job runner polls once an hour: its COMMIT must not be the one the cutter takes.
    app = await buildApp(defineConfig({ adminToken: ADMIN_TOKEN, store: config, jobPollMs: 3_600_000 }), {
      store: proxied,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await proxied?.destroy();
    await cutter?.close();
    await t?.close();
  });

  const enrol = (key: string) =>
    app.inject({
      method: 'POST',
      url: BULK_URL,
      headers: { authorization: org.auth.write, 'content-type': 'application/json', 'idempotency-key': key },
      payload: JSON.stringify(
        bulkBody(
          'ENROL',
          org.programId,
          { promotionId: org.promotions.enrolAndIssue },
          'id',
          org.customers.map((c) => [String(c.id), 'INSTORE']),
        ),
      ),
    });
  const issuals = () =>
    t.testStore.store.db
      .selectFrom('issuals')
      .select(['id', 'customer_id'])
      .where('org_id', '=', org.orgId)
      .where('promotion_id', '=', org.promotions.enrolAndIssue)
      .orderBy('customer_id')
      .execute();

  it('answers 503 saying the request may have been written, and the same Idempotency-Key then gives its answer', async () => {
    cutter.arm();
    const lost = await enrol('lost-commit-1');
    expect(lost.statusCode).toBe(503);
    expect(lost.json()).toStrictEqual({
      response: [
        { errors: [{ status: false, code: 503, message: MESSAGES.commitOutcomeUnknown }], warnings: [] },
      ],
      totalCount: 1,
      failureCount: 1,
    });
    // It was written: PostgreSQL had the COMMIT, only its answer was lost.
    const written = await issuals();
    expect(written).toHaveLength(3);

    // Sent again with its key, it is not enrolled twice: the answer stored with the writes comes back.
    const again = await enrol('lost-commit-1');
    expect(again.statusCode).toBe(200);
    const items = again.json().response as { result: { entityId: number; issualId: string } }[];
    expect(items.map((i) => [Number(i.result.entityId), Number(i.result.issualId)])).toStrictEqual(
      written.map((r) => [Number(r.customer_id), Number(r.id)]),
    );
    expect(await issuals()).toStrictEqual(written);
  });
});
