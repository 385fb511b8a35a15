import type { TestApp } from './test-app.js';
import { basicAuth } from './test-app.js';

async function created(t: TestApp, url: string, body: unknown): Promise<any> {
  const res = await t.admin('POST', url, body);
  if (res.status !== 201) throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface StandardOrg {
  orgId: number;
  programId: number;
  /** A second program of the same org, of which the customers are not members. */
  otherProgramId: number;
  promotions: {
    enrolAndIssue: number;
    direct: number;
    generic: number;
    withIdentifier: number;
    inactive: number;
  };
  promoIdentifier: string;
  /** Customers by id, each with mobile and email, registered INSTORE and members of `programId`. */
  customers: { id: number; mobile: string; email: string }[];
  auth: { write: string; read: string; none: string };
}

let counter = 0;

/**
 * One org with a program, a promotion of each kind, `customerCount` customers and a till of each
 * access level, all made through the management API. Names are unique per call, so several orgs
 * can live in one database.
 */
export async function seedStandardOrg(t: TestApp, customerCount = 5): Promise<StandardOrg> {
  const n = ++counter;
  const tag = `${process.pid}-${n}-${Math.random().toString(36).slice(2, 8)}`;
  const org = await created(t, '/admin/v1/orgs', { name: `Org ${tag}` });
  const base = `/admin/v1/orgs/${org.id}`;
  const program = await created(t, `${base}/programs`, { name: 'Main' });
  const other = await created(t, `${base}/programs`, { name: 'Other' });
  const promo = (body: Record<string, unknown>) =>
    created(t, `${base}/promotions`, { programId: program.id, ...body });
  const enrolAndIssue = await promo({
    name: 'Enrol and issue',
    type: 'ENROL_AND_ISSUE',
    maxEarnsPerCustomer: 3,
  });
  const direct = await promo({ name: 'Direct', type: 'DIRECT', maxEarnsPerCustomer: 3 });
  const generic = await promo({ name: 'Generic', type: 'GENERIC' });
  const promoIdentifier = `PROMO-${tag}`;
  const withIdentifier = await promo({ name: 'With identifier', type: 'LOYALTY_EARNING', promoIdentifier });
  const inactive = await promo({ name: 'Inactive', type: 'ENROL_AND_ISSUE', active: false });
  const customers = Array.from({ length: customerCount }, (_, i) => ({
    mobile: `91${String(n).padStart(4, '0')}${String(i).padStart(6, '0')}`,
    email: `customer${i}.${tag}@example.com`,
    sources: ['INSTORE'],
    programIds: [program.id],
  }));
  const made = customerCount > 0 ? (await created(t, `${base}/customers`, { customers })).customers : [];
  const auth = { write: '', read: '', none: '' };
  for (const level of ['WRITE', 'READ', 'NONE'] as const) {
    const username = `till-${level.toLowerCase()}-${tag}`;
    await created(t, `${base}/tills`, { username, password: `pw-${tag}`, customerAccess: level });
    auth[level.toLowerCase() as keyof typeof auth] = basicAuth(username, `pw-${tag}`);
  }
  return {
    orgId: org.id,
    programId: program.id,
    otherProgramId: other.id,
    promotions: {
      enrolAndIssue: enrolAndIssue.id,
      direct: direct.id,
      generic: generic.id,
      withIdentifier: withIdentifier.id,
      inactive: inactive.id,
    },
    promoIdentifier,
    customers: made.map((c: any) => ({ id: c.id, mobile: c.mobile, email: c.email })),
    auth,
  };
}

export const BULK_URL = '/v2/promotion/bulk/enrolAndEarn';

/** A bulk request body; `customers` as [identifierValue, source] pairs. */
export function bulkBody(
  action: 'ENROL' | 'EARN',
  programId: number,
  promotion: { promotionId?: unknown; promoIdentifier?: unknown },
  identifierName: string,
  customers: [string, string][],
): Record<string, unknown> {
  return {
    type: 'CUSTOMER',
    bulkAction: action,
    promotionDetails: { programId, ...promotion },
    identifierName,
    customers: customers.map(([identifierValue, source]) => ({ identifierValue, source })),
  };
}
