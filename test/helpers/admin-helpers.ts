import type { InjectOptions } from 'fastify';
import { expect } from 'vitest';
import type { JsonResponse, TestApp } from './test-app.js';

/** POSTs through the management API and insists on 201; answers the record. */
export async function create(t: TestApp, url: string, body: unknown): Promise<any> {
  const res = await t.admin('POST', url, body);
  if (res.status !== 201) throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

let uniqueCounter = 0;

/** A string no other call in this process returns. */
export function unique(prefix: string): string {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${uniqueCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

// Explicit ids are handed out far apart, so the store's own ids (which move past every explicit
// id) never reach the next explicit id that a test picks.
let nextExplicit = 50_000_000 + Math.floor(Math.random() * 1_000) * 1_000_000;

/** An id that no record holds yet and that the store will not assign before it is used. */
export function explicitId(): number {
  nextExplicit += 1_000_000;
  return nextExplicit;
}

/** The management API's error body, with the field when one is expected. */
export function expectAdminError(
  res: JsonResponse,
  status: number,
  code: string,
  field?: string | RegExp,
): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    error: {
      code,
      message: expect.any(String),
      ...(field === undefined
        ? {}
        : { field: typeof field === 'string' ? field : expect.stringMatching(field) }),
    },
  });
  expect(res.body.error.message.length).toBeGreaterThan(0);
}

/** The number of rows of a table that belong to an org. */
export async function countRows(
  t: TestApp,
  table: 'programs' | 'promotions' | 'customers' | 'customer_sources' | 'program_members' | 'tills',
  orgId: number,
): Promise<number> {
  const row = await t.testStore.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .where('org_id', '=', orgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Waits, checking every 50 ms, until `test` holds (20 s at most). */
export async function waitFor(test: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The management suites' calls on one app: any request, and a new org or program. */
export function adminCalls(t: TestApp) {
  async function raw(opts: InjectOptions) {
    const res = await t.app.inject(opts);
    let body: any = res.body;
    try {
      body = res.json();
    } catch {
      // not JSON: the assertions say so
    }
    return { status: res.statusCode, body, headers: res.headers };
  }

  async function newOrg(): Promise<number> {
    return (await create(t, '/admin/v1/orgs', { name: unique('org') })).id;
  }

  async function newProgram(orgId: number): Promise<number> {
    return (await create(t, `/admin/v1/orgs/${orgId}/programs`, { name: unique('program') })).id;
  }

  /** An org with one program, for tests that need somewhere to put promotions and customers. */
  async function orgWithProgram(): Promise<{ orgId: number; programId: number; base: string }> {
    const orgId = await newOrg();
    return { orgId, programId: await newProgram(orgId), base: `/admin/v1/orgs/${orgId}` };
  }

  return { raw, newOrg, newProgram, orgWithProgram };
}

/**
 * Asks until the answer has `status`, for at most a second, and answers the last answer: for a
 * change that must reach every process within a second (shared state across processes).
 */
export async function within1s<A extends { status: number }>(
  ask: () => Promise<A>,
  status: number,
): Promise<A> {
  const deadline = Date.now() + 1_000;
  let answer = await ask();
  while (answer.status !== status && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    answer = await ask();
  }
  return answer;
}
