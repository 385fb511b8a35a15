type Millis = number;
type Optional<T> = T | null;

export interface EventsTable {
  org_id: number;
  /** The writing transaction's id on PostgreSQL; 0 on SQLite. */
  xid: number;
  id: number;
  type: string;
  at: Millis;
  data: string;
}

export interface WebhooksTable {
  org_id: number;
  id: string;
  url: string;
  description: Optional<string>;
  types: Optional<string>;
  enabled: number;
  disabled_reason: Optional<string>;
  max_batch_size: number;
  secret: string;
  cursor_xid: number;
  cursor_id: number;
  pending_message_id: Optional<string>;
  pending_event_ids: Optional<string>;
  pending_end_xid: Optional<number>;
  pending_end_id: Optional<number>;
  attempts: number;
  first_attempt_at: Optional<Millis>;
  next_attempt_at: Millis;
  lease_owner: Optional<string>;
  lease_until: Millis;
  delivery_seq: number;
  created_at: Millis;
  updated_at: Millis;
}

export interface WebhookDeliveriesTable {
  org_id: number;
  webhook_id: string;
  seq: number;
  message_id: string;
  event_ids: string;
  attempt: number;
  outcome: string;
  status_code: Optional<number>;
  duration_ms: number;
  error: Optional<string>;
  next_retry_at: Optional<Millis>;
  at: Millis;
}
