import type { Access, PromotionType } from '../contract/enums.contract.js';

export type { Access, PromotionType };

import type { ColumnType } from 'kysely';

/** Milliseconds since the epoch; all timestamps are stored this way on both stores. */
type Millis = number;
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface OrgsTable {
  org_id: number;
  name: string;
  created_at: Millis;
}

export interface ProgramsTable {
  org_id: number;
  id: number;
  name: string;
  created_at: Millis;
}

export interface PromotionsTable {
  org_id: number;
  id: number;
  program_id: number;
  promo_identifier: Optional<string>;
  name: string;
  type: PromotionType;
  /** 1 or 0: both stores keep booleans as integers so that one schema serves both. */
  active: number;
  start_at: Optional<Millis>;
  end_at: Optional<Millis>;
  max_issuals_per_customer: Optional<number>;
  max_earns_per_customer: Optional<number>;
  created_at: Millis;
  updated_at: Millis;
}

export interface CustomersTable {
  org_id: number;
  id: number;
  /** Digits only. */
  mobile: Optional<string>;
  /** Trimmed and lower-cased. */
  email: Optional<string>;
  external_id: Optional<string>;
  created_at: Millis;
}

export interface CustomerSourcesTable {
  org_id: number;
  customer_id: number;
  source: string;
}

export interface ProgramMembersTable {
  org_id: number;
  program_id: number;
  customer_id: number;
}

export interface TillsTable {
  org_id: number;
  username: string;
  secret_hash: string;
  customer_access: Access;
  disabled_at: Optional<Millis>;
  rate_limit_per_minute: Optional<number>;
  created_at: Millis;
  updated_at: Millis;
}

export interface ApiClientsTable {
  org_id: number;
  client_key: string;
  secret_hash: string;
  customer_access: Access;
  token_ttl_seconds: number;
  disabled_at: Optional<Millis>;
  rate_limit_per_minute: Optional<number>;
  created_at: Millis;
  updated_at: Millis;
}

export interface OauthKeysTable {
  org_id: number;
  kid: string;
  /** base64url of 32 random bytes (HS256), sealed with LOYALTY_SECRET_KEY (src/auth/secret-box.ts). */
  sealed_secret: string;
  created_at: Millis;
}

/** What an issual and an earn both record: whose reward, from where, made and revoked by whom and when. */
interface RewardColumns {
  org_id: number;
  id: number;
  promotion_id: number;
  customer_id: number;
  source: string;
  created_at: Millis;
  created_by: string;
  request_id: string;
  revoked_at: Optional<Millis>;
  revoked_by: Optional<string>;
}

export type IssualsTable = RewardColumns;

export interface EarnsTable extends RewardColumns {
  /** The issual the earn was made on. */
  issual_id: number;
}

export interface IdempotencyKeysTable {
  org_id: number;
  /** The credential that sent the key: keys are scoped per credential. */
  credential: string;
  key: string;
  /** sha256 of the method, path and body the key was first used with. */
  request_hash: string;
  /** The JSON body of the first answer. */
  response: string;
  created_at: Millis;
}

export interface AuditLogTable {
  /** The org acted on; 0 for the deployment itself. */
  org_id: number;
  id: number;
  at: Millis;
  who: string;
  /** Method and route, e.g. `PATCH /admin/v1/orgs/:orgId/tills/:name`. */
  action: string;
  /** The route's parameters as JSON, e.g. `{"orgId":"1","name":"till-1"}`. */
  target: string;
  status: number;
  request_id: string;
}

/** The outbox: one row per event; the key is the feed's order. */
export interface EventsTable {
  org_id: number;
  /** The writing transaction's id on PostgreSQL; 0 on SQLite. */
  xid: number;
  id: number;
  type: string;
  at: Millis;
  data: string;
}

/** A webhook endpoint, with its delivery position, the batch in flight and its lease. */
export interface WebhooksTable {
  org_id: number;
  id: string;
  url: string;
  description: string | null;
  types: string | null;
  enabled: number;
  disabled_reason: string | null;
  max_batch_size: number;
  /** The `whsec_` secret, sealed with LOYALTY_SECRET_KEY (src/events/webhook-secret.ts). */
  sealed_secret: string;
  cursor_xid: number;
  cursor_id: number;
  pending_message_id: string | null;
  /** JSON: the pending round's messages, each `{"id", "eventIds"}` (a flat list of ids: one message). */
  pending_event_ids: string | null;
  pending_end_xid: number | null;
  pending_end_id: number | null;
  attempts: number;
  first_attempt_at: Millis | null;
  next_attempt_at: Millis;
  lease_owner: string | null;
  lease_until: Millis;
  delivery_seq: number;
  created_at: Millis;
  updated_at: Millis;
}

/** A person who signs in to the console; org_id is always 0 (the deployment). */
export interface ConsoleUsersTable {
  org_id: number;
  username: string;
  password_hash: string;
  role: string;
  /** JSON array of the org ids the user may act on; null for every org. */
  org_ids: string | null;
  disabled: number;
  created_at: Millis;
  updated_at: Millis;
}

/** One delivery attempt to an endpoint. */
export interface WebhookDeliveriesTable {
  org_id: number;
  webhook_id: string;
  seq: number;
  message_id: string;
  event_ids: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  next_retry_at: Millis | null;
  at: Millis;
}

/**
 * A promotion's counters for one UTC day, split into shards that a read sums; its totals are the sum
 * of its rows (migrations 2026-11-30-0006 and 0008).
 */
export interface PromotionDayCountsTable {
  org_id: number;
  promotion_id: number;
  /** Days since the epoch, UTC. */
  day: number;
  shard: number;
  issuals: number;
  issuals_revoked: number;
  earns: number;
  earns_revoked: number;
  /** Customers who had their first issual in the promotion. */
  customers: number;
}

/** A soft-deleted customer, moved out of `customers` so that no lookup finds it. */
export interface DeletedCustomersTable {
  org_id: number;
  id: number;
  mobile: string | null;
  email: string | null;
  external_id: string | null;
  /** Comma-separated. */
  sources: string;
  /** Comma-separated. */
  program_ids: string;
  created_at: Millis;
  deleted_at: Millis;
}

/** A signed-in console session; org_id is always 0 (the deployment). */
export interface ConsoleSessionsTable {
  org_id: number;
  id_hash: string;
  username: string;
  csrf_token: string;
  created_at: Millis;
  last_seen_at: Millis;
}

/** SQLite's stand-in for PostgreSQL sequences (PostgreSQL uses real ones). */
export interface IdSequencesTable {
  name: string;
  value: number;
}

/** A server-side bulk job (src/jobs). */
export interface JobsTable {
  org_id: number;
  id: number;
  status: string;
  action: string;
  program_id: number;
  promotion_id: number;
  identifier_name: string;
  dry_run: number;
  undo_of: Optional<number>;
  total_rows: number;
  total_chunks: number;
  next_chunk: number;
  processed: number;
  succeeded: number;
  failed: number;
  warnings: number;
  error_code: Optional<string>;
  error_message: Optional<string>;
  created_by: string;
  created_at: Millis;
  started_at: Optional<Millis>;
  finished_at: Optional<Millis>;
  lease_owner: Optional<string>;
  lease_until: Optional<Millis>;
  updated_at: Millis;
}

/** A hundred rows of a job's upload, and their outcomes once processed. */
export interface JobChunksTable {
  org_id: number;
  job_id: number;
  chunk_no: number;
  row_count: number;
  rows: string;
  results: Optional<string>;
}

export interface Database {
  orgs: OrgsTable;
  programs: ProgramsTable;
  promotions: PromotionsTable;
  customers: CustomersTable;
  customer_sources: CustomerSourcesTable;
  program_members: ProgramMembersTable;
  tills: TillsTable;
  api_clients: ApiClientsTable;
  oauth_keys: OauthKeysTable;
  issuals: IssualsTable;
  earns: EarnsTable;
  idempotency_keys: IdempotencyKeysTable;
  audit_log: AuditLogTable;
  id_sequences: IdSequencesTable;
  events: EventsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  promotion_day_counts: PromotionDayCountsTable;
  deleted_customers: DeletedCustomersTable;
  jobs: JobsTable;
  job_chunks: JobChunksTable;
  console_users: ConsoleUsersTable;
  console_sessions: ConsoleSessionsTable;
  rate_limits: RateLimitsTable;
}

/** Requests of a credential in one window, counted by every process (see auth/rate-limiter.ts). */
export interface RateLimitsTable {
  org_id: number;
  credential: string;
  window_start: number;
  count: number;
}
