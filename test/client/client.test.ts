import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import {
  type BulkRequest,
  type Credentials,
  LoyaltyApiError,
  LoyaltyClient,
  LoyaltyNetworkError,
} from '../../src/index.js';
import { create, unique } from '../helpers/admin-helpers.js';
import { freePort } from '../helpers/cli.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import type { TestApp } from '../helpers/test-app.js';

/** The app of `t`, listening on a free port of 127.0.0.1; answers its base URL. */
async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('not listening');
  return `http://127.0.0.1:${address.port}`;
}

async function newTill(t: TestApp, orgId: number, access = 'WRITE', extra: Record<string, unknown> = {}) {
  const username = unique('client-till');
  const password = unique('pw');
  await create(t, `/admin/v1/orgs/${orgId}/tills`, { username, password, customerAccess: access, ...extra });
  return { kind: 'basic', username, password } as const;
}

async function newApiClient(t: TestApp, orgId: number, tokenTtlSeconds = 300) {
  const key = unique('client-key');
  const secret = unique('client-secret');
  await create(t, `/admin/v1/orgs/${orgId}/api-clients`, {
    key,
    secret,
    customerAccess: 'WRITE',
    tokenTtlSeconds,
  });
  return { kind: 'oauth', key, secret } as const;
}

/** The global fetch, counting the token requests that pass through it. */
function countingFetch(): { fetch: typeof fetch; tokens: () => number } {
  let tokens = 0;
  return {
    fetch: (input, init) => {
      if (String(input).includes('/v3/oauth/token/generate')) tokens += 1;
      return fetch(input, init);
    },
    tokens: () => tokens,
  };
}

/** Runs `fn`, insisting that it throws a LoyaltyApiError; answers it. */
async function apiError(fn: () => Promise<unknown>): Promise<LoyaltyApiError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof LoyaltyApiError) return err;
    throw err;
  }
  throw new Error('expected a LoyaltyApiError, but the call succeeded');
}

function body<A extends BulkRequest['bulkAction']>(
  org: StandardOrg,
  bulkAction: A,
  promotionId: number,
  ids: number[],
): BulkRequest<A> {
  return {
    bulkAction,
    promotionDetails: { programId: org.programId, promotionId },
    identifierName: 'id',
    customers: ids.map((id) => ({ identifierValue: String(id), source: 'INSTORE' })),
  };
}

describeEachStore('typed client', (t) => {
  let url: string;
  let org: StandardOrg;
  let basic: Credentials;
  let oauth: Credentials;

  beforeAll(async () => {
    url = await listen(t);
    org = await seedStandardOrg(t, 8);
    basic = await newTill(t, org.orgId);
    oauth = await newApiClient(t, org.orgId);
  });

  const id = (i: number) => org.customers[i]?.id as number;

  for (const auth of ['basic', 'oauth'] as const) {
    it(`every endpoint answers its typed shape (${auth})`, async () => {
      const client = new LoyaltyClient({ baseUrl: url, credentials: auth === 'basic' ? basic : oauth });
      const c = auth === 'basic' ? [id(0), id(1)] : [id(2), id(3)];
      const p = org.promotions;

      const enrol = await client.enrolAndEarn(body(org, 'ENROL', p.enrolAndIssue, c));
      expect(enrol).toEqual({
        response: c.map((entityId) => ({
          result: {
            entityType: 'CUSTOMER',
            entityId,
            promotionId: p.enrolAndIssue,
            programId: org.programId,
            issualId: expect.stringMatching(/^\d+$/),
          },
          errors: [],
          warnings: [],
        })),
        totalCount: 2,
        failureCount: 0,
      });
      const earn = await client.enrolAndEarn(body(org, 'EARN', p.enrolAndIssue, c));
      expect(earn.response.map((i) => i.result?.issualId)).toEqual(
        enrol.response.map((i) => i.result?.issualId),
      );
      const earnedIds = earn.response.map((i) => i.result?.earnedId);
      expect(earnedIds).toEqual([expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/)]);

      const revokedEarn = await client.revokeEnrolAndEarn(body(org, 'REVOKE_EARN', p.enrolAndIssue, c));
      // Revokes answer ids as numbers (the revoke pages' examples); grants as strings (the seed page's).
      expect(revokedEarn.response.map((i) => i.result?.revokedEarnIds)).toEqual(
        earnedIds.map((e) => [Number(e)]),
      );
      const revokedEnrol = await client.revokeEnrolAndEarn(body(org, 'REVOKE_ENROL', p.enrolAndIssue, c));
      expect(revokedEnrol.response.map((i) => i.result?.revokedIssualId)).toEqual(
        enrol.response.map((i) => Number(i.result?.issualId)),
      );

      const direct = await client.directEarn(body(org, 'EARN', p.direct, c));
      expect(direct.failureCount).toBe(0);
      const directEarned = direct.response.map((i) => i.result?.earnedId);
      const revokedDirect = await client.revokeDirectEarn(body(org, 'REVOKE_EARN', p.direct, c));
      expect(revokedDirect.response.map((i) => i.result?.revokedEarnIds)).toEqual(
        directEarned.map((e) => [Number(e)]),
      );

      const issued = await client.issue(
        { identifierName: 'id', identifierValue: c[0] as number, source: 'INSTORE' },
        { programId: org.programId, promotionId: p.direct },
      );
      expect(issued).toEqual({
        warnings: [],
        errors: [],
        sideEffects: [
          {
            programId: org.programId,
            promotionId: p.direct,
            issualId: expect.any(Number),
            earnedId: expect.any(Number),
            type: 'Points promotion',
          },
        ],
      });

      const data = await client.promotionData({
        identifierName: 'id',
        identifierValue: c[0] as number,
        source: 'INSTORE',
        promotionType: 'DIRECT',
      });
      expect(data.customerId).toBe(c[0]);
      expect(data.promotions).toHaveLength(1);
      expect(data.promotions[0]).toMatchObject({
        promotionId: p.direct,
        pointsOfferType: 'LOYALTY',
        customerPromotionTimelines: [{ issuedDetails: [{ issualId: issued.sideEffects[0]?.earnedId }] }],
      });
      expect(data.warnings).toEqual([]);
    });
  }

  it('answers a bulk call where some customers failed (HTTP 201) without throwing', async () => {
    const client = new LoyaltyClient({ baseUrl: url, credentials: basic });
    const answer = await client.enrolAndEarn({
      bulkAction: 'ENROL',
      promotionDetails: { programId: org.programId, promotionId: org.promotions.enrolAndIssue },
      identifierName: 'id',
      customers: [
        { identifierValue: String(id(4)), source: 'INSTORE' },
        { identifierValue: '999999999999', source: 'INSTORE' },
      ],
    });
    expect(answer.failureCount).toBe(1);
    expect(answer.response[1]?.errors).toEqual([
      { status: false, code: 8015, message: 'Customer not found for the given identifiers' },
    ]);
  });

  it('generates a token for its own credentials or for others', async () => {
    const client = new LoyaltyClient({ baseUrl: url, credentials: oauth });
    const own = await client.generateToken();
    expect(own).toEqual({ accessToken: expect.any(String), ttlSeconds: 300 });
    const other = await newApiClient(t, org.orgId, 120);
    const basicClient = new LoyaltyClient({ baseUrl: url, credentials: basic });
    expect(await basicClient.generateToken({ key: other.key, secret: other.secret })).toMatchObject({
      ttlSeconds: 120,
    });
    await expect(basicClient.generateToken()).rejects.toThrow(TypeError);
  });

  it('sends the Idempotency-Key: the same key gets the first answer, another key a new earn', async () => {
    const client = new LoyaltyClient({ baseUrl: url, credentials: oauth });
    const request = body(org, 'EARN', org.promotions.direct, [id(5)]);
    const key = unique('key');
    const first = await client.directEarn(request, { idempotencyKey: key });
    const again = await client.directEarn(request, { idempotencyKey: key });
    expect(again).toEqual(first);
    const other = await client.directEarn(request, { idempotencyKey: unique('key') });
    expect(other.response[0]?.result?.earnedId).not.toBe(first.response[0]?.result?.earnedId);
    const reused = await apiError(() =>
      client.directEarn(body(org, 'EARN', org.promotions.direct, [id(6)]), { idempotencyKey: key }),
    );
    expect(reused.status).toBe(422);
    expect(reused.codes).toEqual([422]);
  });

  describe('errors carry the HTTP status and the API codes', () => {
    it('401 for a wrong password, and for a wrong API secret', async () => {
      const wrong = new LoyaltyClient({
        baseUrl: url,
        credentials: { ...(basic as { username: string }), kind: 'basic', password: 'not-it' },
      });
      const err = await apiError(() =>
        wrong.enrolAndEarn(body(org, 'ENROL', org.promotions.enrolAndIssue, [id(0)])),
      );
      expect(err).toBeInstanceOf(LoyaltyApiError);
      expect(err.status).toBe(401);
      expect(err.codes).toEqual([401]);
      expect(err.messages).toEqual(['Authentication failed. Please check username and password.']);
      expect(err.retryable).toBe(false);

      const badSecret = new LoyaltyClient({
        baseUrl: url,
        credentials: { kind: 'oauth', key: (oauth as { key: string }).key, secret: 'not-it' },
      });
      const tokenErr = await apiError(() =>
        badSecret.promotionData({ identifierName: 'id', identifierValue: id(0), source: 'INSTORE' }),
      );
      expect(tokenErr.status).toBe(401);
      expect(tokenErr.errors).toEqual([{ code: 320001, message: 'Invalid client key and secret' }]);
    });

    it('403 for a till without WRITE access', async () => {
      const reader = new LoyaltyClient({ baseUrl: url, credentials: await newTill(t, org.orgId, 'READ') });
      const err = await apiError(() => reader.directEarn(body(org, 'EARN', org.promotions.direct, [id(0)])));
      expect(err.status).toBe(403);
      expect(err.codes).toEqual([4000]);
      // READ is enough for the lookup.
      const data = await reader.promotionData({
        identifierName: 'id',
        identifierValue: id(0),
        source: 'ALL',
      });
      expect(data.customerId).toBe(id(0));
    });

    it('400 with the code of a whole-request rejection, a refused issue, and a failed lookup', async () => {
      const client = new LoyaltyClient({ baseUrl: url, credentials: basic });
      const bad = await apiError(() => client.enrolAndEarn(body(org, 'ENROL', 987654321, [id(0)])));
      expect(bad.status).toBe(400);
      expect(bad.codes).toEqual([8874]);
      expect(bad.message).toContain('8874 promotion id passed is invalid');
      expect(bad.body).toEqual({
        response: [
          {
            errors: [{ status: false, code: 8874, message: 'promotion id passed is invalid' }],
            warnings: [],
          },
        ],
        totalCount: 1,
        failureCount: 1,
      });
      const refused = await apiError(() =>
        client.issue(
          { identifierName: 'id', identifierValue: '999999999999', source: 'INSTORE' },
          { programId: org.programId, promotionId: org.promotions.direct },
        ),
      );
      expect(refused.status).toBe(400);
      expect(refused.codes).toEqual([8015]);
      const lookup = await apiError(() =>
        client.promotionData({ identifierName: 'id', identifierValue: '999999999999', source: 'INSTORE' }),
      );
      expect(lookup.status).toBe(400);
      expect(lookup.codes).toEqual([8015]);
    });

    it('429 with Retry-After, marked retryable', async () => {
      const limited = new LoyaltyClient({
        baseUrl: url,
        credentials: await newTill(t, org.orgId, 'WRITE', { rateLimitPerMinute: 1 }),
      });
      const query = { identifierName: 'id', identifierValue: id(0), source: 'INSTORE' } as const;
      await limited.promotionData(query);
      const err = await apiError(() => limited.promotionData(query));
      expect(err.status).toBe(429);
      expect(err.codes).toEqual([429]);
      expect(err.retryAfterSeconds).toBeGreaterThan(0);
      expect(err.retryable).toBe(true);
    });

    it('a network error when nothing listens', async () => {
      const port = await freePort();
      const client = new LoyaltyClient({ baseUrl: `http://127.0.0.1:${port}`, credentials: basic });
      const call = client.enrolAndEarn(body(org, 'ENROL', org.promotions.enrolAndIssue, [id(0)]));
      await expect(call).rejects.toBeInstanceOf(LoyaltyNetworkError);
      await expect(call).rejects.toMatchObject({ retryable: true });
    });
  });

  describe('OAuth tokens', () => {
    it('reuses one token, and renews it before it expires', async () => {
      let now = Date.now();
      const counter = countingFetch();
      const client = new LoyaltyClient({
        baseUrl: url,
        credentials: await newApiClient(t, org.orgId, 60),
        fetch: counter.fetch,
        now: () => now,
      });
      const query = { identifierName: 'id', identifierValue: id(0), source: 'INSTORE' } as const;
      await Promise.all([
        client.promotionData(query),
        client.promotionData(query),
        client.promotionData(query),
      ]);
      expect(counter.tokens()).toBe(1);
      now += 30_000;
      await client.promotionData(query);
      expect(counter.tokens()).toBe(1);
      // 60 s tokens are renewed once less than a fifth of their life is left.
      now += 20_000;
      await client.promotionData(query);
      expect(counter.tokens()).toBe(2);
    });
  });
});

describeEachStore(
  'typed client with a server whose clock runs ahead',
  () => ({ clock: fixedClock(Date.now()) }),
  (t, _kind, { clock }) => {
    let url: string;
    beforeAll(async () => {
      url = await listen(t);
    });

    it('fetches a new token once when the server refuses the current one, and no more than once', async () => {
      const org = await seedStandardOrg(t, 1);
      const credentials = await newApiClient(t, org.orgId, 60);
      const counter = countingFetch();
      const client = new LoyaltyClient({ baseUrl: url, credentials, fetch: counter.fetch });
      const query = {
        identifierName: 'id',
        identifierValue: org.customers[0]?.id as number,
        source: 'INSTORE',
      } as const;
      await client.promotionData(query);
      expect(counter.tokens()).toBe(1);
      // The client still trusts its token; the server, 2 minutes on, finds it expired.
      clock.set(clock.now() + 120_000);
      const data = await client.promotionData(query);
      expect(data.customerId).toBe(query.identifierValue);
      expect(counter.tokens()).toBe(2);

      // A client that is refused its new token too gives up with the token endpoint's 401.
      const patched = await t.admin('PATCH', `/admin/v1/orgs/${org.orgId}/api-clients/${credentials.key}`, {
        disabled: true,
      });
      expect(patched.status).toBe(200);
      clock.set(clock.now() + 120_000);
      const err = await apiError(() => client.promotionData(query));
      expect(err.status).toBe(401);
      expect(err.messages).toEqual(['Invalid client key and secret']);
      expect(counter.tokens()).toBe(3);
    });
  },
);
