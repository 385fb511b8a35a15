import path from 'node:path';

/** Where the data lives: an embedded SQLite file (or memory), or a PostgreSQL server. */
export type StoreConfig =
  | { readonly kind: 'sqlite'; readonly filename: string }
  | { readonly kind: 'postgres'; readonly connectionString: string; readonly poolSize: number };

/** The validated, frozen configuration of one server process. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly store: StoreConfig;
  /** Bearer token of the management API; absent means the management API refuses everything. */
  readonly adminToken: string | undefined;
  /** Load the demo org on first start against an empty embedded database. */
  readonly demo: boolean;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Body limit of the /v2 endpoints, in bytes. */
  readonly bodyLimit: number;
  /** How long a verified Basic credential is trusted without hashing it again, in milliseconds. */
  readonly credentialCacheMs: number;
  /** Secret that signs OAuth tokens; absent means a random key per org, kept in the store. */
  readonly jwtSecret: string | undefined;
  /** Requests a minute per credential that sets no limit of its own; 0 is no limit. */
  readonly rateLimitPerMinute: number;
  /** Serve Prometheus metrics at GET /metrics (and collect them). */
  readonly metrics: boolean;
  /** Console sessions: minutes unused before one ends. */
  readonly consoleIdleMinutes: number;
  /** Console sessions: hours after sign-in when one ends, however busy. */
  readonly consoleSessionHours: number;
  /** Failed console sign-ins per username in 15 minutes before further attempts are refused (429). */
  readonly consoleMaxFailedSignIns: number;
  /** Behind a reverse proxy: trust its X-Forwarded-* headers (the client's address, https for Secure cookies). */
  readonly trustProxy: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A shorter admin token leaves the management API off (the server still starts, and says why):
 * guessing it would open every org's records.
 */
export const MIN_ADMIN_TOKEN_BYTES = 32;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DEFAULT_SQLITE_FILE = path.join('data', 'loyalty.db');

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
  const port = intVar(env, 'PORT', 3000, 0, 65535, problems);
  const poolSize = intVar(env, 'LOYALTY_PG_POOL_SIZE', 10, 1, 1000, problems);
  const bodyLimit = intVar(env, 'LOYALTY_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024, problems);
  const credentialCacheMs = intVar(env, 'LOYALTY_CREDENTIAL_CACHE_MS', 30_000, 0, 3_600_000, problems);
  const rateLimitPerMinute = intVar(env, 'LOYALTY_RATE_LIMIT_PER_MINUTE', 0, 0, 10_000_000, problems);
  const jwtSecret = env.LOYALTY_JWT_SECRET === '' ? undefined : env.LOYALTY_JWT_SECRET;
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
  const consoleIdleMinutes = intVar(env, 'LOYALTY_CONSOLE_IDLE_MINUTES', 30, 1, 24 * 60, problems);
  const consoleSessionHours = intVar(env, 'LOYALTY_CONSOLE_SESSION_HOURS', 12, 1, 24 * 30, problems);
  const consoleMaxFailedSignIns = intVar(env, 'LOYALTY_CONSOLE_MAX_FAILED_SIGN_INS', 5, 1, 1000, problems);
  const trustProxyRaw = env.LOYALTY_TRUST_PROXY ?? '0';
  if (!['0', '1', 'true', 'false', ''].includes(trustProxyRaw)) {
    problems.push(`LOYALTY_TRUST_PROXY must be 0 or 1 (got "${trustProxyRaw}")`);
  }

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
    metrics: metricsRaw === '1' || metricsRaw === 'true',
    consoleIdleMinutes,
    consoleSessionHours,
    consoleMaxFailedSignIns,
    trustProxy: trustProxyRaw === '1' || trustProxyRaw === 'true',
  });
}

/** A configuration for tests and embedding: defaults, then the given overrides. */
export function defineConfig(overrides: Partial<Config> = {}): Config {
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
    metrics: true,
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
  const store =
    config.store.kind === 'sqlite'
      ? { kind: 'sqlite', filename: config.store.filename }
      : {
          kind: 'postgres',
          url: config.store.connectionString.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@'),
          poolSize: config.store.poolSize,
        };
  return {
    port: config.port,
    host: config.host,
    store,
    adminToken: secret(config.adminToken),
    demo: config.demo,
    logLevel: config.logLevel,
    bodyLimit: config.bodyLimit,
    credentialCacheMs: config.credentialCacheMs,
    jwtSecret: secret(config.jwtSecret),
    rateLimitPerMinute: config.rateLimitPerMinute,
    metrics: config.metrics,
    consoleIdleMinutes: config.consoleIdleMinutes,
    consoleSessionHours: config.consoleSessionHours,
    consoleMaxFailedSignIns: config.consoleMaxFailedSignIns,
    trustProxy: config.trustProxy,
  };
}

/** True when an admin token is set but too short to switch the management API on. */
export function adminTokenTooShort(config: Config): boolean {
  return config.adminToken !== undefined && Buffer.byteLength(config.adminToken) < MIN_ADMIN_TOKEN_BYTES;
}
