import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  adminCalls,
  countRows,
  create,
  expectAdminError,
  explicitId,
  unique,
  waitFor,
} from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';

describeEachStore('management API', (t, kind) => {
  const { newProgram, orgWithProgram } = adminCalls(t);

  describe('customers', () => {
    it('creates customers with and without explicit ids, normalising mobile and email', async () => {
      const { programId, base } = await orgWithProgram();
      const id = explicitId();
      const ext = unique('ext');
      const res = await t.admin('POST', `${base}/customers`, {
        customers: [
          {
            id,
            mobile: '+91 (998) 600-0586',
            email: '  Jane.Doe@Example.COM ',
            externalId: ext,
            sources: ['instore', 'WEBSITE'],
            programIds: [programId, String(programId)],
          },
          { mobile: '11 223 569 865' },
          { id: String(id + 1) },
        ],
      });
      expect(res.status).toBe(201);
      expect(res.body.customers).toEqual([
        {
          id,
          mobile: '919986000586',
          email: 'jane.doe@example.com',
          externalId: ext,
          sources: ['INSTORE', 'WEBSITE'],
          programIds: [programId],
        },
        {
          id: expect.any(Number),
          mobile: '11223569865',
          email: null,
          externalId: null,
          sources: ['INSTORE'],
          programIds: [],
        },
        { id: id + 1, mobile: null, email: null, externalId: null, sources: ['INSTORE'], programIds: [] },
      ]);
      expect([id, id + 1]).not.toContain(res.body.customers[1].id);
    });

    it('stores sources and program memberships', async () => {
      const { orgId, programId, base } = await orgWithProgram();
      const second = await newProgram(orgId);
      const made = await create(t, `${base}/customers`, {
        customers: [{ sources: ['FACEBOOK', 'LINE'], programIds: [programId, second] }, {}],
      });
      const [a, b] = made.customers;
      const sources = await t.testStore.store.db
        .selectFrom('customer_sources')
        .select(['customer_id', 'source'])
        .where('org_id', '=', orgId)
        .orderBy('customer_id')
        .orderBy('source')
        .execute();
      expect(sources.map((s) => [Number(s.customer_id), s.source])).toEqual([
        [a.id, 'FACEBOOK'],
        [a.id, 'LINE'],
        [b.id, 'INSTORE'],
      ]);
      const members = await t.testStore.store.db
        .selectFrom('program_members')
        .select(['customer_id', 'program_id'])
        .where('org_id', '=', orgId)
        .orderBy('program_id')
        .execute();
      expect(members.map((m) => [Number(m.customer_id), Number(m.program_id)])).toEqual([
        [a.id, programId],
        [a.id, second],
      ]);
    });

    it('never assigns an id that an explicit customer holds, in the same call or before', async () => {
      const { base } = await orgWithProgram();
      const first = (await create(t, `${base}/customers`, { customers: [{}] })).customers[0].id;
      const explicitBefore = [first + 1, first + 2];
      await create(t, `${base}/customers`, { customers: explicitBefore.map((id) => ({ id })) });
      const mixed = (
        await create(t, `${base}/customers`, {
          customers: [{}, { id: first + 4 }, {}, {}, { id: first + 3 }],
        })
      ).customers.map((c: { id: number }) => c.id);
      expect(mixed[1]).toBe(first + 4);
      expect(mixed[4]).toBe(first + 3);
      const later = (await create(t, `${base}/customers`, { customers: [{}, {}, {}] })).customers.map(
        (c: { id: number }) => c.id,
      );
      const all = [first, ...explicitBefore, ...mixed, ...later];
      expect(new Set(all).size).toBe(all.length);
    });

    it('answers 409 for a customer id held in this or another org', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      const id = explicitId();
      await create(t, `${a.base}/customers`, { customers: [{ id }] });
      expectAdminError(
        await t.admin('POST', `${a.base}/customers`, { customers: [{ id }] }),
        409,
        'conflict',
        /id/,
      );
      expectAdminError(
        await t.admin('POST', `${b.base}/customers`, { customers: [{}, { id: String(id) }] }),
        409,
        'conflict',
        /id/,
      );
      expect(await countRows(t, 'customers', b.orgId)).toBe(0);
    });

    it('answers 409 for a mobile, email or externalId held in the org, compared as normalised', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      const ext = unique('ext');
      await create(t, `${a.base}/customers`, {
        customers: [{ mobile: '919986000586', email: 'jane@example.com', externalId: ext }],
      });
      for (const [customer, field] of [
        [{ mobile: '+91 99860 00586' }, /mobile/],
        [{ mobile: '919986000586' }, /mobile/],
        [{ email: ' JANE@example.COM' }, /email/],
        [{ externalId: ext }, /externalId/],
      ] as [Record<string, unknown>, RegExp][]) {
        const res = await t.admin('POST', `${a.base}/customers`, { customers: [{}, customer] });
        expectAdminError(res, 409, 'conflict', field);
      }
      expect(await countRows(t, 'customers', a.orgId)).toBe(1);
      // Unique within the org only: another org may hold the same values.
      const other = await t.admin('POST', `${b.base}/customers`, {
        customers: [{ mobile: '919986000586', email: 'jane@example.com', externalId: ext }],
      });
      expect(other.status).toBe(201);
    });

    it('answers 409 naming the repeat for duplicates within one call', async () => {
      const { orgId, base } = await orgWithProgram();
      const id = explicitId();
      const cases: [Record<string, unknown>[], string][] = [
        [[{ id }, {}, { id: String(id) }], 'customers[2].id'],
        [[{ mobile: '12345' }, { mobile: '1-2-3-4-5' }], 'customers[1].mobile'],
        [[{ email: 'a@b.c' }, {}, { email: 'A@B.C ' }], 'customers[2].email'],
        [[{ externalId: 'E1' }, { externalId: 'E1' }], 'customers[1].externalId'],
      ];
      for (const [customers, field] of cases) {
        expectAdminError(await t.admin('POST', `${base}/customers`, { customers }), 409, 'conflict', field);
      }
      expect(await countRows(t, 'customers', orgId)).toBe(0);
    });

    it('answers 404 for a missing org or a program that the org does not hold', async () => {
      const a = await orgWithProgram();
      const b = await orgWithProgram();
      expectAdminError(
        await t.admin('POST', `/admin/v1/orgs/${explicitId()}/customers`, { customers: [{}] }),
        404,
        'not_found',
      );
      for (const programIds of [[explicitId()], [a.programId, b.programId]]) {
        expectAdminError(
          await t.admin('POST', `${a.base}/customers`, {
            customers: [{ programIds: [a.programId] }, { programIds }],
          }),
          404,
          'not_found',
          'programIds',
        );
      }
      expect(await countRows(t, 'customers', a.orgId)).toBe(0);
    });

    it('answers 400 naming the field for a malformed customers call', async () => {
      const { orgId, base } = await orgWithProgram();
      const cases: [unknown, string][] = [
        [{}, 'customers'],
        [{ customers: [] }, 'customers'],
        [{ customers: {} }, 'customers'],
        [{ customers: 'all' }, 'customers'],
        [{ customers: [{}], extra: 1 }, 'extra'],
        [{ customers: Array.from({ length: 10_001 }, () => ({})) }, 'customers'],
        [{ customers: [{}, 'x'] }, 'customers[1]'],
        [{ customers: [{}, null] }, 'customers[1]'],
        [{ customers: [{ id: 0 }] }, 'customers[0].id'],
        [{ customers: [{ id: 'one' }] }, 'customers[0].id'],
        [{ customers: [{ mobile: 'abc' }] }, 'customers[0].mobile'],
        [{ customers: [{ mobile: 98765 }] }, 'customers[0].mobile'],
        [{ customers: [{ email: 'not-an-address' }] }, 'customers[0].email'],
        [{ customers: [{ externalId: 5 }] }, 'customers[0].externalId'],
        [{ customers: [{ sources: 'INSTORE' }] }, 'customers[0].sources'],
        [{ customers: [{}, { sources: ['INSTORE', 'MOON'] }] }, 'customers[1].sources[1]'],
        [{ customers: [{ sources: [7] }] }, 'customers[0].sources[0]'],
        [{ customers: [{ sources: ['ALL'] }] }, 'customers[0].sources[0]'],
        [{ customers: [{ programIds: 5 }] }, 'customers[0].programIds'],
        [{ customers: [{ nickname: 'Jo' }] }, 'customers[0].nickname'],
      ];
      for (const [body, field] of cases) {
        expectAdminError(await t.admin('POST', `${base}/customers`, body), 400, 'invalid_request', field);
      }
      expect(await countRows(t, 'customers', orgId)).toBe(0);
    });

    it('answers 400 naming the element for a programIds entry that is not an id', async () => {
      const { base } = await orgWithProgram();
      const res = await t.admin('POST', `${base}/customers`, { customers: [{ programIds: ['x'] }] });
      expectAdminError(res, 400, 'invalid_request', 'customers[0].programIds[0]');
    });

    it('never answers 500 for a string holding a NUL character', async () => {
      // Either stored as given or refused as malformed, naming the field; never an internal error.
      const { orgId, base } = await orgWithProgram();
      const res = await t.admin('POST', `${base}/customers`, { customers: [{ externalId: 'a\u0000b' }] });
      if (res.status === 201) {
        expect(res.body.customers[0].externalId).toBe('a\u0000b');
      } else {
        expectAdminError(res, 400, 'invalid_request', 'customers[0].externalId');
        expect(await countRows(t, 'customers', orgId)).toBe(0);
      }
    });

    describe('a call of 10,000 customers', () => {
      const big = (programId: number, tag: string) =>
        Array.from({ length: 10_000 }, (_, i) => ({
          mobile: `7${String(i).padStart(9, '0')}`,
          email: `Customer.${i}.${tag}@Example.com`,
          externalId: `${tag}-${i}`,
          sources: ['INSTORE', 'ECOMMERCE'],
          programIds: [programId],
        }));

      async function counts(orgId: number) {
        return {
          customers: await countRows(t, 'customers', orgId),
          sources: await countRows(t, 'customer_sources', orgId),
          members: await countRows(t, 'program_members', orgId),
        };
      }

      it('succeeds, over the 1 MiB limit of the /v2 API', async () => {
        const { orgId, programId, base } = await orgWithProgram();
        const customers = big(programId, unique('big'));
        expect(JSON.stringify({ customers }).length).toBeGreaterThan(1024 * 1024);
        const res = await t.admin('POST', `${base}/customers`, { customers });
        expect(res.status).toBe(201);
        expect(res.body.customers).toHaveLength(10_000);
        expect(new Set(res.body.customers.map((c: { id: number }) => c.id)).size).toBe(10_000);
        expect(res.body.customers[9_999]).toMatchObject({
          mobile: '7000009999',
          email: customers[9_999]?.email.toLowerCase(),
        });
        expect(await counts(orgId)).toEqual({ customers: 10_000, sources: 20_000, members: 10_000 });
      });

      it('writes nothing when the last record is bad, whatever the reason', async () => {
        const { orgId, programId, base } = await orgWithProgram();
        const existing = await create(t, `${base}/customers`, {
          customers: [{ mobile: '5550001', email: 'held@example.com' }],
        });
        expect(existing.customers).toHaveLength(1);
        const before = await counts(orgId);
        const badLast: [Record<string, unknown>, number, string | RegExp][] = [
          [{ sources: ['MOON'] }, 400, 'customers[9999].sources[0]'],
          [{ email: 'nope' }, 400, 'customers[9999].email'],
          [{ mobile: '555-0001' }, 409, /mobile/],
          [{ email: 'HELD@example.com' }, 409, /email/],
          [{ mobile: '7000000000' }, 409, 'customers[9999].mobile'],
          [{ programIds: [explicitId()] }, 404, 'programIds'],
          [{ id: existing.customers[0].id }, 409, /id/],
        ];
        for (const [last, status, field] of badLast) {
          const customers: Record<string, unknown>[] = big(programId, unique('atomic'));
          customers[9_999] = last;
          const res = await t.admin('POST', `${base}/customers`, { customers });
          expectAdminError(
            res,
            status,
            status === 400 ? 'invalid_request' : status === 404 ? 'not_found' : 'conflict',
            field,
          );
          expect(await counts(orgId)).toEqual(before);
        }
      });

      // Each store has its own way to fail mid-call; only that store's variant is registered.
      if (kind === 'postgres')
        it('writes nothing when the store refuses the last chunk after 9,500 customers went in', async () => {
          // Another session holds, uncommitted, a customer with the mobile of the call's last record:
          // the call's checks cannot see it, so the refusal comes from the unique index while the
          // last chunk is inserted, after the first 9,500 rows. Only the transaction keeps them out.
          const { orgId, programId, base } = await orgWithProgram();
          const config = t.testStore.config;
          if (config.kind !== 'postgres') throw new Error('expected PostgreSQL');
          const blocker = new pg.Client({ connectionString: config.connectionString });
          const watcher = new pg.Client({ connectionString: config.connectionString });
          await blocker.connect();
          await watcher.connect();
          try {
            await blocker.query('begin');
            await blocker.query(
              'insert into customers (org_id, id, mobile, created_at) values ($1, $2, $3, $4)',
              [orgId, explicitId(), '7000009999', Date.now()],
            );
            const call = t.admin('POST', `${base}/customers`, {
              customers: big(programId, unique('race')),
            });
            await waitFor(async () => {
              const { rows } = await watcher.query(
                "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
              );
              return rows[0].n > 0;
            }, 'the customers call to wait on the uncommitted customer');
            await blocker.query('commit');
            const res = await call;
            expectAdminError(res, 409, 'conflict');
            expect(await counts(orgId)).toEqual({ customers: 1, sources: 0, members: 0 });
          } finally {
            await blocker.end();
            await watcher.end();
          }
        });

      if (kind === 'sqlite')
        it('writes nothing when the store fails on the last record after 9,500 went in', async () => {
          // A trigger makes the store itself fail on the last customer, mid-transaction.
          const { orgId, programId, base } = await orgWithProgram();
          const db = t.testStore.store.db;
          await sql`create trigger refuse_last before insert on customers
              when new.mobile = '7000009999' and new.org_id = ${sql.lit(orgId)}
              begin select raise(abort, 'refused by test trigger'); end`.execute(db);
          try {
            const res = await t.admin('POST', `${base}/customers`, {
              customers: big(programId, unique('trig')),
            });
            // A store failure is the management API's own 500, in its envelope, naming nothing of the store.
            expect(res.body).toStrictEqual({ error: { code: 'internal', message: 'Internal server error' } });
            expectAdminError(res, 500, 'internal');
            expect(JSON.stringify(res.body)).not.toContain('refused by test trigger');
            expect(await counts(orgId)).toEqual({ customers: 0, sources: 0, members: 0 });
          } finally {
            await sql`drop trigger refuse_last`.execute(db);
          }
        });
    });
  });
});
