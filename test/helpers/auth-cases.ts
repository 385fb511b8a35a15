import { createHash, randomBytes } from 'node:crypto';
import { type JWTPayload, SignJWT } from 'jose';
import { expect } from 'vitest';
import { type Call, call } from './auth-apps.js';
import { BULK_URL, type StandardOrg } from './fixtures.js';
import { basicAuth, type JsonResponse, type TestApp } from './test-app.js';

/** The shared cases, credentials and checks of the authentication suites in test/auth/. */
// The bodies of contract sections 3 and 4, written out here so that the tests check the contract.
export const AUTH_FAILED = {
  warnings: [],
  errors: [
    {
      status: false,
      code: 401,
      message: 'Authentication failed. Please check username and password.',
    },
  ],
};
export const ACCESS_DENIED = {
  warnings: [],
  errors: [{ status: false, code: 4000, message: 'Not authorized. Access is denied!' }],
};
export const TOKEN_FAILED = {
  data: null,
  // The Authorization Flows page's body (issue 13): code 320001, and no status field.
  errors: [{ code: 320001, message: 'Invalid client key and secret' }],
};
export const TOKEN_URL = '/v3/oauth/token/generate';
export const LOOKUP_URL = '/v2/customers/lookup/promotionData';
export const DIRECT_EARN_URL = '/v2/promotion/bulk/directEarn';
export const REVOKE_ENROL_URL = '/v2/promotion/bulk/revokeEnrolAndEarn';
export const REVOKE_DIRECT_URL = '/v2/promotion/bulk/revokeDirectEarn';
export const ISSUE_URL = '/v2/promotion/issue';
export const MSG_8015 = 'Customer not found for the given identifiers';
export const MSG_1101 = 'invalid programId passed';

export const md5 = (text: string) => createHash('md5').update(text).digest('hex');
export const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
export const basicRaw = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

let uniqueCounter = 0;
/** A string no other call in this process returns. */
export function unique(prefix: string): string {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${uniqueCounter}-${randomBytes(4).toString('hex')}`;
}

export type Access = 'NONE' | 'READ' | 'WRITE';

export interface Till {
  username: string;
  password: string;
  auth: string;
}

export interface Client {
  key: string;
  secret: string;
}

export async function newTill(
  t: TestApp,
  orgId: number,
  access: Access,
  password = unique('till-password'),
): Promise<Till> {
  const username = unique(`till-${access.toLowerCase()}`);
  const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/tills`, {
    username,
    password,
    customerAccess: access,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { username, password, auth: basicAuth(username, password) };
}

export async function newClient(
  t: TestApp,
  orgId: number,
  access: Access,
  extra: { tokenTtlSeconds?: number } = {},
): Promise<Client> {
  const key = unique(`client-${access.toLowerCase()}`);
  const secret = unique('client-secret');
  const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/api-clients`, {
    key,
    secret,
    customerAccess: access,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { key, secret };
}

export function generate(t: TestApp, body: unknown, headers?: Record<string, string>): Promise<JsonResponse> {
  return call(t.app, { method: 'POST', url: TOKEN_URL, body, ...(headers ? { headers } : {}) });
}

/** A token for the client, insisting that it is issued. */
export async function tokenFor(t: TestApp, client: Client): Promise<string> {
  const res = await generate(t, { key: client.key, secret: client.secret });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.accessToken;
}

export const capToken = (token: string) => ({ 'x-cap-api-oauth-token': token });
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const basic = (auth: string) => ({ authorization: auth });

export function lookupUrl(
  identifierName: string,
  identifierValue: string | number,
  source = 'INSTORE',
): string {
  const q = new URLSearchParams({ identifierName, identifierValue: String(identifierValue), source });
  return `${LOOKUP_URL}?${q}`;
}

export interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
}

export function bulk(
  action: string,
  programId: unknown,
  promotion: Record<string, unknown>,
  customers: unknown[],
) {
  return {
    type: 'CUSTOMER',
    bulkAction: action,
    promotionDetails: { programId, ...promotion },
    identifierName: 'id',
    customers: customers.map((id) => ({ identifierValue: String(id), source: 'INSTORE' })),
  };
}

/** A well-formed request of the org to every /v2 endpoint, for its first customer. */
export function endpoints(org: StandardOrg): Endpoint[] {
  const id = org.customers[0]?.id as number;
  const { programId, promotions } = org;
  return [
    {
      name: 'enrolAndEarn',
      method: 'POST',
      url: BULK_URL,
      body: bulk('ENROL', programId, { promotionId: promotions.enrolAndIssue }, [id]),
    },
    {
      name: 'directEarn',
      method: 'POST',
      url: DIRECT_EARN_URL,
      body: bulk('EARN', programId, { promotionId: promotions.direct }, [id]),
    },
    {
      name: 'revokeEnrolAndEarn',
      method: 'POST',
      url: REVOKE_ENROL_URL,
      body: bulk('REVOKE_ENROL', programId, { promotionId: promotions.enrolAndIssue }, [id]),
    },
    {
      name: 'revokeDirectEarn',
      method: 'POST',
      url: REVOKE_DIRECT_URL,
      body: bulk('REVOKE_EARN', programId, { promotionId: promotions.direct }, [id]),
    },
    {
      name: 'issue',
      method: 'POST',
      url: `${ISSUE_URL}?identifierName=id&identifierValue=${id}&source=INSTORE`,
      body: { programId, promotionId: promotions.direct },
    },
    { name: 'lookup', method: 'GET', url: lookupUrl('id', id) },
  ];
}

export const postEndpoints = (org: StandardOrg) => endpoints(org).filter((e) => e.method === 'POST');

export function send(t: TestApp, endpoint: Endpoint, headers: Record<string, string>): Promise<JsonResponse> {
  const c: Call = { method: endpoint.method, url: endpoint.url, headers };
  if (endpoint.body !== undefined) c.body = endpoint.body;
  return call(t.app, c);
}

export function expectStatus(res: JsonResponse, status: number, body?: unknown): void {
  expect({ status: res.status, body: res.body }).toStrictEqual({
    status,
    body: body === undefined ? expect.anything() : body,
  });
}

/** An answer that got past authentication and access (whatever the request then made of it). */
export function expectAdmitted(res: JsonResponse, what: string): void {
  expect([200, 201], `${what}: ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
}

/** promotionData answered for this customer (its page's shape: customerId at the top). */
export function expectLookupOf(res: JsonResponse, customerId: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.customerId).toBe(customerId);
}

/** A forged token with the claims of `payload`, HS256-signed with `key`. */
export function signHs256(payload: JWTPayload, key: Uint8Array, kid?: string): Promise<string> {
  return new SignJWT({ ...payload })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) })
    .sign(key);
}
