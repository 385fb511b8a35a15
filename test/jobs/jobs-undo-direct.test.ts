import { expect, it } from 'vitest';
import { create } from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { jobOrg, results, submit, waitFor } from './helpers.js';

/**
 * The undo of an EARN job on a DIRECT promotion: each earn the job made was made with an implicit
 * issual, and the undo revokes both, in the job's transactions with their events, and nothing else.
 */
describeEachStore('bulk jobs: undo of a DIRECT earn', { config: { jobPollMs: 20 } }, (t) => {
  it('revokes the earns and the implicit issuals the job made, leaves what others made, deletes nothing', async () => {
    const org = await jobOrg(t, 250);
    const base = `/admin/v1/orgs/${org.orgId}`;
    const direct = (
      await create(t, `${base}/promotions`, {
        programId: org.programId,
        name: 'Direct',
        type: 'DIRECT',
        maxEarnsPerCustomer: 5,
      })
    ).id as number;
    const ids = org.customerIds;
    const [before, repeated, laterEarned] = ids as [number, number, number, ...number[]];
    const earnViaApi = async (customerId: number) => {
      const res = await t.v2(
        '/v2/promotion/bulk/directEarn',
        {
          type: 'CUSTOMER',
          bulkAction: 'EARN',
          promotionDetails: { programId: org.programId, promotionId: direct },
          identifierName: 'id',
          customers: [{ identifierValue: String(customerId), source: 'INSTORE' }],
        },
        org.auth,
      );
      expect(res.status).toBe(200);
      return res.body.response[0].result as { issualId: string; earnedId: string };
    };
    // An issual made before the job, by a till: the job earns on it, and its undo must leave it.
    const earlier = await earnViaApi(before);

    const csv = `identifierValue\n${[...ids, repeated].join('\n')}\n`;
    const query = `action=EARN&programId=${org.programId}&promotionId=${direct}&identifierName=id`;
    const submitted = await submit(t, org.orgId, query, csv);
    expect(submitted.status).toBe(202);
    const job = await waitFor(t, org.orgId, submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(job.rows).toMatchObject({ total: 251, processed: 251, failed: 0 });
    const jobRequest = `job:${job.id}`;

    const db = t.testStore.store.db;
    const made = async (table: 'issuals' | 'earns', requestId: string, activeOnly: boolean) => {
      let q = db
        .selectFrom(table)
        .select(['id', 'customer_id'])
        .where('org_id', '=', org.orgId)
        .where('request_id', '=', requestId);
      if (activeOnly) q = q.where('revoked_at', 'is', null);
      return q.orderBy('id').execute();
    };
    const eventsOf = async (requestId: string) => {
      const rows = await db
        .selectFrom('events')
        .select(['type', 'data'])
        .where('org_id', '=', org.orgId)
        .execute();
      const counts: Record<string, number> = {};
      for (const row of rows) {
        if ((JSON.parse(row.data) as { requestId?: string }).requestId !== requestId) continue;
        counts[row.type] = (counts[row.type] ?? 0) + 1;
      }
      return counts;
    };
    // Every customer but the one enrolled before got an implicit issual; every row an earn.
    expect(await made('issuals', jobRequest, true)).toHaveLength(249);
    expect(await made('earns', jobRequest, true)).toHaveLength(251);
    // The job wrote an event for each record, in the chunk's transaction, as a /v2 request would.
    expect(await eventsOf(jobRequest)).toEqual({ 'promotion.enrolled': 249, 'promotion.earned': 251 });

    // After the job, a till earns again on an issual the job made: that earn is not the job's.
    const later = await earnViaApi(laterEarned);
    const totals = async () => ({
      issuals: (await made('issuals', jobRequest, false)).length,
      earns: (await made('earns', jobRequest, false)).length,
    });
    const totalsBefore = await totals();

    const undone = await t.admin('POST', `${base}/jobs/${job.id}/undo`);
    expect(undone.status).toBe(202);
    expect(undone.body.action).toBe('REVOKE_EARN');
    const undo = await waitFor(t, org.orgId, undone.body.id);
    expect(undo.status).toBe('succeeded');
    expect(undo.rows).toMatchObject({ total: 251, processed: 251, failed: 0 });

    // No earn the job made is active; of its issuals, only the one a later earn still stands on.
    expect(await made('earns', jobRequest, true)).toEqual([]);
    const left = await made('issuals', jobRequest, true);
    expect(left.map((i) => String(i.id))).toEqual([later.issualId]);
    // What others made stands: the issual and earn from before the job, the earn made after it.
    const active = async (table: 'issuals' | 'earns', id: string) =>
      (
        await db
          .selectFrom(table)
          .select('revoked_at')
          .where('org_id', '=', org.orgId)
          .where('id', '=', Number(id))
          .executeTakeFirstOrThrow()
      ).revoked_at === null;
    expect(await active('issuals', earlier.issualId)).toBe(true);
    expect(await active('earns', earlier.earnedId)).toBe(true);
    expect(await active('earns', later.earnedId)).toBe(true);
    // Nothing was deleted.
    expect(await totals()).toEqual(totalsBefore);
    // The undo's revocations wrote their events, stamped with the undo job's request id.
    expect(await eventsOf(`job:${undo.id}`)).toEqual({
      'promotion.enrolment_revoked': 248,
      'promotion.earn_revoked': 251,
    });
    // One result line per undo row, none of them an error.
    const lines = await results(t, org.orgId, undo.id, '?failedOnly=true');
    expect(lines).toHaveLength(1);
  });

  it('wrong admin tokens are throttled per address on the job routes as on the rest of /admin/v1', async () => {
    const wrong = (url: string) =>
      t.app.inject({
        method: 'GET',
        url,
        remoteAddress: '127.0.0.7',
        headers: { authorization: 'Bearer wrong-token' },
      });
    for (let i = 0; i < 10; i++) {
      const res = await wrong('/admin/v1/orgs/1/jobs');
      expect(res.statusCode).toBe(401);
      expect(res.json().errors[0].code).toBe(401);
    }
    const throttled = await wrong('/admin/v1/orgs/1/jobs');
    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['retry-after']).toMatch(/^[0-9]+$/);
    expect(throttled.json()).toEqual({ warnings: [], errors: [expect.objectContaining({ code: 429 })] });
    // One budget for the address: the management API refuses it too.
    expect((await wrong('/admin/v1/audit')).statusCode).toBe(429);
  });
});
