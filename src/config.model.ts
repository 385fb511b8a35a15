/**
 * The configuration's shape and its defaults. Only src/config.ts reads the environment into it;
 * this file holds what the rest of the code imports about it (re-exported by config.ts).
 */
/** Where the data lives: an embedded SQLite file (or memory), or a PostgreSQL server. */
export type StoreConfig =
  | { readonly kind: 'sqlite'; readonly filename: string }
  | {
      readonly kind: 'postgres';
      readonly connectionString: string;
      readonly poolSize: number;
      /** `transaction`: behind PgBouncer in transaction pooling mode (no named statements). */
      readonly pooler?: 'transaction' | undefined;
      /** Where LISTEN connects when DATABASE_URL is a transaction pooler (LISTEN needs a session). */
      readonly listenConnectionString?: string | undefined;
    };

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
  /** REDIS_URL: rate limits counted there rather than in PostgreSQL (or, on SQLite, in memory). */
  readonly redisUrl: string | undefined;
  /** Serve Prometheus metrics at GET /metrics (and collect them). */
  readonly metrics: boolean;
  /** The outbox's retention and webhook delivery. */
  readonly events: EventsConfig;
  /** The longest life of an OAuth token, in seconds: longer ones are refused whatever they claim. */
  readonly maxTokenTtlSeconds: number;
  /** Connections one client address may hold open at once (LOYALTY_MAX_CONNECTIONS_PER_ADDRESS). */
  readonly maxConnectionsPerAddress: number;
  /** Largest customer import file (CSV) the management API reads, in bytes. */
  readonly importMaxBytes: number;
  /** The largest CSV upload a bulk job takes, in bytes (LOYALTY_JOB_UPLOAD_LIMIT_BYTES). */
  readonly jobUploadLimitBytes: number;
  /** How often an idle job runner looks for work, in ms (LOYALTY_JOB_POLL_MS). */
  readonly jobPollMs: number;
  /** How long a job runner that stopped making progress keeps its job, in ms (LOYALTY_JOB_LEASE_MS). */
  readonly jobLeaseMs: number;
  /**
   * The key that seals the secrets kept in the store (LOYALTY_SECRET_KEY); without it, the key in
   * `secretKeyFile` (see resolveSecretKey). `previousSecretKey` (LOYALTY_SECRET_KEY_PREVIOUS) still
   * opens, during a rotation.
   */
  readonly secretKey: string | undefined;
  readonly previousSecretKey: string | undefined;
  /**
   * The file that holds the key when LOYALTY_SECRET_KEY is not set (LOYALTY_SECRET_KEY_FILE, by default
   * data/secret.key), made on first start; an absolute path. Undefined when LOYALTY_SECRET_KEY is set:
   * then no file is read or made.
   */
  readonly secretKeyFile: string | undefined;
  /**
   * Console sessions end after `consoleIdleMinutes` unused or `consoleSessionHours` after sign-in, however
   * busy; `consoleMaxFailedSignIns` failed sign-ins per username in 15 minutes refuse more (429).
   */
  readonly consoleIdleMinutes: number;
  readonly consoleSessionHours: number;
  readonly consoleMaxFailedSignIns: number;
  /** Behind a reverse proxy: trust its X-Forwarded-* headers (the client's address, https for Secure cookies). */
  readonly trustProxy: boolean;
}

/** Events and webhooks (docs/events.md). */
export interface EventsConfig {
  /** This process delivers webhooks (several processes may, on one PostgreSQL). */
  readonly deliver: boolean;
  /**
   * Deliver in a worker thread with its own store connection, so that a full request load does not
   * slow delivery (not with an in-memory SQLite database, nor under a test clock).
   */
  readonly thread: boolean;
  /** Accept http:// and loopback, private or link-local webhook targets (local setups and tests). */
  readonly allowPrivate: boolean;
  /** A delivery attempt that has no answer in this time is a timeout, retried. */
  readonly timeoutMs: number;
  /** Delay before the first retry; each later one doubles it, up to an hour, with jitter. */
  readonly retryBaseMs: number;
  /** How long after its first attempt a batch is still retried. */
  readonly retryForMs: number;
  /** How long a process holds an endpoint; a process killed mid-delivery leaves it for this long. */
  readonly leaseMs: number;
  /** Endpoints one process delivers to at once. */
  readonly concurrency: number;
  /**
   * Messages one endpoint may have in flight at once, sent in feed order on its one connection
   * (HTTP/1.1 pipelining); 1 waits for each answer before the next message.
   */
  readonly pipelining: number;
  /** How often a process looks for endpoints with something to send. */
  readonly pollMs: number;
  /** Events are kept this long after they were written (longer while an endpoint still owes them). */
  readonly retentionMs: number;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_EVENTS_CONFIG: EventsConfig = Object.freeze({
  deliver: true,
  thread: true,
  allowPrivate: false,
  timeoutMs: 10_000,
  retryBaseMs: 5_000,
  retryForMs: 7 * DAY_MS,
  leaseMs: 30_000,
  concurrency: 8,
  pipelining: 4,
  pollMs: 500,
  retentionMs: 30 * DAY_MS,
});

/** LOYALTY_IMPORT_MAX_BYTES's default: 1 GiB. */
export const DEFAULT_IMPORT_MAX_BYTES = 1024 * 1024 * 1024;

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

/** A bulk job's upload: 2 GiB by default. */
export const JOB_UPLOAD_LIMIT = 2 * 1024 ** 3;
