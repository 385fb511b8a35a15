import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { SEQUENCE_WARNING } from '../../src/contract/common.contract.js';
import { describeSequencesPast, sequencesPast } from '../../src/db/id-sequences.js';
import { create, expectAdminError, unique } from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import type { TestApp } from '../helpers/test-app.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53-1
const ID_CEILING = 1_000_000_000_000_000; // 10^15, the documented ceiling of explicit ids
const INT4_MAX = 2_147_483_647;

/** Writes a sequence's counter straight into the store, as an older version could have left it. */
async function setCounter(t: TestApp, name: string, value: number): Promise<void> {
  const db = t.testStore.store.db;
  if (t.kind === 'sqlite') {
    await sql`update id_sequences set value = ${value} where name = ${name}`.execute(db);
  } else {
    await sql`select setval(${`${name}_id_seq`}::regclass, ${String(value)}::bigint)`.execute(db);
  }
}

describeEachStore('numbers beyond what the store and JavaScript hold', (t) => {
  let orgId: number;
  let programId: number;

  beforeAll(async () => {
    orgId = (await create(t, '/admin/v1/orgs', { name: unique('ceiling-org') })).id;
    programId = (await create(t, `/admin/v1/orgs/${orgId}/programs`, { name: 'p' })).id;
  });

  const promotion = (extra: Record<string, unknown>) => ({
    programId,
    name: unique('promo'),
    type: 'ENROL_AND_ISSUE',
    ...extra,
  });

  it('refuses an explicit id above the ceiling with 400 naming the field, as a number or as digits', async () => {
    for (const id of [MAX_SAFE, String(MAX_SAFE), ID_CEILING + 1, '99999999999999999999']) {
      expectAdminError(
        await t.admin('POST', '/admin/v1/orgs', { id, name: 'o' }),
        400,
        'invalid_request',
        'id',
      );
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${orgId}/programs`, { id, name: 'p' }),
        400,
        'invalid_request',
        'id',
      );
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${orgId}/promotions`, promotion({ id })),
        400,
        'invalid_request',
        'id',
      );
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${orgId}/customers`, {
          customers: [{ id, mobile: '9100000001' }],
        }),
        400,
        'invalid_request',
        /^customers\[0\]\.id$|^\/customers\/0\/id$/,
      );
    }
    // The process is alive and later ids are the store's own, exact.
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const next = await create(t, `/admin/v1/orgs/${orgId}/programs`, { name: 'after' });
    expect(Number.isSafeInteger(next.id)).toBe(true);
    expect(next.id).toBeLessThan(ID_CEILING);
  });

  it('takes an id at the ceiling, and numbers the next record exactly after it', async () => {
    const at = await create(t, `/admin/v1/orgs/${orgId}/promotions`, promotion({ id: ID_CEILING }));
    expect(at.id).toBe(ID_CEILING);
    const after = await create(t, `/admin/v1/orgs/${orgId}/promotions`, promotion({}));
    expect(after.id).toBe(ID_CEILING + 1);
    const again = await create(t, `/admin/v1/orgs/${orgId}/promotions`, promotion({}));
    expect(again.id).toBe(ID_CEILING + 2);
  });

  it('refuses counts beyond a 32-bit integer column with 400 naming the field, never 500', async () => {
    for (const field of ['maxIssualsPerCustomer', 'maxEarnsPerCustomer']) {
      for (const value of [3_000_000_000, '3000000000', INT4_MAX + 1]) {
        expectAdminError(
          await t.admin('POST', `/admin/v1/orgs/${orgId}/promotions`, promotion({ [field]: value })),
          400,
          'invalid_request',
          field,
        );
      }
      const made = await create(t, `/admin/v1/orgs/${orgId}/promotions`, promotion({ [field]: INT4_MAX }));
      expect(made[field]).toBe(INT4_MAX);
      expectAdminError(
        await t.admin('PATCH', `/admin/v1/orgs/${orgId}/promotions/${made.id}`, { [field]: 3_000_000_000 }),
        400,
        'invalid_request',
        field,
      );
    }
  });

  it('answers a clear 503 when a counter an older version left at 2^53-1 is exhausted, and stays up', async () => {
    await setCounter(t, 'programs', MAX_SAFE);
    const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/programs`, { name: 'one too many' });
    expectAdminError(res, 503, 'unavailable');
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // Start-up and `loyalty migrate` name the sequence to the operator.
    const past = await sequencesPast(t.testStore.store.db, t.testStore.store.dialect, SEQUENCE_WARNING);
    expect(past.map((p) => p.name)).toEqual(['programs']);
    expect(describeSequencesPast(past)).toMatch(/programs at 900719925474099\d.*Id ceilings/);
    // Other kinds keep their numbers.
    const org = await create(t, '/admin/v1/orgs', { name: unique('still-numbered') });
    expect(Number.isSafeInteger(org.id)).toBe(true);
  });
});
