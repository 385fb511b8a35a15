import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import {
  bulkRequest,
  createCustomers,
  createPromotion,
  earnsOf,
  issualsOf,
  items,
  MSG,
  type NewCustomer,
  postBulk,
  recordCounts,
} from '../helpers/bulk.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import type { JsonResponse } from '../helpers/test-app.js';
import { startTestApp } from '../helpers/test-app.js';

const SIZES = [1, 10, 100] as const;

/** What the store receives while a recording is on. */
function statementRecorder() {
  const recorder = { counting: false, statements: [] as string[] };
  return {
    recorder,
    onQuery: (text: string) => {
      if (recorder.counting) recorder.statements.push(text);
    },
    // A verified credential stays cached for the whole file, so no request re-reads the till; no
    // webhook delivery runs, and the idle job runner looks for work once an hour, so that none of
    // their statements falls among a request's.
    config: {
      credentialCacheMs: 3_600_000,
      events: { ...DEFAULT_EVENTS_CONFIG, deliver: false },
      jobPollMs: 3_600_000,
    },
  };
}

describeEachStore('statements per bulk request', statementRecorder, (t, kind, { recorder }) => {
  let org: StandardOrg;
  let customers: NewCustomer[];

  beforeAll(async () => {
    org = await seedStandardOrg(t, 0);
    customers = await createCustomers(t, org, 100);
    // Warm the credential cache: the statements of authentication are not the endpoint's.
    await send('ENROL', org.promotions.inactive, [customers[0]?.id as number]);
  });

  function send(
    action: 'ENROL' | 'EARN',
    promotionId: number,
    values: readonly (string | number)[],
    identifierName = 'id',
  ): Promise<JsonResponse> {
    return postBulk(
      t,
      bulkRequest(action, { programId: org.programId, promotionId }, identifierName, items(values)),
      { auth: org.auth.write },
    );
  }

  /** The statements the store received while `fn` ran, and its answer. */
  async function counted(
    fn: () => Promise<JsonResponse>,
  ): Promise<{ n: number; res: JsonResponse; sql: string[] }> {
    recorder.statements = [];
    recorder.counting = true;
    try {
      const res = await fn();
      return { n: recorder.statements.length, res, sql: recorder.statements };
    } finally {
      recorder.counting = false;
    }
  }

  const idsOf = (n: number) => customers.slice(0, n).map((c) => c.id);

  it('ENROL of 1, 10 and 100 new customers issues the same number of statements', async () => {
    const counts: number[] = [];
    for (const size of SIZES) {
      const promo = await createPromotion(t, org);
      const { n, res, sql: sent } = await counted(() => send('ENROL', promo.id, idsOf(size)));
      expect(res.status).toBe(200);
      expect(res.body.totalCount).toBe(size);
      expect(await issualsOf(t, promo.id)).toHaveLength(size);
      // All of the request's events in one statement, whatever their number.
      expect(sent.filter((q) => q.includes('insert into events'))).toHaveLength(1);
      // The management API's counters: one statement, whatever the size (totals sum the day rows).
      const upserts = sent.filter((text) => /promotion_day_counts/.test(text));
      expect(upserts).toHaveLength(1);
      // PostgreSQL: the records, their events and the counters are one statement, one round trip.
      if (kind === 'postgres') expect(upserts[0]).toMatch(/insert into "issuals"[\s\S]*insert into events/);
      counts.push(n);
    }
    // Everything, the outbox (one insert of all of a request's events; on SQLite an update moves the
    // event id counter past them) and the counters (one upsert) included: on PostgreSQL the promotion,
    // begin, customers with their locks, states, ids, the writes and commit; SQLite sends the writes one by one,
    // inside the group commit's savepoint, and sets temp_store for the group and back (2 a group, not a request).
    expect(counts[0]).toBe(kind === 'postgres' ? 7 : 14);
    expect(counts).toStrictEqual([counts[0], counts[0], counts[0]]);
  });

  it('ENROL by mobile and by email costs the same as by id', async () => {
    const byId: number[] = [];
    for (const [name, pick] of [
      ['id', (c: NewCustomer) => String(c.id)],
      ['mobile', (c: NewCustomer) => `+${c.mobile}`],
      ['email', (c: NewCustomer) => ` ${(c.email as string).toUpperCase()} `],
    ] as const) {
      for (const size of [1, 100]) {
        const promo = await createPromotion(t, org);
        const values = customers.slice(0, size).map(pick);
        const { n, res } = await counted(() => send('ENROL', promo.id, values, name));
        expect(res.status).toBe(200);
        byId.push(n);
      }
    }
    expect(new Set(byId).size).toBe(1);
  });

  it('EARN of 1, 10 and 100 enrolled customers issues the same number of statements', async () => {
    const counts: number[] = [];
    for (const size of SIZES) {
      const promo = await createPromotion(t, org);
      expect((await send('ENROL', promo.id, idsOf(size))).status).toBe(200);
      const { n, res } = await counted(() => send('EARN', promo.id, idsOf(size)));
      expect(res.status).toBe(200);
      expect(await earnsOf(t, promo.id)).toHaveLength(size);
      counts.push(n);
    }
    // With the outbox and the counters (see ENROL): 7 on PostgreSQL, 15 on SQLite (its earn counts).
    expect(counts[0]).toBe(kind === 'postgres' ? 7 : 15);
    expect(counts).toStrictEqual([counts[0], counts[0], counts[0]]);
  });

  it('DIRECT EARN of 1, 10 and 100 customers (implicit issuals) issues the same number of statements', async () => {
    const first: number[] = [];
    const repeat: number[] = [];
    for (const size of SIZES) {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const a = await counted(() => send('EARN', promo.id, idsOf(size)));
      expect(a.res.status).toBe(200);
      expect(await issualsOf(t, promo.id)).toHaveLength(size);
      expect(await earnsOf(t, promo.id)).toHaveLength(size);
      first.push(a.n);
      // The second EARN reuses the issuals: no more statements than the first, whatever the size.
      const b = await counted(() => send('EARN', promo.id, idsOf(size)));
      expect(b.res.status).toBe(200);
      expect(await issualsOf(t, promo.id)).toHaveLength(size);
      repeat.push(b.n);
    }
    expect(first).toStrictEqual([first[0], first[0], first[0]]);
    expect(repeat).toStrictEqual([repeat[0], repeat[0], repeat[0]]);
    expect(repeat[0]).toBeLessThanOrEqual(first[0] as number);
  });

  it('a mixed request of 100 (new, already enrolled, duplicates, unknown, invalid) costs no more than one new enrolment', async () => {
    const promo = await createPromotion(t, org);
    const one = await counted(() => send('ENROL', promo.id, idsOf(1)));
    const values: (string | number)[] = [];
    for (let i = 0; i < 100; i++) {
      const c = customers[i % 50] as NewCustomer;
      values.push(i % 7 === 0 ? `${900000000000 + i}` : i % 11 === 0 ? 'not-an-id' : c.id);
    }
    const mixed = await counted(() => send('ENROL', promo.id, values));
    expect(mixed.res.status).toBe(201);
    expect(mixed.res.body.totalCount).toBe(100);
    expect(mixed.n).toBe(one.n);
  });

  it('a request in which nobody is found costs no more than one that writes', async () => {
    const promo = await createPromotion(t, org);
    const written = await counted(() => send('ENROL', promo.id, idsOf(1)));
    const nobody = await counted(() =>
      send(
        'ENROL',
        promo.id,
        Array.from({ length: 100 }, (_, i) => 800000000000 + i),
      ),
    );
    expect(nobody.res.status).toBe(201);
    expect(nobody.n).toBeLessThanOrEqual(written.n);
  });

  it('a whole-request rejection before the store is reached issues no statement', async () => {
    const body = bulkRequest('ENROL', { programId: org.programId }, 'id', items([1]));
    const { n, res } = await counted(() => postBulk(t, body, { auth: org.auth.write }));
    expect(res.status).toBe(400);
    expect(res.body.response[0].errors[0].code).toBe(8881);
    expect(n).toBe(0);
  });

  describe('all writes of one request commit together', () => {
    async function withFailingEarnInsert(fn: () => Promise<void>): Promise<void> {
      const db = t.testStore.store.db;
      if (kind === 'sqlite') {
        await sql`create trigger earns_fail before insert on earns begin select raise(abort, 'earns are refused'); end`.execute(
          db,
        );
      } else {
        await sql`create function earns_fail() returns trigger language plpgsql as $$ begin raise exception 'earns are refused'; end $$`.execute(
          db,
        );
        await sql`create trigger earns_fail before insert on earns for each row execute function earns_fail()`.execute(
          db,
        );
      }
      try {
        await fn();
      } finally {
        if (kind === 'sqlite') await sql`drop trigger earns_fail`.execute(db);
        else {
          await sql`drop trigger earns_fail on earns`.execute(db);
          await sql`drop function earns_fail()`.execute(db);
        }
      }
    }

    function expectInternalError(res: JsonResponse): void {
      expect(res.status).toBe(500);
      expect(res.body).toStrictEqual({
        response: [{ errors: [{ status: false, code: 500, message: expect.any(String) }], warnings: [] }],
        totalCount: 1,
        failureCount: 1,
      });
      const text = JSON.stringify(res.body);
      for (const leak of [
        'earns',
        'refused',
        'trigger',
        'SQLITE',
        'sqlite',
        'insert',
        'select',
        'stack',
        'at ',
      ]) {
        expect(text).not.toContain(leak);
      }
    }

    it('a store failure on the earns of a DIRECT EARN is a 500 and leaves no issual of that request', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const ids = idsOf(100);
      const before = await recordCounts(t);
      let sequence: unknown;
      if (kind === 'sqlite') {
        sequence = await t.testStore.store.db
          .selectFrom('id_sequences')
          .selectAll()
          .orderBy('name')
          .execute();
      }
      await withFailingEarnInsert(async () => {
        const res = await postBulk(
          t,
          bulkRequest('EARN', { programId: org.programId, promotionId: promo.id }, 'id', items(ids)),
          { auth: org.auth.write, requestId: `atomic-${kind}` },
        );
        expectInternalError(res);
      });
      expect(await issualsOf(t, promo.id)).toHaveLength(0);
      expect(await earnsOf(t, promo.id)).toHaveLength(0);
      expect(await recordCounts(t)).toStrictEqual(before);
      const stamped = await t.testStore.store.db
        .selectFrom('issuals')
        .select('id')
        .where('request_id', '=', `atomic-${kind}`)
        .execute();
      expect(stamped).toHaveLength(0);
      if (kind === 'sqlite') {
        // The ids the failed request took were given back with it.
        expect(
          await t.testStore.store.db.selectFrom('id_sequences').selectAll().orderBy('name').execute(),
        ).toStrictEqual(sequence);
      }

      // With the store healthy again, the same request succeeds in full.
      const again = await postBulk(
        t,
        bulkRequest('EARN', { programId: org.programId, promotionId: promo.id }, 'id', items(ids)),
        { auth: org.auth.write },
      );
      expect(again.status).toBe(200);
      expect(again.body.failureCount).toBe(0);
      expect(await issualsOf(t, promo.id)).toHaveLength(100);
      expect(await earnsOf(t, promo.id)).toHaveLength(100);
    });

    it('a store failure while earning leaves the earlier items of the request unwritten too', async () => {
      const promo = await createPromotion(t, org, { type: 'DIRECT' });
      const [first, second] = idsOf(2) as [number, number];
      // The first customer already has an issual; the request adds one for the second and earns for both.
      expect(
        (
          await postBulk(
            t,
            bulkRequest('EARN', { programId: org.programId, promotionId: promo.id }, 'id', items([first])),
            { auth: org.auth.write },
          )
        ).status,
      ).toBe(200);
      await withFailingEarnInsert(async () => {
        const res = await postBulk(
          t,
          bulkRequest(
            'EARN',
            { programId: org.programId, promotionId: promo.id },
            'id',
            items([first, second]),
          ),
          { auth: org.auth.write },
        );
        expectInternalError(res);
      });
      const issuals = await issualsOf(t, promo.id);
      expect(issuals.map((i) => i.customer_id)).toStrictEqual([first]);
      expect(await earnsOf(t, promo.id)).toHaveLength(1);
    });

    if (kind === 'sqlite') {
      it('a dropped earns table turns an EARN into a 500 without internals, and writes nothing', async () => {
        // Its own app: the table does not come back.
        const broken = await startTestApp('sqlite');
        try {
          const o = await seedStandardOrg(broken, 3);
          const ids = o.customers.map((c) => c.id);
          const enrol = await postBulk(
            broken,
            bulkRequest(
              'ENROL',
              { programId: o.programId, promotionId: o.promotions.enrolAndIssue },
              'id',
              items(ids.slice(0, 1)),
            ),
            { auth: o.auth.write },
          );
          expect(enrol.status).toBe(200);
          const db = broken.testStore.store.db;
          await sql`drop table earns`.execute(db);
          const count = async () =>
            Number(
              (
                await db
                  .selectFrom('issuals')
                  .select((eb) => eb.fn.countAll<number>().as('n'))
                  .executeTakeFirstOrThrow()
              ).n,
            );
          const issualsBefore = await count();
          for (const promotionId of [o.promotions.enrolAndIssue, o.promotions.direct]) {
            const res = await postBulk(
              broken,
              bulkRequest('EARN', { programId: o.programId, promotionId }, 'id', items(ids)),
              { auth: o.auth.write },
            );
            expectInternalError(res);
          }
          expect(await count()).toBe(issualsBefore);
          // ENROL does not touch earns and still works.
          const enrolMore = await postBulk(
            broken,
            bulkRequest(
              'ENROL',
              { programId: o.programId, promotionId: o.promotions.enrolAndIssue },
              'id',
              items(ids),
            ),
            { auth: o.auth.write },
          );
          expect(enrolMore.status).toBe(200);
          expect(enrolMore.body.response[0].warnings).toStrictEqual([
            { status: false, code: 8890, message: MSG[8890] },
          ]);
          expect(await count()).toBe(issualsBefore + 2);
        } finally {
          await broken.close();
        }
      });
    }
  });
});
