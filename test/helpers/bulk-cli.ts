import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cleanEnv, createTempPg, freePort, ROOT, type TempPg } from './cli.js';
import type { StoreKind } from './stores.js';

export interface Child {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Children of one test (killed after it), and servers of a suite (killed after the suite). */
const children = new Set<ChildProcess>();
const suiteChildren = new Set<ChildProcess>();

/** Starts `node CLI ARGS`; killed by killChildren (or, with `suite`, killSuiteChildren) if still running. */
export function startCli(
  cli: string,
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv({}),
  suite = false,
): Child {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const set = suite ? suiteChildren : children;
  set.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      set.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `node CLI ARGS` to its end (SIGKILLed after `timeoutMs`). */
export async function runCli(
  cli: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(cli, args);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const { code } = await run.exited;
  clearTimeout(timer);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

function kill(set: Set<ChildProcess>): Promise<unknown> {
  const waits = [...set].map((child) => {
    const done = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGKILL');
    return done;
  });
  return Promise.all(waits);
}

/** Kills what a test started and left running: for afterEach. */
export async function killChildren(): Promise<void> {
  await kill(children);
}

/** Kills the suites' servers too: for afterAll. */
export async function killSuiteChildren(): Promise<void> {
  await kill(children);
  await kill(suiteChildren);
}

/** A `loyalty serve` child over a database of the given kind, and SQL to check what it wrote. */
export interface ServedStore {
  url: string;
  /** Rows of a read-only query against the server's database. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  stop(): Promise<void>;
}

export async function serveStore(
  cli: string,
  kind: StoreKind,
  dir: string,
  adminToken: string,
): Promise<ServedStore> {
  let pg: TempPg | undefined;
  let databaseUrl: string;
  const file = path.join(dir, `bulk-${kind}.db`);
  if (kind === 'postgres') {
    pg = await createTempPg();
    databaseUrl = pg.url;
  } else {
    databaseUrl = `sqlite:${file}`;
  }
  const port = await freePort();
  const served = startCli(
    cli,
    ['serve'],
    cleanEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      LOYALTY_ADMIN_TOKEN: adminToken,
      LOYALTY_DEMO: '0',
      LOG_LEVEL: 'warn',
    }),
    true,
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (served.child.exitCode !== null)
      throw new Error(`serve exited:\n${served.stdout()}\n${served.stderr()}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`serve was not healthy in time:\n${served.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let sqlite: Database.Database | undefined;
  return {
    url,
    query: async <T>(sql: string) => {
      if (pg) return pg.query<T>(sql);
      sqlite ??= new Database(file, { readonly: true });
      return sqlite.prepare(sql).all() as T[];
    },
    stop: async () => {
      sqlite?.close();
      if (served.child.exitCode === null) {
        served.child.kill('SIGTERM');
        await served.exited;
      }
      await pg?.drop();
    },
  };
}
