import { Readable } from 'node:stream';
import { beforeAll, expect, it } from 'vitest';
import { type Job, LoyaltyApiError, LoyaltyJobsClient } from '../../src/index.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

/** The typed client of bulk jobs against a real listening server. */
describeEachStore('typed jobs client', { config: { jobPollMs: 20 } }, (t) => {
  let org: StandardOrg;
  let client: LoyaltyJobsClient;
  let baseUrl: string;
  let spec: { action: 'ENROL'; programId: number; promotionId: number; identifierName: 'id' };

  beforeAll(async () => {
    org = await seedStandardOrg(t, 20);
    baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
    client = new LoyaltyJobsClient({ baseUrl, adminToken: ADMIN_TOKEN });
    spec = {
      action: 'ENROL',
      programId: org.programId,
      promotionId: org.promotions.enrolAndIssue,
      identifierName: 'id',
    };
  });

  const csv = () => `identifierValue\n${org.customers.map((c) => c.id).join('\n')}\nnot-a-number\n`;

  it('submits a streamed file, follows the job to its end, and reads its results', async () => {
    const file = Readable.from([Buffer.from(csv())]);
    const job = await client.submit(org.orgId, spec, file);
    expect(job).toMatchObject({ action: 'ENROL', dryRun: false, rows: { total: 21 } });
    const seen: Job[] = [];
    const done = await client.wait(org.orgId, job.id, { intervalMs: 20, onProgress: (j) => seen.push(j) });
    expect(done.status).toBe('succeeded');
    expect(done.rows).toEqual({ total: 21, processed: 21, succeeded: 20, failed: 1, warnings: 0 });
    expect(seen.at(-1)).toEqual(done);

    let text = '';
    for await (const part of client.results(org.orgId, job.id)) text += part;
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toBe('row,identifierValue,source,entityId,issualId,earnedId,code,message');
    expect(lines).toHaveLength(22);
    let failed = '';
    for await (const part of client.results(org.orgId, job.id, { failedOnly: true })) failed += part;
    expect(failed.trim().split('\r\n').slice(1)).toEqual([
      '22,not-a-number,INSTORE,,,,8015,Customer not found for the given identifiers',
    ]);
    const page = await client.list(org.orgId, { status: 'succeeded', limit: 5 });
    expect(page.jobs.map((j) => j.id)).toContain(job.id);
  });

  it('a dry run as text, then undo of the real job, and the errors the server gives', async () => {
    const dry = await client.submit(org.orgId, { ...spec, dryRun: true }, csv());
    expect((await client.wait(org.orgId, dry.id, { intervalMs: 20 })).rows.warnings).toBe(20);
    // Undo a dry run: refused, with the job's 409.
    await expect(client.undo(org.orgId, dry.id)).rejects.toMatchObject({ status: 409, codes: [409] });
    const real = (await client.list(org.orgId, { status: 'succeeded' })).jobs.find((j) => !j.dryRun) as Job;
    const undo = await client.undo(org.orgId, real.id);
    expect(undo.undoOf).toBe(real.id);
    expect((await client.wait(org.orgId, undo.id, { intervalMs: 20 })).rows).toMatchObject({
      total: 20,
      failed: 0,
    });
    // A finished job cannot be cancelled.
    await expect(client.cancel(org.orgId, undo.id)).rejects.toMatchObject({ status: 409 });
    // Whole-request refusals carry the bulk API's codes.
    const refused = client.submit(org.orgId, { ...spec, promotionId: 999_999_999 }, csv());
    await expect(refused).rejects.toBeInstanceOf(LoyaltyApiError);
    await expect(refused).rejects.toMatchObject({ status: 400, codes: [8874] });
    await expect(client.get(org.orgId, '999999999')).rejects.toMatchObject({ status: 404 });
    const wrong = new LoyaltyJobsClient({ baseUrl, adminToken: 'x'.repeat(40) });
    await expect(wrong.get(org.orgId, real.id)).rejects.toMatchObject({ status: 401 });
  });
});
