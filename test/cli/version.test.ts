import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, runCli } from '../helpers/cli.js';

const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('loyalty --version', () => {
  for (const args of [['--version'], ['-v'], ['version']]) {
    it(`loyalty ${args.join(' ')} prints the package's version alone and exits 0`, async () => {
      const run = await runCli(args, cleanEnv({}));
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${version}\n`);
      expect(run.stderr).toBe('');
    });
  }

  it('the usage names the version command', async () => {
    const run = await runCli(['help'], cleanEnv({}));
    expect(run.stdout).toMatch(/^\s+version\s.*--version, -v/m);
  });
});
