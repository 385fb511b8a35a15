import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './cli.js';

/**
 * A PostgreSQL cluster of a test's own, in a temporary directory, on a free port of 127.0.0.1, so
 * that a test may stop and start it without touching the shared server other test files use.
 */

const BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

export interface PrivatePg {
  url: string;
  port: number;
  /** pg_ctl stop (fast: sessions are ended, transactions rolled back), waiting until it is down. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** pg_ctl start, waiting until it takes connections. */
  start(): Promise<void>;
  /** Stops the cluster if it runs and removes its directory. */
  destroy(): Promise<void>;
}

/** initdb refuses root: as root, the cluster's commands run as the postgres user. */
export async function asOwner(command: string, args: string[]): Promise<void> {
  const file = path.join(BIN, command);
  if (userInfo().uid === 0) {
    await run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 60_000 });
  } else {
    await run(file, args, { timeout: 60_000 });
  }
}

export async function createPrivatePg(): Promise<PrivatePg> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lp-pg-'));
  const data = path.join(dir, 'data');
  if (userInfo().uid === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  let running = false;
  const pg: PrivatePg = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async (mode = 'fast') => {
      await asOwner('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    start: async () => {
      await asOwner('pg_ctl', [
        '-D',
        data,
        '-o',
        options,
        '-l',
        path.join(dir, 'log'),
        '-w',
        '-t',
        '60',
        'start',
      ]);
      running = true;
    },
    destroy: async () => {
      if (running) await pg.stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await asOwner('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    await pg.start();
  } catch (err) {
    await pg.destroy();
    throw err;
  }
  return pg;
}
