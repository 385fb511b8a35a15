import { expect } from 'vitest';
import { create } from '../helpers/admin-helpers.js';
import { ADMIN_TOKEN, basicAuth, type TestApp } from '../helpers/test-app.js';

export interface JobOrg {
  orgId: number;
  programId: number;
  /** Two promotions alike: the job runs on the first, the 100-customer requests on the twin. */
  promotion: number;
  twin: number;
  customerIds: number[];
  auth: string;
}

export async function jobOrg(t: TestApp, customers: number): Promise<JobOrg> {
  const orgId = (await create(t, '/admin/v1/orgs', { name: 'Jobs' })).id as number;
  const base = `/admin/v1/orgs/${orgId}`;
  const programId = (await create(t, `${base}/programs`, { name: 'Main' })).id as number;
  const promo = async () =>
    (await create(t, `${base}/promotions`, { programId, name: 'P', type: 'ENROL_AND_ISSUE' })).id as number;
  const promotion = await promo();
  const twin = await promo();
  const customerIds: number[] = [];
  for (let made = 0; made < customers; made += 10_000) {
    const n = Math.min(10_000, customers - made);
    const body = await create(t, `${base}/customers`, {
      customers: Array.from({ length: n }, () => ({ sources: ['INSTORE'], programIds: [programId] })),
    });
    customerIds.push(...body.customers.map((c: { id: number }) => c.id));
  }
  await create(t, `${base}/tills`, {
    username: `jobs-${orgId}`,
    password: 'jobs-password',
    customerAccess: 'WRITE',
  });
  return {
    orgId,
    programId,
    promotion,
    twin,
    customerIds,
    auth: basicAuth(`jobs-${orgId}`, 'jobs-password'),
  };
}

export async function submit(t: TestApp, orgId: number, query: string, csv: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/admin/v1/orgs/${orgId}/jobs?${query}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv' },
    payload: csv,
  });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

export async function waitFor(t: TestApp, orgId: number, jobId: string, until = FINISHED): Promise<any> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const res = await t.admin('GET', `/admin/v1/orgs/${orgId}/jobs/${jobId}`);
    expect(res.status).toBe(200);
    if (until.includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${res.body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The results file's lines, split into fields (the test data holds no commas or quotes). */
export async function results(t: TestApp, orgId: number, jobId: string, query = ''): Promise<string[][]> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/admin/v1/orgs/${orgId}/jobs/${jobId}/results${query}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/csv/);
  return res.body
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => line.split(','));
}

/**
 * Rows mixing known customers, repeats (near and far), unknown ids, a wrong and an unsupported source,
 * malformed and empty identifiers.
 */
export function mixedRows(customerIds: number[], count: number): [string, string][] {
  const rows: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    const pick = String(customerIds[(i * 7919) % customerIds.length]);
    switch (i % 10) {
      case 6:
        rows.push([String(900_000_000_000 + i), 'INSTORE']);
        break;
      case 7:
        rows.push([pick, i % 20 === 7 ? 'WEBSITE' : 'NOT_A_SOURCE']);
        break;
      case 8:
        rows.push([['abc', '', '-3', '1.5'][((i / 10) % 4) | 0] as string, 'INSTORE']);
        break;
      case 9:
        rows.push(rows[i - 1] as [string, string]);
        break;
      default:
        rows.push([pick, i % 3 === 0 ? '' : 'INSTORE']);
    }
  }
  return rows;
}

export const toCsv = (rows: [string, string][]) =>
  `identifierValue,source\n${rows.map(([v, s]) => `${v},${s}`).join('\n')}\n`;

/** The same rows sent in order as 100-customer requests: each row's code, and whether it got an issual. */
export async function viaApi(t: TestApp, org: JobOrg, promotionId: number, rows: [string, string][]) {
  const outcomes: { code: string; issual: boolean; entityId: string }[] = [];
  for (let i = 0; i < rows.length; i += 100) {
    const res = await t.v2(
      '/v2/promotion/bulk/enrolAndEarn',
      {
        type: 'CUSTOMER',
        bulkAction: 'ENROL',
        promotionDetails: { programId: org.programId, promotionId },
        identifierName: 'id',
        customers: rows.slice(i, i + 100).map(([v, s]) => ({ identifierValue: v, source: s || 'INSTORE' })),
      },
      org.auth,
    );
    expect([200, 201]).toContain(res.status);
    for (const item of res.body.response) {
      const message = item.errors[0] ?? item.warnings[0];
      outcomes.push({
        code: message ? String(message.code) : '',
        issual: item.result?.issualId !== undefined,
        entityId: item.result ? String(item.result.entityId) : '',
      });
    }
  }
  return outcomes;
}
