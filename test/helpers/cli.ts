import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PG_URL, TEST_SECRET_KEY } from './stores.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A TCP port that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const CONFIG_VARS = /^(PORT|HOST|DATABASE_URL|REDIS_URL|LOG_LEVEL|LOYALTY_.*)$/;

/**
 * This process's environment without any of the service's own variables, plus the tests' sealing key
 * (`LOYALTY_SECRET_KEY: ''` in `extra` takes it away), plus `extra`.
 */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!CONFIG_VARS.test(key)) env[key] = value;
  }
  // The PgBouncer run of .ci/run: every server a test starts speaks to the pooler as one must.
  if (process.env.TEST_PG_POOLER) env.LOYALTY_PG_POOLER = process.env.TEST_PG_POOLER;
  return { ...env, LOYALTY_SECRET_KEY: TEST_SECRET_KEY, ...extra };
}

/** Children started by a test (killed after it) and by a suite's beforeAll (killed after the suite). */
const children = new Set<ChildProcess>();
const suiteChildren = new Set<ChildProcess>();

async function kill(set: Set<ChildProcess>): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of set) {
    if (child.exitCode === null && child.signalCode === null) {
      waits.push(new Promise((resolve) => child.once('exit', resolve)));
      child.kill('SIGKILL');
    }
  }
  set.clear();
  await Promise.all(waits);
}

/** Kills (SIGKILL) every child a test started that still runs: for afterEach. */
export function killTestChildren(): Promise<void> {
  return kill(children);
}

/** Kills every child still running, those of suites included: for afterAll. */
export async function killAll(): Promise<void> {
  await kill(children);
  await kill(suiteChildren);
}

export interface Output {
  stdout: string;
  stderr: string;
}

export interface RunResult extends Output {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function track(
  args: string[],
  env: NodeJS.ProcessEnv,
  suite = false,
  cwd = ROOT,
): { child: ChildProcess; output: Output } {
  // A run without LOYALTY_SECRET_KEY makes data/secret.key in `cwd`: such runs pass a temporary one.
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const set = suite ? suiteChildren : children;
  set.add(child);
  child.once('exit', () => set.delete(child));
  const output: Output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  return { child, output };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}

/** Runs `loyalty ARGS` in `cwd` (the checkout by default) to its end (killed after `timeoutMs`). */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  cwd = ROOT,
): Promise<RunResult> {
  const { child, output } = track(args, env, false, cwd);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await exited(child);
  clearTimeout(timer);
  return { code, signal, ...output };
}

/** Waits, checking every 50 ms, until `test` holds; throws with `describe()` after `timeoutMs`. */
export async function waitFor(
  test: () => boolean,
  describe: () => string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Served {
  child: ChildProcess;
  output: Output;
  url: string;
  port: number;
  /** The JSON log lines printed so far. */
  logs(): Record<string, any>[];
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `loyalty serve` on a free port and waits until GET /health answers 200. With `suite`, the
 * process outlives the test that started it (for a beforeAll) and is killed by killAll only.
 */
export async function startServe(
  env: Record<string, string>,
  {
    suite = false,
    timeoutMs = 30_000,
    cwd = ROOT,
  }: { suite?: boolean; timeoutMs?: number; cwd?: string } = {},
): Promise<Served> {
  const port = await freePort();
  const { child, output } = track(
    ['serve'],
    cleanEnv({ HOST: '127.0.0.1', PORT: String(port), ...env }),
    suite,
    cwd,
  );
  const url = `http://127.0.0.1:${port}`;
  const done = exited(child);
  let ended = false;
  done.then(() => {
    ended = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ended) {
      throw new Error(`loyalty serve exited before it was healthy:\n${output.stdout}\n${output.stderr}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`loyalty serve was not healthy in time:\n${output.stdout}\n${output.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    output,
    url,
    port,
    logs: () =>
      output.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line)];
          } catch {
            return [];
          }
        }),
    stop: async (signal = 'SIGTERM') => {
      if (!ended) child.kill(signal);
      return done;
    },
    exited: done,
  };
}

export function md5hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** The Authorization header of a till: Basic base64(username:md5hex(password)). */
export function tillAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${md5hex(password)}`).toString('base64')}`;
}

/** POSTs JSON and answers the status and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed };
}

async function pgAdmin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface TempPg {
  url: string;
  query<T = any>(text: string): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database (no schema), dropped by `drop()`. */
export async function createTempPg(): Promise<TempPg> {
  const name = `lp_cli_${process.pid}_${randomBytes(4).toString('hex')}`;
  await pgAdmin(`create database ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async query<T>(text: string) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(text)).rows as T[];
      } finally {
        await client.end();
      }
    },
    drop: () => pgAdmin(`drop database if exists ${name} with (force)`),
  };
}
