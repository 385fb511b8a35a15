/**
 * The benches' own server: `loyalty serve` in a process of its own on 127.0.0.1, run the way users run
 * it (`node dist/cli.js serve`, built first when stale), and the management calls that seed it.
 * Not through tsx: its loader adds ~15 MB of RSS and compile work a user's server never has.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSecretKey } from '../src/auth/secret-box.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface LocalServer {
  base: string;
  process: ChildProcess;
  /** A management POST answered 201, its body. */
  admin(p: string, body: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** dist/ as current as src/: the same check `npm start` makes (scripts/build-if-stale.mjs). */
export function buildIfStale(): void {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-stale.mjs')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('building dist failed');
}

export async function startLocalServer(
  database: string,
  token: string,
  env: Record<string, string> = {},
): Promise<LocalServer> {
  buildIfStale();
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [
      // Node's own options for the server, e.g. BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"
      // (each thread of the server, webhook delivery's included, writes its own profile).
      ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? []),
      path.join(ROOT, 'dist', 'cli.js'),
      'serve',
    ],
    {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: database,
        LOYALTY_ADMIN_TOKEN: token,
        LOYALTY_DEMO: '0',
        // A key of this run only (the bench's store lives as long as the run): no key file in the checkout.
        LOYALTY_SECRET_KEY: generateSecretKey(),
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  // A bench that fails part-way must not leave its server running (and holding its database).
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.off('exit', orphanGuard));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not yet
    }
    if (i > 600) throw new Error('the server did not start');
    await sleep(100);
  }
  return {
    base,
    process: child,
    async admin(p, body) {
      const res = await fetch(`${base}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/**
 * An org with one program, `customers` customers (registered INSTORE, members of the program, made
 * 10,000 a call) and a WRITE till `bench-till`; answers what the benches drive.
 */
export async function seedBenchOrg(
  server: LocalServer,
  name: string,
  customers: number,
): Promise<{ orgId: number; org: string; programId: number; customerIds: number[]; tillAuth: string }> {
  const { admin } = server;
  const orgId = (await admin('/admin/v1/orgs', { name })).id as number;
  const org = `/admin/v1/orgs/${orgId}`;
  const programId = (await admin(`${org}/programs`, { name: 'Main' })).id as number;
  const customerIds: number[] = [];
  for (let made = 0; made < customers; made += 10_000) {
    const n = Math.min(10_000, customers - made);
    const answer = await admin(`${org}/customers`, {
      customers: Array.from({ length: n }, () => ({ sources: ['INSTORE'], programIds: [programId] })),
    });
    customerIds.push(...answer.customers.map((c: { id: number }) => c.id));
  }
  await admin(`${org}/tills`, {
    username: 'bench-till',
    password: 'bench-till-password',
    customerAccess: 'WRITE',
  });
  const md5 = createHash('md5').update('bench-till-password').digest('hex');
  return {
    orgId,
    org,
    programId,
    customerIds,
    tillAuth: `Basic ${Buffer.from(`bench-till:${md5}`).toString('base64')}`,
  };
}
