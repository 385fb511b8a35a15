import type { InjectOptions } from 'fastify';
import { expect } from 'vitest';
import { BULK_URL, type StandardOrg } from './fixtures.js';
import { basicAuth, type JsonResponse, type TestApp } from './test-app.js';

/**
 * The messages of contract sections 2-4 and the source page, written out here (not imported from
 * src/) so that the tests check the contract rather than mirror the implementation.
 */
export const MSG = {
  8899: 'Cannot enrol/issue to the user group.',
  8901: 'invalid entity type passed',
  8902: 'bulk action passed not supported',
  '8902type': 'bulk action passed not supported for loyalty/generic promotion type',
  8881: 'Insufficient parameters passed; program ID and one of the promotion ID/identifiers are required',
  11013: 'identifierName, identifierValue, source can not be empty',
  8013: 'identifierName is invalid',
  1060: 'Batch limit size exceeded',
  1101: 'invalid programId passed',
  8874: 'promotion id passed is invalid',
  8892: 'promotion is inactive',
  8003: 'Invalid source',
  8015: 'Customer not found for the given identifiers',
  8890: 'Customer is already enrolled',
  8896: 'Error occurred while issuing promotion to the customer',
  // The family's own pages (issue 13), where they word a code otherwise than the seed page.
  '8902revoke': 'revoke bulk action passed not supported for loyalty/generic promotion type',
  '8899direct': 'Cannot enrol/issue to the user group',
  '8881direct': 'insufficient parameters passed, program id and one of promotion id/identifier are required',
  '8890direct': 'promotion not issued due to config issues or customer exhausted limits',
  8903: 'Earn IDs passed are either invalid or already revoked',
  2305: 'Active issued promotion is not available for the customer',
  400: 'Invalid JSON body',
  401: 'Authentication failed. Please check username and password.',
  4000: 'Not authorized. Access is denied!',
} as const;

export const AUTH_FAILED = {
  warnings: [],
  errors: [{ status: false, code: 401, message: MSG[401] }],
};
export const ACCESS_DENIED = {
  warnings: [],
  errors: [{ status: false, code: 4000, message: MSG[4000] }],
};

/** The one-item envelope of a whole-request rejection (contract section 4). */
export function rejection(code: number, message: unknown = expect.any(String)) {
  return {
    response: [{ errors: [{ status: false, code, message }], warnings: [] }],
    totalCount: 1,
    failureCount: 1,
  };
}

/** Asserts the exact whole-request rejection envelope, its HTTP status, and a JSON content type. */
export function expectRejected(res: JsonResponse, status: number, code: number, message?: string): void {
  expect({ status: res.status, body: res.body }).toStrictEqual({
    status,
    body: rejection(code, message ?? expect.any(String)),
  });
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
}

/** A per-customer error item: errors only, no result. */
export function errorItem(code: number, message: string) {
  return { errors: [{ status: false, code, message }], warnings: [] };
}

export function warning(code: number, message: unknown = expect.any(String)) {
  return { status: false, code, message };
}

/**
 * Checks the structure every bulk answer must have (contract sections 2 and 4) and that its counts
 * agree with its items.
 */
export function expectBulkEnvelope(body: any): void {
  expect(body).toBeTypeOf('object');
  expect(body).not.toBeNull();
  expect(Object.keys(body).sort()).toStrictEqual(['failureCount', 'response', 'totalCount']);
  expect(Array.isArray(body.response)).toBe(true);
  expect(body.totalCount).toBe(body.response.length);
  let failures = 0;
  for (const item of body.response) {
    expect(Array.isArray(item.errors)).toBe(true);
    expect(Array.isArray(item.warnings)).toBe(true);
    for (const m of [...item.errors, ...item.warnings]) {
      expect(m).toStrictEqual({ status: false, code: expect.any(Number), message: expect.any(String) });
    }
    if (item.errors.length > 0) {
      failures += 1;
      expect(item).not.toHaveProperty('result');
    } else {
      expect(item.result).toMatchObject({ entityType: 'CUSTOMER', entityId: expect.any(Number) });
    }
  }
  expect(body.failureCount).toBe(failures);
}

export interface PostOptions {
  /** The Authorization header; omitted when undefined. */
  auth?: string | undefined;
  /** The Content-Type header; `null` sends none. Defaults to application/json. */
  contentType?: string | null;
  requestId?: string;
  headers?: Record<string, string>;
  method?: InjectOptions['method'];
  url?: string;
}

function toJson(res: { statusCode: number; body: string; headers: any; json(): unknown }): JsonResponse {
  let body: unknown = res.body;
  try {
    body = res.json();
  } catch {
    // not JSON: the test will say so
  }
  return { status: res.statusCode, body, headers: res.headers };
}

/** A raw call to the bulk endpoint: a string body is sent as it is, anything else as JSON. */
export async function postBulk(t: TestApp, body: unknown, opts: PostOptions = {}): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== undefined) headers.authorization = opts.auth;
  const contentType = opts.contentType === undefined ? 'application/json' : opts.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  if (opts.requestId !== undefined) headers['x-request-id'] = opts.requestId;
  const res = await t.app.inject({
    method: opts.method ?? 'POST',
    url: opts.url ?? BULK_URL,
    headers,
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return toJson(res);
}

/** A bulk request body with free-form customers (so tests can send anything in them). */
export function bulkRequest(
  action: unknown,
  promotionDetails: Record<string, unknown>,
  identifierName: unknown,
  customers: unknown,
): Record<string, unknown> {
  return { type: 'CUSTOMER', bulkAction: action, promotionDetails, identifierName, customers };
}

/** `[{identifierValue, source}]` for the given values, all with one source. */
export function items(values: readonly (string | number)[], source = 'INSTORE') {
  return values.map((v) => ({ identifierValue: String(v), source }));
}

async function adminCreated(t: TestApp, method: 'POST' | 'PATCH', url: string, body: unknown) {
  const res = await t.admin(method, url, body);
  const ok = method === 'POST' ? 201 : 200;
  if (res.status !== ok)
    throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

let promoSeq = 0;

/** A new promotion in the org's main program (or `programId`), through the management API. */
export async function createPromotion(
  t: TestApp,
  org: StandardOrg,
  body: Record<string, unknown> = {},
): Promise<{ id: number; promoIdentifier: string | null; [k: string]: unknown }> {
  return adminCreated(t, 'POST', `/admin/v1/orgs/${org.orgId}/promotions`, {
    programId: org.programId,
    name: `Promotion ${++promoSeq}`,
    type: 'ENROL_AND_ISSUE',
    ...body,
  });
}

export async function patchPromotion(
  t: TestApp,
  org: StandardOrg,
  promotionId: number,
  body: Record<string, unknown>,
): Promise<any> {
  return adminCreated(t, 'PATCH', `/admin/v1/orgs/${org.orgId}/promotions/${promotionId}`, body);
}

let mobileSeq = 0;

/** A mobile number (digits only) not used by any other call in this process. */
export function uniqueMobile(): string {
  mobileSeq += 1;
  return `7${String(process.pid % 10000).padStart(4, '0')}${String(mobileSeq).padStart(7, '0')}`;
}

export interface NewCustomer {
  id: number;
  mobile: string | null;
  email: string | null;
  sources: string[];
  programIds: number[];
}

/**
 * Customers of the org. By default each gets a fresh mobile and email, is registered INSTORE and is a
 * member of the org's main program; fields of `overrides` replace those defaults.
 */
export async function createCustomers(
  t: TestApp,
  org: StandardOrg,
  count: number,
  overrides: (i: number) => Record<string, unknown> = () => ({}),
): Promise<NewCustomer[]> {
  const customers = Array.from({ length: count }, (_, i) => {
    const mobile = uniqueMobile();
    return {
      mobile,
      email: `c${mobile}@example.org`,
      sources: ['INSTORE'],
      programIds: [org.programId],
      ...overrides(i),
    };
  });
  const body = await adminCreated(t, 'POST', `/admin/v1/orgs/${org.orgId}/customers`, { customers });
  return body.customers;
}

/** The till username inside a `Basic` header made by `basicAuth`. */
export function usernameOf(authorization: string): string {
  const decoded = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8');
  return decoded.slice(0, decoded.indexOf(':'));
}

export function issualsOf(t: TestApp, promotionId: number) {
  return t.testStore.store.db
    .selectFrom('issuals')
    .selectAll()
    .where('promotion_id', '=', promotionId)
    .orderBy('id')
    .execute();
}

export function earnsOf(t: TestApp, promotionId: number) {
  return t.testStore.store.db
    .selectFrom('earns')
    .selectAll()
    .where('promotion_id', '=', promotionId)
    .orderBy('id')
    .execute();
}

/** Rows of issuals and earns in the whole database (to show that a rejected request wrote nothing). */
export async function recordCounts(t: TestApp): Promise<{ issuals: number; earns: number }> {
  const db = t.testStore.store.db;
  const [i, e] = await Promise.all([
    db
      .selectFrom('issuals')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('earns')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { issuals: Number(i.n), earns: Number(e.n) };
}

/** Marks an issual revoked, as a revoke would (there is no revoke endpoint yet). */
export async function revokeIssual(t: TestApp, issualId: number | string): Promise<void> {
  await t.testStore.store.db
    .updateTable('issuals')
    .set({ revoked_at: Date.now(), revoked_by: 'test' })
    .where('id', '=', Number(issualId))
    .execute();
}

export async function revokeEarn(t: TestApp, earnedId: number | string): Promise<void> {
  await t.testStore.store.db
    .updateTable('earns')
    .set({ revoked_at: Date.now(), revoked_by: 'test' })
    .where('id', '=', Number(earnedId))
    .execute();
}

let credentialSeq = 0;

/** A till of the org through the management API; answers its `Basic` header and username. */
export async function createTill(
  t: TestApp,
  org: StandardOrg,
  body: { customerAccess: 'NONE' | 'READ' | 'WRITE'; rateLimitPerMinute?: number },
): Promise<{ username: string; auth: string }> {
  const username = `till-extra-${process.pid}-${++credentialSeq}`;
  const password = `pw-${username}`;
  await adminCreated(t, 'POST', `/admin/v1/orgs/${org.orgId}/tills`, { username, password, ...body });
  return { username, auth: basicAuth(username, password) };
}

/** An API client of the org and a token for it from `POST /v3/oauth/token/generate`. */
export async function createApiClient(
  t: TestApp,
  org: StandardOrg,
  body: { customerAccess: 'NONE' | 'READ' | 'WRITE'; tokenTtlSeconds?: number },
): Promise<{ key: string; secret: string; token: string; ttlSeconds: number }> {
  const key = `client-${process.pid}-${++credentialSeq}`;
  const secret = `secret-${key}-0123456789`;
  await adminCreated(t, 'POST', `/admin/v1/orgs/${org.orgId}/api-clients`, { key, secret, ...body });
  const res = await requestToken(t, { key, secret });
  if (res.status !== 200) throw new Error(`token for ${key}: ${res.status} ${JSON.stringify(res.body)}`);
  return { key, secret, token: res.body.data.accessToken, ttlSeconds: res.body.data.ttlSeconds };
}

export async function requestToken(t: TestApp, body: unknown): Promise<JsonResponse> {
  return toJson(
    await t.app.inject({
      method: 'POST',
      url: '/v3/oauth/token/generate',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    }),
  );
}
