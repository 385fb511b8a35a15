import { expect } from 'vitest';
import type { StandardOrg } from './fixtures.js';
import { basicAuth, type JsonResponse, type TestApp } from './test-app.js';

/**
 * Helpers of the tests of the v2 family beyond enrolAndEarn (revokes, directEarn, issue, the
 * promotion lookup, Idempotency-Key, the report). Messages are written out here, not imported from
 * src/, so that the tests check the contract rather than mirror the implementation.
 */

export const URLS = {
  enrolAndEarn: '/v2/promotion/bulk/enrolAndEarn',
  directEarn: '/v2/promotion/bulk/directEarn',
  revokeEnrolAndEarn: '/v2/promotion/bulk/revokeEnrolAndEarn',
  revokeDirectEarn: '/v2/promotion/bulk/revokeDirectEarn',
  issue: '/v2/promotion/issue',
  lookup: '/v2/customers/lookup/promotionData',
} as const;

// The contract's messages, written out once in the bulk suite's helpers.
export { MSG as MESSAGE } from './bulk.js';

export const ID = /^[1-9][0-9]*$/;

/** promotionData's limits of a promotion without points (the get-promotion-data page's shape). */
export const NO_POINTS = {
  limits: {
    maxPointsPerEvent: '0',
    pointsPerCustomer: '0',
    numberOFTimesPerCustomer: 0,
    totalPointsInPromotion: '0',
  },
};

/** promotionData's usage of a customer who earned `earns` times, without points. */
export const usage = (earns: number) => ({
  customerUsage: {
    currentPointsPerCustomer: '0',
    currentNumberOfTimesPerCustomer: earns,
    currentTotalPointsInPromotion: '0',
  },
});
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface CallOptions {
  auth?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  requestId?: string;
}

export interface RawResponse extends JsonResponse {
  /** The body exactly as sent on the wire. */
  text: string;
}

function parse(res: { statusCode: number; body: string; headers: any }): RawResponse {
  let body: unknown = res.body;
  try {
    body = JSON.parse(res.body);
  } catch {
    // not JSON: keep the text, the test will say so
  }
  return { status: res.statusCode, body, headers: res.headers, text: res.body };
}

/** A JSON POST to a /v2 URL (a string body is sent as it is). */
export async function post(
  t: TestApp,
  url: string,
  body: unknown,
  opts: CallOptions = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.auth !== undefined) headers.authorization = opts.auth;
  if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
  if (opts.requestId !== undefined) headers['x-request-id'] = opts.requestId;
  const res = await t.app.inject({
    method: 'POST',
    url,
    headers,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return parse(res);
}

/** A GET of a /v2 URL with a query string built from `query` (undefined values are left out). */
export async function get(
  t: TestApp,
  url: string,
  query: Record<string, string | number | undefined>,
  auth: string | undefined,
): Promise<RawResponse> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  const res = await t.app.inject({
    method: 'GET',
    url: qs ? `${url}?${qs}` : url,
    headers: auth === undefined ? {} : { authorization: auth },
  });
  return parse(res);
}

export interface CustomerItem {
  identifierValue: unknown;
  source: unknown;
  earnIds?: unknown;
}

/** A bulk body; `customers` are sent as they are. */
export function bulk(
  action: unknown,
  promotionDetails: Record<string, unknown>,
  identifierName: unknown,
  customers: unknown,
): Record<string, unknown> {
  return { type: 'CUSTOMER', bulkAction: action, promotionDetails, identifierName, customers };
}

/** `[{identifierValue, source: INSTORE}]` for customer ids. */
export function byIds(ids: readonly (number | string)[], source = 'INSTORE'): CustomerItem[] {
  return ids.map((id) => ({ identifierValue: String(id), source }));
}

/** The one-item envelope of a whole-request rejection of a bulk endpoint. */
export function expectRejected(res: JsonResponse, status: number, code: number, message?: string): void {
  expect({ status: res.status, body: res.body }).toStrictEqual({
    status,
    body: {
      response: [{ errors: [{ status: false, code, message: message ?? expect.any(String) }], warnings: [] }],
      totalCount: 1,
      failureCount: 1,
    },
  });
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
}

/** The plain v2 error body: `{warnings: [], errors: [one error]}`, with its HTTP status. */
export function expectV2Error(res: JsonResponse, status: number, code: number, message?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.warnings).toStrictEqual([]);
  expect(res.body.errors).toStrictEqual([{ status: false, code, message: message ?? expect.any(String) }]);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
}

export function errorItem(code: number, message: unknown = expect.any(String)) {
  return { errors: [{ status: false, code, message }], warnings: [] };
}

export function warning(code: number, message: unknown = expect.any(String)) {
  return { status: false, code, message };
}

async function adminOk(t: TestApp, method: 'POST' | 'PATCH', url: string, body: unknown): Promise<any> {
  const res = await t.admin(method, url, body);
  const ok = method === 'POST' ? 201 : 200;
  if (res.status !== ok)
    throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

let seq = 0;
const tag = () => `${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 7)}`;

/** A promotion of the org (in its main program unless `programId` is given), through the admin API. */
export function newPromotion(
  t: TestApp,
  org: StandardOrg,
  body: Record<string, unknown> = {},
): Promise<{ id: number; promoIdentifier: string | null; programId: number; [k: string]: unknown }> {
  return adminOk(t, 'POST', `/admin/v1/orgs/${org.orgId}/promotions`, {
    programId: org.programId,
    name: `Promotion ${tag()}`,
    type: 'ENROL_AND_ISSUE',
    ...body,
  });
}

export function patchPromotion(
  t: TestApp,
  org: StandardOrg,
  promotionId: number,
  body: Record<string, unknown>,
): Promise<any> {
  return adminOk(t, 'PATCH', `/admin/v1/orgs/${org.orgId}/promotions/${promotionId}`, body);
}

let mobileSeq = 0;

/**
 * Fresh customers of the org: each with a unique mobile and email, registered INSTORE and a member
 * of the org's main program, unless `overrides` says otherwise.
 */
export async function newCustomers(
  t: TestApp,
  org: StandardOrg,
  count: number,
  overrides: (i: number) => Record<string, unknown> = () => ({}),
): Promise<{ id: number; mobile: string; email: string }[]> {
  const customers = Array.from({ length: count }, (_, i) => {
    mobileSeq += 1;
    const mobile = `6${String(process.pid % 100000).padStart(5, '0')}${String(mobileSeq).padStart(6, '0')}`;
    return {
      mobile,
      email: `v2f${mobile}@example.net`,
      sources: ['INSTORE'],
      programIds: [org.programId],
      ...overrides(i),
    };
  });
  const body = await adminOk(t, 'POST', `/admin/v1/orgs/${org.orgId}/customers`, { customers });
  return body.customers;
}

/** Another WRITE (or other level) till of the org; answers its Basic header and username. */
export async function newTill(
  t: TestApp,
  org: StandardOrg,
  customerAccess: 'NONE' | 'READ' | 'WRITE' = 'WRITE',
): Promise<{ username: string; auth: string }> {
  const username = `till-v2f-${tag()}`;
  const password = `pw-${username}`;
  await adminOk(t, 'POST', `/admin/v1/orgs/${org.orgId}/tills`, { username, password, customerAccess });
  return { username, auth: basicAuth(username, password) };
}

/** An API client of the org and an OAuth token for it. */
export async function newApiClient(
  t: TestApp,
  org: StandardOrg,
  customerAccess: 'NONE' | 'READ' | 'WRITE' = 'WRITE',
): Promise<{ key: string; token: string }> {
  const key = `client-v2f-${tag()}`;
  const secret = `secret-${key}-0123456789abcdef`;
  await adminOk(t, 'POST', `/admin/v1/orgs/${org.orgId}/api-clients`, { key, secret, customerAccess });
  const res = await t.app.inject({
    method: 'POST',
    url: '/v3/oauth/token/generate',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ key, secret }),
  });
  if (res.statusCode !== 200) throw new Error(`token for ${key}: ${res.statusCode} ${res.body}`);
  return { key, token: res.json().data.accessToken };
}

// The same helpers as the bulk suite's, under the names this family's tests use.
export { earnsOf as earnRows, issualsOf as issualRows, usernameOf } from './bulk.js';

export interface WriteCounts {
  issuals: number;
  earns: number;
  revokedIssuals: number;
  revokedEarns: number;
  idempotencyKeys: number;
}

export async function writeCounts(t: TestApp): Promise<WriteCounts> {
  const db = t.testStore.store.db;
  const count = async (table: 'issuals' | 'earns' | 'idempotency_keys') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const revoked = async (table: 'issuals' | 'earns') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('revoked_at', 'is not', null)
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    issuals: await count('issuals'),
    earns: await count('earns'),
    revokedIssuals: await revoked('issuals'),
    revokedEarns: await revoked('earns'),
    idempotencyKeys: await count('idempotency_keys'),
  };
}
