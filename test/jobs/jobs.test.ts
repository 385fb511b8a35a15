import { expect, it } from 'vitest';
import { describeEachStore } from '../helpers/each-store.js';
import { type JobOrg, jobOrg, mixedRows, results, submit, toCsv, viaApi, waitFor } from './helpers.js';

/**
 * Server-side bulk jobs: every row's outcome equals that of the same rows sent in order as
 * 100-customer requests (to a twin promotion), a dry run predicts it and writes nothing, cancel and
 * undo. 100,000 rows on SQLite; 10,000 on PostgreSQL, for CI time.
 */
describeEachStore('bulk jobs', { config: { jobPollMs: 20 }, timeout: 600_000 }, (t, kind) => {
  const ROWS = kind === 'sqlite' ? 100_000 : 10_000;
  let org: JobOrg;
  let rows: [string, string][];
  let dryRunId: string;

  const counts = async (promotionId: number) => {
    const n = async (table: 'issuals' | 'earns', active: boolean) => {
      let q = t.testStore.store.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .where('org_id', '=', org.orgId)
        .where('promotion_id', '=', promotionId);
      if (active) q = q.where('revoked_at', 'is', null);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    return { issuals: await n('issuals', false), active: await n('issuals', true) };
  };

  it('refuses a whole request at once with the bulk API codes', async () => {
    org = await jobOrg(t, kind === 'sqlite' ? 30_000 : 5_000);
    const base = `action=ENROL&programId=${org.programId}&promotionId=${org.promotion}&identifierName=id`;
    const cases: [string, number][] = [
      [`action=ENROL&programId=999999999&promotionId=${org.promotion}&identifierName=id`, 1101],
      [`action=ENROL&programId=${org.programId}&promotionId=999999999&identifierName=id`, 8874],
      [`action=FOO&programId=${org.programId}&promotionId=${org.promotion}&identifierName=id`, 8902],
      [`action=ENROL&programId=${org.programId}&identifierName=id`, 8881],
      [`action=ENROL&programId=${org.programId}&promotionId=${org.promotion}&identifierName=phone`, 8013],
    ];
    for (const [query, code] of cases) {
      const res = await submit(t, org.orgId, query, 'identifierValue\n1\n');
      expect(res.status, query).toBe(400);
      expect(res.body.errors[0].code, query).toBe(code);
    }
    const badHeader = await submit(t, org.orgId, base, 'name,source\nx,INSTORE\n');
    expect(badHeader.status).toBe(400);
    const jobs = await t.admin('GET', `/admin/v1/orgs/${org.orgId}/jobs`);
    expect(jobs.body).toEqual({ jobs: [], nextCursor: null });
  });

  it('a dry run predicts every row and writes nothing', async () => {
    rows = mixedRows(org.customerIds, ROWS);
    const query = `action=ENROL&programId=${org.programId}&promotionId=${org.promotion}&identifierName=id&dryRun=true`;
    const before = await counts(org.promotion);
    const res = await submit(t, org.orgId, query, toCsv(rows));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.headers.location).toBe(`/admin/v1/orgs/${org.orgId}/jobs/${res.body.id}`);
    dryRunId = res.body.id;
    const job = await waitFor(t, org.orgId, dryRunId);
    expect(job.status).toBe('succeeded');
    expect(job.dryRun).toBe(true);
    expect(job.rows.total).toBe(ROWS);
    expect(job.rows.processed).toBe(ROWS);
    expect(await counts(org.promotion)).toEqual(before);
  });

  it('each row gets what the same rows sent as 100-customer requests get; the dry run said so', async () => {
    const query = `action=ENROL&programId=${org.programId}&promotionId=${org.promotion}&identifierName=id`;
    const res = await submit(t, org.orgId, query, toCsv(rows));
    expect(res.status).toBe(202);
    const job = await waitFor(t, org.orgId, res.body.id);
    expect(job.status).toBe('succeeded');
    const lines = await results(t, org.orgId, res.body.id);
    expect(lines[0]).toEqual([
      'row',
      'identifierValue',
      'source',
      'entityId',
      'issualId',
      'earnedId',
      'code',
      'message',
    ]);
    expect(lines.length - 1).toBe(ROWS);
    const expected = await viaApi(t, org, org.twin, rows);
    const predicted = await results(t, org.orgId, dryRunId);
    let failed = 0;
    let warnings = 0;
    for (let i = 0; i < ROWS; i++) {
      const line = lines[i + 1] as string[];
      const want = expected[i] as { code: string; issual: boolean; entityId: string };
      expect(line[0]).toBe(String(i + 2));
      expect([line[1], line[3], line[6], line[4] !== ''], `row ${i + 2}`).toEqual([
        (rows[i] as [string, string])[0],
        want.entityId,
        want.code,
        want.issual,
      ]);
      // The dry run predicted the code; ids of enrolments still to be made it cannot know.
      expect((predicted[i + 1] as string[])[6], `dry row ${i + 2}`).toBe(want.code);
      if (want.code !== '' && want.code !== '8890') failed += 1;
      else if (want.code === '8890') warnings += 1;
    }
    expect(new Set(expected.map((e) => e.code))).toEqual(new Set(['', '8890', '8015', '8003', '11013']));
    expect(job.rows).toEqual({ total: ROWS, processed: ROWS, succeeded: ROWS - failed, failed, warnings });
    const failedOnly = await results(t, org.orgId, res.body.id, '?failedOnly=true');
    expect(failedOnly.length - 1).toBe(failed);
  });

  it('undo revokes exactly the enrolments the job made, and deletes nothing', async () => {
    const list = await t.admin('GET', `/admin/v1/orgs/${org.orgId}/jobs?status=succeeded&limit=1`);
    const jobId = list.body.jobs[0].id as string;
    expect(list.body.jobs[0].dryRun).toBe(false);
    // An enrolment made by someone else must survive the undo.
    const other = org.customerIds.find((id) => !rows.some(([v]) => v === String(id)));
    const before = await counts(org.promotion);
    const res = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/jobs/${jobId}/undo`);
    expect(res.status).toBe(202);
    expect(res.body.undoOf).toBe(jobId);
    const undo = await waitFor(t, org.orgId, res.body.id);
    expect(undo.status).toBe('succeeded');
    expect(undo.rows.failed).toBe(0);
    const made = await t.testStore.store.db
      .selectFrom('issuals')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('org_id', '=', org.orgId)
      .where('request_id', '=', `job:${jobId}`)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    expect(Number(made.n)).toBe(0);
    const after = await counts(org.promotion);
    expect(after.issuals).toBe(before.issuals);
    expect(after.active).toBe(0);
    expect(undo.rows.total).toBe(before.active);
    expect(other === undefined || (await counts(org.twin)).active > 0).toBe(true);
  });

  it('cancel stops a job between chunks; what was done stays done', async () => {
    const many = mixedRows(org.customerIds, kind === 'sqlite' ? 50_000 : 5_000);
    const query = `action=ENROL&programId=${org.programId}&promotionId=${org.twin}&identifierName=id&dryRun=true`;
    const res = await submit(t, org.orgId, query, toCsv(many));
    const cancelled = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/jobs/${res.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const job = await waitFor(t, org.orgId, res.body.id);
    expect(job.status).toBe('cancelled');
    expect(job.rows.processed).toBeLessThan(many.length);
    expect(job.rows.processed % 100).toBe(0);
    const lines = await results(t, org.orgId, res.body.id);
    expect(lines.length - 1).toBe(job.rows.processed);
    const again = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/jobs/${res.body.id}/cancel`);
    expect(again.status).toBe(409);
  });
});
