#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { loadFixture } from './admin/fixture.service.js';
import { createManagement } from './admin/management.js';
import { runSecretCommand, SECRET_USAGE, SecretUsageError } from './auth/secret.command.js';
import { SecretKeyError } from './auth/secret-box.js';
import { requireSecretBox, resolveSecretKey } from './auth/secret-keys.service.js';
import { runBulkCommand } from './bulk/bulk.command.js';
import { systemClock } from './clock.js';
import { ConfigError, describeConfig, loadConfig } from './config.js';
import { runUsersCommand, USERS_USAGE, UsersUsageError } from './console-auth/users.command.js';
import { SEQUENCE_WARNING } from './contract/common.contract.js';
import { createStore } from './db/database.js';
import { describeSequencesPast, sequencesPast } from './db/id-sequences.js';
import { migrateToLatest } from './db/migrator.js';
import { AppError } from './errors.js';
import { EventsUsageError, runEventsCommand } from './events/events.command.js';
import { JobsUsageError, runJobsCommand } from './jobs/jobs.command.js';
import { serveWorkers } from './server.js';
import { packageVersion } from './version.js';

const USAGE = `Usage: loyalty <command>

Commands:
  serve        start the HTTP server (PORT, HOST, DATABASE_URL, LOYALTY_ADMIN_TOKEN, LOYALTY_DEMO,
               LOYALTY_SECRET_KEY: without it, the key in data/secret.key, made on first start);
               --workers N runs N processes on the same port (PostgreSQL only)
  migrate      bring the database named by DATABASE_URL to the current schema
  seed FILE    load a fixture file of orgs, programs, promotions, customers, tills and API clients
  bulk ACTION  enrol, earn, revoke-enrol or revoke-earn the customers of a CSV file through the API
               of a running server (loyalty bulk --help for its options)
  events tail  print an org's events as JSON lines and follow the feed (loyalty events --help)
  jobs CMD     submit, status, results, cancel or undo a bulk job run inside a server
               (loyalty jobs --help)
  secret ACTION  generate prints a new LOYALTY_SECRET_KEY; rotate seals the store's secrets again with
               it (loyalty secret --help)
  users        console users: add, list, disable, enable, password (loyalty users help)
  config       print the effective configuration, secrets masked, and exit (non-zero if it is invalid)
  version      print the package's version (also --version, -v)
  help         show this text
`;

const warn = (message: string) => console.error(`warning: ${message}`);

async function migrate(): Promise<void> {
  const config = await resolveSecretKey(loadConfig(), warn);
  const store = createStore(config.store);
  try {
    const applied = await migrateToLatest(store.db, { secrets: requireSecretBox(config) });
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'schema is current');
    const past = await sequencesPast(store.db, store.dialect, SEQUENCE_WARNING);
    if (past.length > 0) console.error(`warning: ${describeSequencesPast(past)}`);
  } finally {
    await store.destroy();
  }
}

async function seed(file: string | undefined): Promise<void> {
  if (!file) throw new UsageError('seed needs a FILE');
  const config = await resolveSecretKey(loadConfig(), warn);
  let fixture: unknown;
  try {
    fixture = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const store = createStore(config.store);
  try {
    await migrateToLatest(store.db, { secrets: requireSecretBox(config) });
    const summary = await loadFixture(createManagement(store, systemClock), fixture);
    console.log(
      `loaded ${summary.orgs} org(s), ${summary.programs} program(s), ${summary.promotions} promotion(s), ` +
        `${summary.customers} customer(s), ${summary.tills} till(s), ${summary.apiClients} API client(s)`,
    );
  } finally {
    await store.destroy();
  }
}

/** Ctrl-C (or SIGTERM) stops a bulk run where it stands, for --resume; a second one exits at once. */
async function bulk(args: string[]): Promise<void> {
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runBulkCommand(args, {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: interrupt.signal,
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = code;
}

class UsageError extends Error {}

/** `loyalty events tail`: follows the feed until Ctrl-C (or SIGTERM), then prints its cursor. */
async function events(args: string[]): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = await runEventsCommand(args, loadConfig(), {
      stdout: process.stdout,
      stderr: process.stderr,
      signal: stop.signal,
    });
  } catch (err) {
    if (err instanceof EventsUsageError) {
      console.error(`loyalty: ${err.message}`);
      process.exit(64);
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `loyalty jobs …`: talks to a running server through the typed client. */
async function jobs(args: string[]): Promise<void> {
  try {
    process.exitCode = await runJobsCommand(args, loadConfig(), {
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } catch (err) {
    if (!(err instanceof JobsUsageError)) throw err;
    console.error(`loyalty: ${err.message}`);
    process.exit(64);
  }
}

function workersOption(args: string[]): number {
  if (args.length === 0) return 1;
  const [flag, value, ...extra] = args;
  const n = Number(value);
  if (flag !== '--workers' || extra.length > 0 || !Number.isInteger(n) || n < 1 || n > 64) {
    throw new UsageError('serve takes only --workers N, with N from 1 to 64');
  }
  return n;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveWorkers(loadConfig(), workersOption(rest));
    case 'migrate':
      return migrate();
    case 'seed':
      return seed(rest[0]);
    case 'bulk':
      return bulk(rest);
    case 'events':
      return events(rest);
    case 'jobs':
      return jobs(rest);
    case 'secret':
      if (rest[0] === '--help' || rest[0] === 'help') {
        console.log(SECRET_USAGE);
        return;
      }
      return runSecretCommand(rest, () => resolveSecretKey(loadConfig(), warn), {
        stdout: process.stdout,
        stderr: process.stderr,
      });
    case 'users':
      if (rest[0] === undefined || rest[0] === 'help') {
        console.log(USERS_USAGE);
        return;
      }
      return runUsersCommand(rest, await resolveSecretKey(loadConfig(), warn), {
        stdin: process.stdin,
        stdout: process.stdout,
      });
    case 'config':
      console.log(JSON.stringify(describeConfig(loadConfig()), null, 2));
      return;
    case 'version':
    case '--version':
    case '-v':
      console.log(packageVersion());
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsersUsageError) {
    console.error(`loyalty: ${err.message}\n\n${USERS_USAGE}`);
    process.exit(64);
  }
  if (err instanceof UsageError) {
    console.error(`loyalty: ${err.message}\n\n${USAGE}`);
    process.exit(64);
  }
  if (err instanceof SecretUsageError) {
    console.error(`loyalty: ${err.message}\n\n${SECRET_USAGE}`);
    process.exit(64);
  }
  // A missing or wrong LOYALTY_SECRET_KEY, from start-up's check or from a migration: the message says it all.
  const keyError = err instanceof SecretKeyError ? err : (err as { cause?: unknown } | null)?.cause;
  if (keyError instanceof SecretKeyError) {
    console.error(`loyalty: ${keyError.message}`);
    process.exit(78);
  }
  if (err instanceof ConfigError || err instanceof AppError) {
    console.error(`loyalty: ${err.message}`);
    process.exit(err instanceof ConfigError ? 78 : 65);
  }
  console.error('loyalty: failed:', err);
  process.exit(1);
});
