import path from 'node:path';
import { decodeSecretKey, generateSecretKey, keyIdOf } from './auth/secret-box.js';
import {
  type Config,
  ConfigError,
  DAY_MS,
  DEFAULT_EVENTS_CONFIG,
  DEFAULT_IMPORT_MAX_BYTES,
  type EventsConfig,
  JOB_UPLOAD_LIMIT,
  MIN_ADMIN_TOKEN_BYTES,
  type StoreConfig,
} from './config.model.js';

export * from './config.model.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DEFAULT_SQLITE_FILE = path.join('data', 'loyalty.db');
/** Beside the default SQLite file: one folder to back up, the key apart from the store's copies. */
export const DEFAULT_SECRET_KEY_FILE = path.join('data', 'secret.key');

/** Parses `DATABASE_URL` into a store; `undefined` means the default embedded file. */
export function parseDatabaseUrl(url: string | undefined, poolSize = 10): StoreConfig {
  if (url === undefined || url === '') return { kind: 'sqlite', filename: DEFAULT_SQLITE_FILE };
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename === '') throw new ConfigError(['DATABASE_URL: sqlite: needs a path or :memory:']);
    return { kind: 'sqlite', filename };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { kind: 'postgres', connectionString: url, poolSize };
  }
  throw new ConfigError([
    `DATABASE_URL must start with sqlite: or postgres:// (got "${url.replace(/\/\/.*@/, '//***@')}")`,
  ]);
}

function intVar(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

/**
 * Reads and validates the environment once. Every bad variable is reported together, so an operator
 * fixes them in one go. This is the only place in the code base that reads `process.env`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number) =>
    intVar(env, name, fallback, min, max, problems);
  const port = int('PORT', 3000, 0, 65535);
  const poolSize = int('LOYALTY_PG_POOL_SIZE', 10, 1, 1000);
  const bodyLimit = int('LOYALTY_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024);
  const credentialCacheMs = int('LOYALTY_CREDENTIAL_CACHE_MS', 30_000, 0, 3_600_000);
  const rateLimitPerMinute = int('LOYALTY_RATE_LIMIT_PER_MINUTE', 0, 0, 10_000_000);
  const maxConnectionsPerAddress = int('LOYALTY_MAX_CONNECTIONS_PER_ADDRESS', 256, 1, 100_000);
  const maxTokenTtlSeconds = int('LOYALTY_MAX_TOKEN_TTL_SECONDS', 3600, 60, 30 * 86_400);
  const jwtSecret = env.LOYALTY_JWT_SECRET === '' ? undefined : env.LOYALTY_JWT_SECRET;
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl))
    problems.push('REDIS_URL must start with redis:// or rediss://');
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    problems.push('LOYALTY_JWT_SECRET must be at least 32 bytes long');
  }

  let store: StoreConfig = { kind: 'sqlite', filename: DEFAULT_SQLITE_FILE };
  try {
    store = parseDatabaseUrl(env.DATABASE_URL, poolSize);
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
  }

  const demoRaw = env.LOYALTY_DEMO ?? '1';
  if (!['0', '1', 'true', 'false'].includes(demoRaw)) {
    problems.push(`LOYALTY_DEMO must be 0 or 1 (got "${demoRaw}")`);
  }

  const metricsRaw =
    env.LOYALTY_METRICS === undefined || env.LOYALTY_METRICS === '' ? '1' : env.LOYALTY_METRICS;
  if (!['0', '1', 'true', 'false'].includes(metricsRaw)) {
    problems.push(`LOYALTY_METRICS must be 0 or 1 (got "${metricsRaw}")`);
  }

  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }

  const adminToken = env.LOYALTY_ADMIN_TOKEN === '' ? undefined : env.LOYALTY_ADMIN_TOKEN;
  const secretKey = secretKeyVar(env, 'LOYALTY_SECRET_KEY', problems);
  const previousSecretKey = secretKeyVar(env, 'LOYALTY_SECRET_KEY_PREVIOUS', problems);
  // Resolved now, so that a worker forked later, or a process started elsewhere, names the same file.
  const secretKeyFile =
    secretKey === undefined
      ? path.resolve(env.LOYALTY_SECRET_KEY_FILE || DEFAULT_SECRET_KEY_FILE)
      : undefined;
  const events = eventsConfig(env, problems);
  const jobUploadLimitBytes = int('LOYALTY_JOB_UPLOAD_LIMIT_BYTES', JOB_UPLOAD_LIMIT, 1024, 2 ** 40);
  const jobPollMs = int('LOYALTY_JOB_POLL_MS', 1000, 10, 3_600_000);
  const jobLeaseMs = int('LOYALTY_JOB_LEASE_MS', 60_000, 1000, 3_600_000);

  const importRaw = env.LOYALTY_IMPORT_MAX_BYTES ?? '';
  const importMaxBytes = importRaw === '' ? DEFAULT_IMPORT_MAX_BYTES : Number(importRaw);
  if (!Number.isSafeInteger(importMaxBytes) || importMaxBytes < 1) {
    problems.push(`LOYALTY_IMPORT_MAX_BYTES must be a positive integer (got "${importRaw}")`);
  }
  const consoleIdleMinutes = intVar(env, 'LOYALTY_CONSOLE_IDLE_MINUTES', 30, 1, 24 * 60, problems);
  const consoleSessionHours = intVar(env, 'LOYALTY_CONSOLE_SESSION_HOURS', 12, 1, 24 * 30, problems);
  const consoleMaxFailedSignIns = intVar(env, 'LOYALTY_CONSOLE_MAX_FAILED_SIGN_INS', 5, 1, 1000, problems);
  const trustProxy = flag(env, 'LOYALTY_TRUST_PROXY', false, problems);
  store = withPoolerSettings(store, env, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host: env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST,
    store: Object.freeze(store),
    adminToken,
    demo: demoRaw === '1' || demoRaw === 'true',
    logLevel,
    bodyLimit,
    credentialCacheMs,
    jwtSecret,
    rateLimitPerMinute,
    redisUrl,
    metrics: metricsRaw === '1' || metricsRaw === 'true',
    events,
    maxTokenTtlSeconds,
    maxConnectionsPerAddress,
    importMaxBytes,
    jobUploadLimitBytes,
    jobPollMs,
    jobLeaseMs,
    secretKey,
    previousSecretKey,
    secretKeyFile,
    consoleIdleMinutes,
    consoleSessionHours,
    consoleMaxFailedSignIns,
    trustProxy,
  });
}

function secretKeyVar(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  // Never echo the value: a key pasted in the wrong variable is still a key.
  if (!decodeSecretKey(raw)) {
    problems.push(
      `${name} must be 32 bytes in base64 (43 or 44 characters); make one with: loyalty secret generate`,
    );
  }
  return raw;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!['0', '1', 'true', 'false'].includes(raw)) problems.push(`${name} must be 0 or 1 (got "${raw}")`);
  return raw === '1' || raw === 'true';
}

function eventsConfig(env: NodeJS.ProcessEnv, problems: string[]): EventsConfig {
  const d = DEFAULT_EVENTS_CONFIG;
  const timeoutMs = intVar(env, 'LOYALTY_WEBHOOK_TIMEOUT_MS', d.timeoutMs, 100, 600_000, problems);
  const leaseMs = intVar(env, 'LOYALTY_WEBHOOK_LEASE_MS', d.leaseMs, 1_000, 3_600_000, problems);
  if (leaseMs <= timeoutMs) {
    problems.push('LOYALTY_WEBHOOK_LEASE_MS must be longer than LOYALTY_WEBHOOK_TIMEOUT_MS');
  }
  return Object.freeze({
    deliver: flag(env, 'LOYALTY_WEBHOOK_DELIVERY', d.deliver, problems),
    thread: flag(env, 'LOYALTY_WEBHOOK_THREAD', d.thread, problems),
    allowPrivate: flag(env, 'LOYALTY_WEBHOOK_ALLOW_PRIVATE', d.allowPrivate, problems),
    timeoutMs,
    retryBaseMs: intVar(env, 'LOYALTY_WEBHOOK_RETRY_BASE_MS', d.retryBaseMs, 10, 3_600_000, problems),
    retryForMs:
      intVar(env, 'LOYALTY_WEBHOOK_RETRY_FOR_SECONDS', d.retryForMs / 1000, 1, 90 * 86_400, problems) * 1000,
    leaseMs,
    concurrency: intVar(env, 'LOYALTY_WEBHOOK_CONCURRENCY', d.concurrency, 1, 256, problems),
    pipelining: intVar(env, 'LOYALTY_WEBHOOK_PIPELINING', d.pipelining, 1, 16, problems),
    pollMs: intVar(env, 'LOYALTY_WEBHOOK_POLL_MS', d.pollMs, 10, 60_000, problems),
    retentionMs:
      intVar(env, 'LOYALTY_EVENT_RETENTION_DAYS', d.retentionMs / DAY_MS, 1, 3650, problems) * DAY_MS,
  });
}

/** LOYALTY_PG_POOLER=transaction (behind PgBouncer's transaction pooling); LOYALTY_PG_LISTEN_URL (see StoreConfig). */
function withPoolerSettings(store: StoreConfig, env: NodeJS.ProcessEnv, problems: string[]): StoreConfig {
  const pooler = env.LOYALTY_PG_POOLER || 'none';
  if (pooler !== 'none' && pooler !== 'transaction')
    problems.push(`LOYALTY_PG_POOLER must be none or transaction (got "${pooler}")`);
  const listenUrl = env.LOYALTY_PG_LISTEN_URL || undefined;
  if (listenUrl && !/^postgres(ql)?:\/\//.test(listenUrl))
    problems.push('LOYALTY_PG_LISTEN_URL must start with postgres://');
  if (store.kind !== 'postgres') return store;
  const direct = listenUrl ? { listenConnectionString: listenUrl } : {};
  return { ...store, ...(pooler === 'transaction' ? { pooler: 'transaction' as const } : {}), ...direct };
}

// Tests only: one key for the whole process, so that every app a test builds on one store opens what
// the others sealed; nothing sealed with it outlives the process's test databases.
let processSecretKey: string | undefined;

/** A configuration for tests and embedding: defaults, then the given overrides. */
export function defineConfig(overrides: Partial<Config> = {}): Config {
  processSecretKey ??= generateSecretKey();
  return Object.freeze({
    port: 0,
    host: '127.0.0.1',
    store: { kind: 'sqlite', filename: ':memory:' },
    adminToken: undefined,
    demo: false,
    logLevel: 'silent',
    bodyLimit: 1024 * 1024,
    credentialCacheMs: 30_000,
    jwtSecret: undefined,
    rateLimitPerMinute: 0,
    redisUrl: undefined,
    metrics: true,
    events: DEFAULT_EVENTS_CONFIG,
    maxTokenTtlSeconds: 3600,
    maxConnectionsPerAddress: 256,
    importMaxBytes: DEFAULT_IMPORT_MAX_BYTES,
    jobUploadLimitBytes: JOB_UPLOAD_LIMIT,
    jobPollMs: 1000,
    jobLeaseMs: 60_000,
    secretKey: processSecretKey,
    previousSecretKey: undefined,
    secretKeyFile: undefined,
    consoleIdleMinutes: 30,
    consoleSessionHours: 12,
    consoleMaxFailedSignIns: 5,
    trustProxy: false,
    ...overrides,
  } satisfies Config);
}

/** The configuration as an operator may see it: every setting, with secrets masked. */
export function describeConfig(config: Config): Record<string, unknown> {
  const secret = (value: string | undefined) =>
    value === undefined ? '(not set)' : `(set, ${Buffer.byteLength(value)} bytes)`;
  const masked = (url: string | undefined) => url?.replace(/\/\/([^:/@]*):[^@]*@/g, '//$1:***@');
  const store =
    config.store.kind === 'sqlite'
      ? { kind: 'sqlite', filename: config.store.filename }
      : {
          kind: 'postgres',
          url: masked(config.store.connectionString),
          poolSize: config.store.poolSize,
          pooler: config.store.pooler ?? 'none',
          listenUrl: masked(config.store.listenConnectionString),
        };
  // Every setting as it is, but the secrets and the store's password.
  return {
    ...config,
    store,
    adminToken: secret(config.adminToken),
    jwtSecret: secret(config.jwtSecret),
    redisUrl: masked(config.redisUrl) ?? '(not set)',
    secretKey: sealingKey(config.secretKey),
    previousSecretKey: sealingKey(config.previousSecretKey),
    secretKeyFile: config.secretKeyFile ?? '(not used: LOYALTY_SECRET_KEY is set)',
  };
}

/** A sealing key as an operator may see it: its fingerprint, which is what sealed values name. */
function sealingKey(value: string | undefined): string {
  if (value === undefined) return '(not set)';
  return decodeSecretKey(value) ? `(set, key id ${keyIdOf(value)})` : '(set, not a valid key)';
}

/** True when an admin token is set but too short to switch the management API on. */
export function adminTokenTooShort(config: Config): boolean {
  return config.adminToken !== undefined && Buffer.byteLength(config.adminToken) < MIN_ADMIN_TOKEN_BYTES;
}

/** Where the environment's own server listens, as `loyalty serve` would bind it: the CLI's default --url. */
export function localServerUrl(config: Pick<Config, 'host' | 'port'>): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}
