#!/usr/bin/env node
// Runs `npm run build` only when dist/ is older than what it is built from, so that `npm start` on a
// current checkout answers at once instead of waiting for tsc (half a minute on a busy machine).
// tsc rewrites every output on each build, so each src/**/*.ts is compared with its own dist/*.js: a
// source file without output, or newer than it, means a build; so does a tsconfig.json or package.json
// newer than the oldest output. Outputs of deleted sources are ignored (tsc never removes them).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const CONFIG_FILES = ['tsconfig.json', 'package.json'];

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Why dist/ must be built again, or null when it is current. */
function staleness() {
  const sources = readdirSync(path.join(root, 'src'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  let oldestOutput = Number.POSITIVE_INFINITY;
  for (const source of sources) {
    const output = path.join(root, 'dist', source.replace(/\.ts$/, '.js'));
    const built = mtime(output);
    if (built === undefined) return `dist has no ${path.relative(root, output)}`;
    if ((mtime(path.join(root, 'src', source)) ?? 0) > built) return `src/${source} changed`;
    oldestOutput = Math.min(oldestOutput, built);
  }
  for (const file of CONFIG_FILES) {
    if ((mtime(path.join(root, file)) ?? 0) > oldestOutput) return `${file} changed`;
  }
  return null;
}

/** Why dist/console (the console's page, built by vite) must be built again, or null. */
function consoleStaleness() {
  const page = mtime(path.join(root, 'dist', 'console', 'index.html'));
  if (page === undefined) return 'dist has no console/index.html';
  const sources = readdirSync(path.join(root, 'console'), { recursive: true }).map(String);
  for (const source of sources) {
    if ((mtime(path.join(root, 'console', source)) ?? 0) > page) return `console/${source} changed`;
  }
  return null;
}

const reason = staleness() ?? consoleStaleness();
if (reason !== null) {
  console.error(`building dist: ${reason}`);
  const result = spawnSync('npm', ['run', 'build'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
    // Called from the tests, NODE_ENV is "test": the console must still be the production build
    // (Preact's development checks add a third to the page).
    env: { ...process.env, NODE_ENV: 'production' },
  });
  process.exit(result.status ?? 1);
}
