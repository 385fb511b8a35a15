import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseSize } from '../../src/auth/rate-limiter.js';
import { within1s } from '../helpers/admin-helpers.js';
import { lookupUrl } from '../helpers/auth-cases.js';
import {
  type Answer,
  call,
  type LoadOrg,
  type PrivateBuild,
  privateBuild,
  type ServerProcess,
  seedLoadOrg,
  startServerProcess,
  tillHeader,
} from '../helpers/server-process.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

/**
 * Issue 19's "Done when", with real processes: three `loyalty serve` on one PostgreSQL database
 * (shared-state.test.ts shows the same with three applications in one process, on a fixed clock).
 * The credential cache lives ten minutes here, so only the NOTIFY each process hears can explain a
 * refusal within the second. PostgreSQL only (SQLite is written by one process), never skipped; in
 * .ci/pgbouncer-run, through PgBouncer in transaction pooling mode with LISTEN on the server itself.
 */

const ADMIN_TOKEN = 'shared-processes-admin-token-0123456789';

describe('three loyalty serve processes on one PostgreSQL database', { timeout: 240_000 }, () => {
  let build: PrivateBuild | undefined;
  let testStore: TestStore | undefined;
  const servers: ServerProcess[] = [];
  let org: LoadOrg;

  const lookup = (server: ServerProcess, authorization: string) =>
    call(`${server.url}${lookupUrl('id', org.customerIds[0] as number)}`, 'GET', undefined, {
      authorization,
    });
  const admin = (method: string, path: string, body: unknown) =>
    call(`${servers[0]?.url}/admin/v1/orgs/${org.orgId}${path}`, method, body, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });

  async function newTill(name: string, rateLimitPerMinute?: number): Promise<string> {
    const username = `${name}-${org.orgId}`;
    const made = await admin('POST', '/tills', {
      username,
      password: `${name}-password`,
      customerAccess: 'WRITE',
      ...(rateLimitPerMinute ? { rateLimitPerMinute } : {}),
    });
    expect(made.status, made.text).toBe(201);
    return tillHeader(username, `${name}-password`);
  }

  /** The rate limit windows are the clock's minutes: start a burst with most of one ahead. */
  async function earlyInAMinute(): Promise<void> {
    const second = (Date.now() % 60_000) / 1000;
    if (second > 40) await new Promise((resolve) => setTimeout(resolve, (61 - second) * 1000));
  }

  beforeAll(async () => {
    const buildDone = privateBuild('lp-shared-');
    testStore = await openTestStore('postgres');
    const store = testStore.config;
    if (store.kind !== 'postgres') throw new Error('a PostgreSQL store was asked for');
    build = await buildDone;
    const env = {
      DATABASE_URL: store.connectionString,
      ...(store.listenConnectionString ? { LOYALTY_PG_LISTEN_URL: store.listenConnectionString } : {}),
      LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOYALTY_CREDENTIAL_CACHE_MS: '600000',
    };
    for (let i = 0; i < 3; i++) servers.push(await startServerProcess(build.cli, env));
    org = await seedLoadOrg(servers[0]?.url as string, ADMIN_TOKEN, 1);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await testStore?.dispose();
    build?.remove();
  }, 60_000);

  it('a till disabled through one process is refused by the other two within a second', async () => {
    const till = await newTill('disabled');
    // Each process verifies it once, and would trust it for ten minutes.
    for (const server of servers) expect((await lookup(server, till)).status).toBe(200);

    expect((await admin('PATCH', `/tills/disabled-${org.orgId}`, { disabled: true })).status).toBe(200);
    for (const server of servers.slice(1)) {
      expect((await within1s(() => lookup(server, till), 401)).status, server.output()).toBe(401);
    }
  });

  for (const limit of [30, 600]) {
    it(`a limit of ${limit} a minute lets at most ${limit} requests through the three processes`, async () => {
      const till = await newTill(`limited-${limit}`, limit);
      await earlyInAMinute();
      const answers: Answer[] = [];
      // Twice the limit, spread over the three, eight at a time on each.
      const per = Math.ceil((limit * 2) / 3);
      await Promise.all(
        servers.flatMap((server) =>
          Array.from({ length: 8 }, async (_, lane) => {
            for (let i = lane; i < per; i += 8) answers.push(await lookup(server, till));
          }),
        ),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toStrictEqual([]);
      const passed = statuses.filter((s) => s === 200).length;
      expect(passed).toBeLessThanOrEqual(limit);
      // What a process took from the count and had not used when the others used up the rest is lost:
      // at most a lease less one, in each process.
      expect(passed).toBeGreaterThanOrEqual(limit - 3 * (leaseSize(limit) - 1));
      for (const a of answers) {
        expect(a.headers['ratelimit-policy']).toBe(`"credential";q=${limit};w=60`);
        expect(a.headers.ratelimit).toMatch(/^"credential";r=\d+;t=\d+$/);
        if (a.status === 429) expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
      }
    });
  }
});
