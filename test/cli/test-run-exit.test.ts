import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

// `npm test` is what CI trusts: a failed test must end the run with a non-zero status, whatever the
// global setup loaded (a dependency once turned every failed run into exit 0).
it('a run with a failing test exits non-zero, with the PostgreSQL setup in place', () => {
  const name = `exit-probe-${process.pid}.test.ts`;
  const file = path.join(ROOT, 'test', name);
  writeFileSync(file, "import { expect, it } from 'vitest';\nit('fails', () => expect(1).toBe(2));\n");
  try {
    const run = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', name],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, TEST_STORES: 'sqlite,postgres' },
        timeout: 120_000,
      },
    );
    expect(run.stdout + run.stderr).toMatch(/1 failed/);
    expect(run.status).toBe(1);
  } finally {
    rmSync(file, { force: true });
  }
}, 150_000);
