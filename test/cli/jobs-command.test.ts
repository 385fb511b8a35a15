import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanEnv, ROOT } from '../helpers/cli.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

const run = promisify(execFile);

/** `loyalty jobs …` as a user runs it, against a real listening server. */
describeEachStore('loyalty jobs', { config: { jobPollMs: 20 }, timeout: 300_000 }, (t) => {
  let org: StandardOrg;
  let base: string;
  let dir: string;

  /** The command's exit code, stdout and stderr (a non-zero exit is an answer, not a failure). */
  async function loyalty(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'jobs', ...args],
        { env: cleanEnv({ LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN }), cwd: ROOT },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  beforeAll(async () => {
    org = await seedStandardOrg(t, 30);
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(path.join(tmpdir(), 'loyalty-jobs-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('submit --wait shows progress, prints the finished job; results and undo follow', async () => {
    const csv = path.join(dir, 'customers.csv');
    await writeFile(
      csv,
      `identifierValue,source\n${org.customers.map((c) => `${c.id},INSTORE`).join('\n')}\n42,NOPE\n`,
    );
    const org_ = ['--org', String(org.orgId), '--url', base];
    const submitted = await loyalty(
      'submit',
      'enrol',
      ...org_,
      '--csv',
      csv,
      '--program',
      String(org.programId),
      '--promotion',
      String(org.promotions.enrolAndIssue),
      '--identifier',
      'id',
      '--wait',
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(job).toMatchObject({
      status: 'succeeded',
      action: 'ENROL',
      rows: { total: 31, processed: 31, failed: 1 },
    });
    // Not a terminal: plain progress lines, the last one at the end.
    expect(submitted.stderr).toContain('progress: 31/31 rows 100%');

    const out = path.join(dir, 'failed.csv');
    const results = await loyalty('results', ...org_, '--job', job.id, '--failed-only', '--out', out);
    expect(results.code, results.stderr).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\r\n')).toEqual([
      'row,identifierValue,source,entityId,issualId,earnedId,code,message',
      '32,42,NOPE,,,,8003,Invalid source',
    ]);

    const undo = await loyalty('undo', ...org_, '--job', job.id, '--wait');
    expect(undo.code, undo.stderr).toBe(0);
    expect(JSON.parse(undo.stdout)).toMatchObject({
      undoOf: job.id,
      status: 'succeeded',
      rows: { total: 30 },
    });
    const status = await loyalty('status', ...org_, '--job', job.id);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: job.id, status: 'succeeded' });

    // A finished job cannot be cancelled: the server's refusal, exit 1.
    const cancel = await loyalty('cancel', ...org_, '--job', job.id);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('409');
    // A usage error names itself and exits 64, before any call.
    const usage = await loyalty(
      'submit',
      'enrol',
      ...org_,
      '--csv',
      csv,
      '--program',
      '1',
      '--identifier',
      'id',
    );
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain('--promotion ID or --promo-identifier X');
  });
});
