import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanEnv, freePort, ROOT } from './cli.js';

/**
 * `loyalty serve` as a real process, from a private build (so that no other test file's build
 * rewrites the files it loads), for the tests that kill it or take its store away.
 */

export interface PrivateBuild {
  cli: string;
  remove(): void;
}

/** A copy of dist/ (which the global setup built from src/ for this run) in a directory of its own. */
export async function privateBuild(prefix: string): Promise<PrivateBuild> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  writeFileSync(path.join(dir, 'package.json'), '{"type": "module", "version": "0.0.0-test"}\n');
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  return {
    cli: path.join(dir, 'dist', 'cli.js'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** kill -9, and wait until the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s), and wait. */
  stop(): Promise<void>;
}

function gone(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Whether process `pid` holds the socket listening on `port` (Linux's /proc; elsewhere, assumed). A
 * free port picked here may be taken by another test's server before this one listens on it, and
 * that server then answers /health: only our own listening socket says the answer is ours.
 */
function listensOn(pid: number | undefined, port: number): boolean {
  if (!existsSync('/proc/net/tcp') || pid === undefined) return true;
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // Columns: sl, local address, remote address, state (0A: LISTEN), ..., inode (10th).
      if (cols[1]?.endsWith(hex) && cols[3] === '0A' && cols[9]) inodes.add(`socket:[${cols[9]}]`);
    }
  }
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * Starts `loyalty serve` on a free port with `env`, and waits (up to 60 s) until it answers /health
 * itself; on a port another process took meanwhile, starts it again on another.
 */
export async function startServerProcess(cli: string, env: Record<string, string>): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(cli, env);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 3) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startOnFreePort(cli: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [cli, 'serve'], {
    cwd: path.dirname(path.dirname(cli)),
    env: cleanEnv({ HOST: '127.0.0.1', PORT: String(port), LOYALTY_DEMO: '0', LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: string) => {
    output = (output + chunk).slice(-200_000);
  };
  child.stdout?.setEncoding('utf8').on('data', append);
  child.stderr?.setEncoding('utf8').on('data', append);
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    child,
    url,
    output: () => output,
    kill9: async () => {
      const exited = gone(child);
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      const exited = gone(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (output.includes('EADDRINUSE')) throw new PortTaken(`port ${port} was taken`);
      throw new Error(`loyalty serve exited before it was healthy:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/health`)).status === 200 && listensOn(child.pid, port)) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.kill9();
      throw new Error(`loyalty serve was not healthy in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Record<string, string>;
}

/** One HTTP call; the body is parsed when it is JSON. Network errors are thrown. */
export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed, text, headers: Object.fromEntries(res.headers) };
}

export function tillHeader(username: string, password: string): string {
  const md5 = createHash('md5').update(password).digest('hex');
  return `Basic ${Buffer.from(`${username}:${md5}`).toString('base64')}`;
}

export interface LoadOrg {
  orgId: number;
  programId: number;
  enrolAndIssue: number;
  direct: number;
  customerIds: number[];
  auth: string;
}

/** An org with an enrol-and-issue and a direct promotion (no earn limits), customers and a till. */
export async function seedLoadOrg(url: string, adminToken: string, customers: number): Promise<LoadOrg> {
  const admin = async (p: string, body: unknown) => {
    const res = await call(`${url}${p}`, 'POST', body, { authorization: `Bearer ${adminToken}` });
    if (res.status !== 201) throw new Error(`POST ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
    return res.body;
  };
  const orgId = (await admin('/admin/v1/orgs', { name: `Load ${process.pid} ${Date.now()}` })).id as number;
  const base = `/admin/v1/orgs/${orgId}`;
  const programId = (await admin(`${base}/programs`, { name: 'Main' })).id as number;
  const promo = async (type: string) =>
    (await admin(`${base}/promotions`, { programId, name: type, type, maxEarnsPerCustomer: null }))
      .id as number;
  const enrolAndIssue = await promo('ENROL_AND_ISSUE');
  const direct = await promo('DIRECT');
  const made = await admin(`${base}/customers`, {
    customers: Array.from({ length: customers }, () => ({ sources: ['INSTORE'], programIds: [programId] })),
  });
  const username = `load-till-${orgId}`;
  await admin(`${base}/tills`, { username, password: 'load-till-password', customerAccess: 'WRITE' });
  return {
    orgId,
    programId,
    enrolAndIssue,
    direct,
    customerIds: made.customers.map((c: { id: number }) => c.id),
    auth: tillHeader(username, 'load-till-password'),
  };
}

export function bulkBody(action: string, programId: number, promotionId: number, ids: number[]) {
  return {
    type: 'CUSTOMER',
    bulkAction: action,
    promotionDetails: { programId, promotionId },
    identifierName: 'id',
    customers: ids.map((id) => ({ identifierValue: String(id), source: 'INSTORE' })),
  };
}

/** What the clients were told: every issualId and earnedId, with the customer and promotion. */
export interface Received {
  issuals: Map<string, { customer: number; promotion: number }>;
  earns: Map<string, { customer: number; promotion: number; issual: string }>;
}

export function newReceived(): Received {
  return { issuals: new Map(), earns: new Map() };
}

/** Records the ids of a bulk answer's success items. */
export function record(received: Received, promotion: number, body: any): void {
  for (const item of body?.response ?? []) {
    const r = item.result;
    if (!r) continue;
    if (r.issualId !== undefined) received.issuals.set(r.issualId, { customer: r.entityId, promotion });
    if (r.earnedId !== undefined) {
      received.earns.set(r.earnedId, { customer: r.entityId, promotion, issual: r.issualId });
    }
  }
}

/** Customers `start..start+count` of `ids`, wrapping around. */
export function slice(ids: number[], start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => ids[(start + i) % ids.length] as number);
}
