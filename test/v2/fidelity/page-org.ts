import { expect } from 'vitest';
import { basicAuth, type TestApp } from '../../helpers/test-app.js';
import { post, type RawResponse } from '../../helpers/v2-family.js';

/**
 * An org holding the ids of Capillary's reference pages, so that the fidelity tests can send each
 * page's example request as it is written. Everything is made through the management API; ids are
 * unique in a deployment, so each test file seeds its own org once in its own database.
 */

export interface PageOrgSpec {
  programs: { id: number; name?: string }[];
  promotions: {
    id: number;
    programId: number;
    type: 'ENROL_AND_ISSUE' | 'DIRECT' | 'GENERIC';
    promoIdentifier?: string;
    name?: string;
    active?: boolean;
    startDate?: string;
    endDate?: string;
    maxIssualsPerCustomer?: number | null;
    maxEarnsPerCustomer?: number | null;
  }[];
  customers: {
    id?: number;
    mobile?: string;
    email?: string;
    externalId?: string;
    sources?: string[];
    programIds: number[];
  }[];
}

export interface PageOrg {
  orgId: number;
  /** `Basic …` of a WRITE till of the org. */
  auth: string;
  /** Customer ids in the order of the spec's customers. */
  customerIds: number[];
}

let seq = 0;

async function created(t: TestApp, url: string, body: unknown): Promise<any> {
  const res = await t.admin('POST', url, body);
  if (res.status !== 201) throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function seedPageOrg(t: TestApp, spec: PageOrgSpec): Promise<PageOrg> {
  const tag = `${process.pid}-${++seq}`;
  const org = await created(t, '/admin/v1/orgs', { name: `Pages org ${tag}` });
  const base = `/admin/v1/orgs/${org.id}`;
  for (const program of spec.programs) {
    await created(t, `${base}/programs`, { id: program.id, name: program.name ?? `Program ${program.id}` });
  }
  for (const promotion of spec.promotions) {
    await created(t, `${base}/promotions`, { name: `Promotion ${promotion.id}`, ...promotion });
  }
  const customers = spec.customers.map((c) => ({ sources: ['INSTORE'], ...c }));
  const made = (await created(t, `${base}/customers`, { customers })).customers as { id: number }[];
  const username = `pages.till.${tag}`;
  const password = `pages-till-password-${tag}`;
  await created(t, `${base}/tills`, { username, password, customerAccess: 'WRITE' });
  return { orgId: org.id, auth: basicAuth(username, password), customerIds: made.map((c) => c.id) };
}

/** The body every bulk page sends; `bulkAction` is left out when undefined, as some pages do. */
export function pageBody(
  bulkAction: string | undefined,
  promotionDetails: Record<string, unknown>,
  identifierName: string,
  customers: Record<string, unknown>[],
): Record<string, unknown> {
  return {
    type: 'CUSTOMER',
    ...(bulkAction === undefined ? {} : { bulkAction }),
    promotionDetails,
    identifierName,
    customers,
  };
}

/** Grants through enrolAndEarn (the seed endpoint, whose behaviour these tests take as given). */
export async function grant(
  t: TestApp,
  auth: string,
  action: 'ENROL' | 'EARN',
  programId: number,
  promotionId: number,
  ids: number[],
): Promise<RawResponse> {
  const res = await post(
    t,
    '/v2/promotion/bulk/enrolAndEarn',
    pageBody(
      action,
      { programId, promotionId },
      'id',
      ids.map((id) => ({ identifierValue: String(id), source: 'INSTORE' })),
    ),
    { auth },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

/** The earnedIds (as numbers) of an enrolAndEarn EARN answer, in item order. */
export function earnedIds(res: RawResponse): number[] {
  return (res.body.response as { result: { earnedId: string } }[]).map((item) =>
    Number(item.result.earnedId),
  );
}

/** The one-item bulk envelope of a whole-request rejection, with the page's exact message. */
export function pageRejection(code: number, message: string) {
  return {
    response: [{ errors: [{ status: false, code, message }], warnings: [] }],
    totalCount: 1,
    failureCount: 1,
  };
}

/** A failed item of a bulk answer, with the page's exact message. */
export function failedItem(code: number, message: string) {
  return { errors: [{ status: false, code, message }], warnings: [] };
}

/** The pages' messages, written out so that the tests check the pages rather than mirror src/. */
export const PAGE = {
  inactive: 'promotion is inactive',
  customerNotFound: 'Customer not found for the given identifiers',
  invalidProgram: 'invalid programId passed',
  invalidPromotion: 'promotion id passed is invalid',
  userGroupDirect: 'Cannot enrol/issue to the user group',
  insufficientDirect:
    'insufficient parameters passed, program id and one of promotion id/identifier are required',
  revokeUnsupported: 'revoke bulk action passed not supported for loyalty/generic promotion type',
  earnIdsInvalid: 'Earn IDs passed are either invalid or already revoked',
  noActiveIssued: 'Active issued promotion is not available for the customer',
  notIssuedLimits: 'promotion not issued due to config issues or customer exhausted limits',
  invalidEntityType: 'invalid entity type passed',
  invalidSource: 'Invalid source',
  emptyIdentifiers: 'identifierName, identifierValue, source can not be empty',
  entityTypeInvalid: 'Entity type invalid',
  alreadyEnrolled: 'Customer is already enrolled',
  /** Ours (issue 13): REVOKE_ENROL of a customer whose earns are still active. */
  earnsBeforeUnenrol: 'Issued promotions must be revoked before the customer can be unenrolled',
} as const;
