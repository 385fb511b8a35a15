import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

// `npm test` is what CI trusts: its status must be the tests' own, whatever the global setup loaded.
// A dependency of the throwaway PostgreSQL once turned every failed run into exit 0, and then every
// passed run into exit 1; both paths of the setup are run: the machine's server, and a throwaway one.
const SETUPS = {
  "the machine's PostgreSQL": { TEST_STORES: 'sqlite,postgres' },
  'a throwaway PostgreSQL': {
    TEST_STORES: 'sqlite,postgres',
    TEST_DATABASE_URL: undefined,
    // A port nothing listens on, so the setup starts its own server.
    TEST_PROBE_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
  },
} as const;

function runProbe(body: string, env: Record<string, string | undefined>) {
  const name = `exit-probe-${process.pid}.test.ts`;
  const file = path.join(ROOT, 'test', name);
  writeFileSync(file, `import { describe, expect, it } from 'vitest';\nit('probe', () => ${body});\n`);
  try {
    return spawnSync(process.execPath, [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', name], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
  } finally {
    rmSync(file, { force: true });
  }
}

describe.each(Object.entries(SETUPS))('npm test with %s', (setup, env) => {
  it('a run with a failing test exits 1', () => {
    const run = runProbe('expect(1).toBe(2)', env);
    expect(run.stdout + run.stderr).toMatch(/1 failed/);
    if (setup.startsWith('a throwaway')) expect(run.stdout).toMatch(/starting a throwaway one/);
    expect(run.status).toBe(1);
  }, 150_000);

  it('a run whose tests all pass exits 0', () => {
    const run = runProbe('expect(1).toBe(1)', env);
    expect(run.stdout + run.stderr).toMatch(/1 passed/);
    if (setup.startsWith('a throwaway')) expect(run.stdout).toMatch(/starting a throwaway one/);
    expect(`${run.status} ${run.stderr}`).toBe('0 ');
  }, 150_000);
});
