import cluster from 'node:cluster';
import v8 from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { md5Hex } from './admin/credential-admin.service.js';
import { loadFixture } from './admin/fixture.service.js';
import { createManagement } from './admin/management.js';
import { type AppDeps, buildApp } from './app.js';
import { checkSealedSecrets, requireSecretBox, resolveSecretKey } from './auth/secret-keys.service.js';
import { systemClock } from './clock.js';
import { adminTokenTooShort, type Config, ConfigError, MIN_ADMIN_TOKEN_BYTES } from './config.js';
import { SEQUENCE_WARNING } from './contract/common.contract.js';
import { createStore, dialectFor, type Store } from './db/database.js';
import { describeSequencesPast, sequencesPast } from './db/id-sequences.js';
import { migrateToLatest } from './db/migrator.js';
import { DEMO_CLIENT, DEMO_FIXTURE, DEMO_TILL } from './demo/demo-data.js';

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  url: string;
  /** Stops taking connections, lets requests in flight finish, then closes the store. */
  close(): Promise<void>;
}

/** Loads the demo org into an empty embedded database; true when it did. */
async function loadDemo(config: Config, store: Store): Promise<boolean> {
  if (!config.demo || !store.dialect.embedded) return false;
  const management = createManagement(store, systemClock);
  if (!(await management.records.isEmpty())) return false;
  await loadFixture(management, DEMO_FIXTURE);
  return true;
}

/** Migrates the store, loads the demo data where it belongs, and listens. */
export async function startServer(
  given: Config,
  /** The bench's run without authentication only (see AppDeps.unauthenticatedActor). */
  extra: Pick<AppDeps, 'unauthenticatedActor'> = {},
): Promise<RunningServer> {
  let log: ((err: Error) => void) | undefined;
  // Before the store is touched: without its key a server cannot read what it keeps sealed. The
  // warning about a new key file waits for the logger.
  const warnings: string[] = [];
  const config = await resolveSecretKey(given, (message) => warnings.push(message));
  const secrets = requireSecretBox(config);
  const store = createStore(config.store, {
    onIdleError: (err) => log?.(err),
    sqliteCheckpointThread: true,
    sqliteSyncOffThread: true,
  });
  try {
    await migrateToLatest(store.db, { secrets });
    const sealed = await checkSealedSecrets(store, secrets);
    const demo = await loadDemo(config, store);
    const app = await buildApp(config, { ...extra, store });
    log = (err) =>
      app.log.warn(
        { err },
        config.store.kind === 'postgres'
          ? 'an idle store connection failed; the pool replaces it'
          : 'the WAL checkpoint thread failed; commits checkpoint for themselves again',
      );
    for (const warning of warnings) app.log.warn(warning);
    if (adminTokenTooShort(config)) {
      app.log.warn(
        `LOYALTY_ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_BYTES} bytes, so the management API stays off ` +
          '(every /admin call answers 401); make one with: openssl rand -hex 32',
      );
    }
    if (config.store.kind === 'postgres' && !store.listen) {
      app.log.warn(
        'LOYALTY_PG_POOLER=transaction without LOYALTY_PG_LISTEN_URL: a credential changed by another ' +
          'process is honoured here only after LOYALTY_CREDENTIAL_CACHE_MS; give LISTEN a direct URL',
      );
    }
    const past = await sequencesPast(store.db, store.dialect, SEQUENCE_WARNING);
    if (past.length > 0) app.log.error(describeSequencesPast(past));
    if (sealed.previous > 0) {
      app.log.warn(
        `${sealed.previous} secret(s) are still sealed with LOYALTY_SECRET_KEY_PREVIOUS ` +
          `(${secrets.previousKeyId}): run loyalty secret rotate, then drop LOYALTY_SECRET_KEY_PREVIOUS`,
      );
    }
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    if (demo) {
      const auth = `${DEMO_TILL.username}:${md5Hex(DEMO_TILL.password)}`;
      app.log.warn(
        `Demo data loaded with PUBLIC credentials (till ${DEMO_TILL.username} / ${DEMO_TILL.password}, ` +
          `API client ${DEMO_CLIENT.key} / ${DEMO_CLIENT.secret}). Never put real customers in this database; ` +
          `set LOYALTY_DEMO=0 to start empty. Try: curl -u "${auth}" -H 'content-type: application/json' ` +
          `${url}/v2/promotion/bulk/enrolAndEarn -d '{"type":"CUSTOMER","bulkAction":"ENROL",` +
          `"promotionDetails":{"programId":469,"promotionId":57099},"identifierName":"id",` +
          `"customers":[{"identifierValue":"555567088","source":"INSTORE"}]}' (see README.md)`,
      );
    }
    let closing: Promise<void> | undefined;
    return {
      app,
      store,
      url,
      close: () => {
        closing ??= app.close().then(() => store.destroy());
        return closing;
      },
    };
  } catch (err) {
    // A key file made by a start that failed (a store sealed with another key, say) is still news.
    if (!log) for (const warning of warnings) console.error(`warning: ${warning}`);
    await store.destroy();
    throw err;
  }
}

/**
 * The old generation may grow only 20% past what the last full GC kept (V8's own factor goes up to
 * 4x when allocation is fast). A 10,000-customer import or a job's chunks outlive a few scavenges, so
 * their garbage lands in the old generation; with V8's factor it piled up to 100+ MB before a full GC
 * collected it, and V8 keeps the pages it grew to. Live data stays ~30 MB, so a full GC is cheap and
 * mostly concurrent: measured, seeding 200,000 customers peaked at 167 MiB RSS instead of 233, in the
 * same time (docs/performance.md). Set here, where `loyalty serve` starts (in each worker too, which
 * runs this same function): the flag is read at each GC, so setting it at run time works, unlike the
 * young generation's size. The bench's no-auth entry calls it too;
 * tests and embedders keep V8's defaults.
 */
export function boundHeapGrowth(): void {
  v8.setFlagsFromString('--heap-growing-percent=20');
}

/** Runs until SIGTERM or SIGINT, then drains requests in flight and exits 0. */
/**
 * `loyalty serve --workers N`: N server processes sharing the port (node:cluster), for PostgreSQL,
 * where one Node process is the limit before the store is. The primary migrates once, then forks;
 * SIGTERM to the primary drains every worker, and it exits 0 when they all have.
 */
export async function serveWorkers(config: Config, workers: number): Promise<void> {
  boundHeapGrowth();
  if (workers <= 1) return serve(config);
  if (!dialectFor(config.store.kind).sharedByProcesses) {
    throw new ConfigError([
      '--workers needs PostgreSQL: SQLite has one writer, so more processes only wait on it',
    ]);
  }
  if (!cluster.isPrimary) return serve(config);
  // The key file is made here, before the fork: every worker then reads the same one.
  const keyed = await resolveSecretKey(config, (message) => console.error(`warning: ${message}`));
  const secrets = requireSecretBox(keyed);
  const store = createStore(config.store);
  try {
    await migrateToLatest(store.db, { secrets });
    await checkSealedSecrets(store, secrets);
  } finally {
    await store.destroy();
  }
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      // A worker that died unasked is replaced, so the server keeps its size.
      console.error(`worker ${worker.process.pid} exited with ${code}; starting another`);
      cluster.fork();
    } else if (Object.keys(cluster.workers ?? {}).length === 0) {
      process.exit(0);
    }
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

export async function serve(config: Config): Promise<void> {
  const server = await startServer(config);
  const stop = (signal: string) => {
    server.app.log.info({ signal }, 'shutting down: draining requests in flight');
    server.close().then(
      () => process.exit(0),
      (err) => {
        server.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
