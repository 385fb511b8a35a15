import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/admin-helpers.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { STORES } from '../helpers/stores.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * PostgreSQL finds the customers a change writes by their row address (dialect keyedRows, so that a
 * never-analysed store probes by key): a customer another transaction changed meanwhile has a new
 * address, and the write used to skip it while answering 200. On SQLite writers are serial, so the
 * race cannot happen there; this file runs on PostgreSQL only.
 */
describe.runIf(STORES.includes('postgres'))(
  'a customer changed by another transaction during a PATCH',
  () => {
    let t: TestApp;
    let org: StandardOrg;
    let other: pg.Client;
    // Outside the transaction that holds the row: within one, pg_stat_activity is read once and
    // then shows that first read for the rest of it, so a look taken before the PATCH reached the
    // lock would never see it wait.
    let watcher: pg.Client;

    beforeAll(async () => {
      t = await startTestApp('postgres');
      org = await seedStandardOrg(t, 1);
      const config = t.testStore.config;
      if (config.kind !== 'postgres') throw new Error('expected a PostgreSQL store');
      other = new pg.Client({ connectionString: config.connectionString });
      watcher = new pg.Client({ connectionString: config.connectionString });
      await other.connect();
      await watcher.connect();
    });

    afterAll(async () => {
      await other?.end();
      await watcher?.end();
      await t?.close();
    });

    it('is written again on the stored row: the PATCH answers 200, and both changes are kept', async () => {
      const customer = org.customers[0] as { id: number };
      await other.query('begin');
      await other.query('update customers set email = $1 where org_id = $2 and id = $3', [
        'changed-meanwhile@example.com',
        org.orgId,
        customer.id,
      ]);
      const patch = t.admin('PATCH', `/admin/v1/orgs/${org.orgId}/customers/${customer.id}`, {
        mobile: '919900112233',
      });
      // Until the PATCH waits on the row this transaction holds.
      await waitFor(async () => {
        const { rows } = await watcher.query(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
        );
        return rows[0].n > 0;
      }, 'the PATCH to wait on the row the other transaction holds');
      await other.query('commit');

      const answer = await patch;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const stored = await t.admin('GET', `/admin/v1/orgs/${org.orgId}/customers/${customer.id}`);
      // The PATCH ran again on what was stored by then, so it did not write back the email it first read.
      expect(stored.body).toMatchObject({
        id: customer.id,
        mobile: '919900112233',
        email: 'changed-meanwhile@example.com',
      });
    });
  },
);
