import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, expect, it } from 'vitest';
import { lookupUrl, newClient, newTill, TOKEN_URL } from '../helpers/auth-cases.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN, basicAuth } from '../helpers/test-app.js';

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

// Loopback addresses other than 127.0.0.1 stand for distinct clients (Linux routes all of 127/8).
const ATTACKER = '127.0.0.2';
const HONEST = '127.0.0.3';

describeEachStore('failed sign-ins throttled per address and name', (t) => {
  let org: StandardOrg;
  let port: number;

  beforeAll(async () => {
    org = await seedStandardOrg(t, 1);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });

  /** One request over a fresh socket from `from`. */
  function send(
    from: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path,
          localAddress: from,
          agent: false,
          method: payload === undefined ? 'GET' : 'POST',
          headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: res.headers['retry-after'] as string | undefined,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Floods `attack` from the attacker in rounds, and after each round checks `honest` from elsewhere. */
  async function flood(attack: () => Promise<Answer>, honest: () => Promise<Answer>, failed: number) {
    const answers: Answer[] = [];
    for (let round = 0; round < 5; round++) {
      answers.push(...(await Promise.all(Array.from({ length: 8 }, attack))));
      expect((await honest()).status).toBe(200);
    }
    const statuses = new Set(answers.map((a) => a.status));
    expect([...statuses].sort()).toEqual([failed, 429].sort());
    for (const a of answers.filter((x) => x.status === 429)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
  }

  it('answers a flood of wrong Basic passwords 429, while the real till from another address is answered', async () => {
    const till = await newTill(t, org.orgId, 'READ');
    const url = lookupUrl('id', org.customers[0]?.id as number);
    await flood(
      () => send(ATTACKER, url, { authorization: basicAuth(till.username, 'wrong-password') }),
      () => send(HONEST, url, { authorization: till.auth }),
      401,
    );
    // A till never verified before (so not cached) still signs in from elsewhere.
    const other = await newTill(t, org.orgId, 'READ');
    expect((await send(HONEST, url, { authorization: other.auth })).status).toBe(200);
  });

  it('answers a flood of wrong secrets at the token endpoint 429, while the real client elsewhere gets tokens', async () => {
    const client = await newClient(t, org.orgId, 'READ');
    await flood(
      () => send(ATTACKER, TOKEN_URL, {}, { key: client.key, secret: 'wrong-secret' }),
      () => send(HONEST, TOKEN_URL, {}, { key: client.key, secret: client.secret }),
      401,
    );
  });

  it('answers a flood of wrong admin tokens 429, while the operator elsewhere is answered', async () => {
    await flood(
      () =>
        send(ATTACKER, `/admin/v1/orgs/${org.orgId}/tills`, {
          authorization: 'Bearer not-the-admin-token-0123456789abcdef',
        }),
      () => send(HONEST, `/admin/v1/orgs/${org.orgId}/tills`, { authorization: `Bearer ${ADMIN_TOKEN}` }),
      401,
    );
  });
});
