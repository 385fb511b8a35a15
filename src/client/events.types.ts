/** The wire types of the event feed and the webhooks of the management API (docs/events.md). */

/** What happened to an issual or an earn; one event per record and change. */
export const EVENT_TYPES = [
  'promotion.enrolled',
  'promotion.earned',
  'promotion.enrolment_revoked',
  'promotion.earn_revoked',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The `data` of an event; ids as the /v2 API writes them (issual and earn ids are strings). */
export interface EventData {
  programId: number;
  promotionId: number;
  promoIdentifier?: string;
  customerId: number;
  issualId: string;
  earnedId?: string;
  /** The source the request gave for the customer. */
  source: string;
  /** The request that made the change (a job's id for a job). */
  requestId: string;
  /** Who made it: `till:<username>`, `client:<key>`, or a job's creator. */
  credential: string;
}

/** An event, as the feed answers it and as a webhook sends it. Its id never changes. */
export interface LoyaltyEvent {
  id: string;
  type: EventType;
  timestamp: string;
  orgId: number;
  data: EventData;
}

/** A page of the feed. `nextCursor` is where to read on from (the same cursor when nothing was new). */
export interface EventPage {
  events: LoyaltyEvent[];
  nextCursor: string;
}

/** A webhook endpoint; `secret` only in the answers of creation and rotation. */
export interface Webhook {
  id: string;
  url: string;
  description: string | null;
  types: EventType[];
  enabled: boolean;
  /** Why the endpoint is off (a 410 from the receiver, or the management API). */
  disabledReason: string | null;
  maxBatchSize: number;
  createdAt: string;
  updatedAt: string;
  secret?: string;
}

export interface NewWebhook {
  url: string;
  types?: EventType[];
  description?: string;
  maxBatchSize?: number;
}

export interface WebhookChanges {
  url?: string;
  types?: EventType[] | null;
  description?: string | null;
  enabled?: boolean;
  maxBatchSize?: number;
}

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed' | 'disabled';

/** One delivery attempt of a message (one event, or a batch of them). */
export interface WebhookDelivery {
  id: string;
  /** The webhook-id header: the event id for a single event, the same across retries. */
  messageId: string;
  eventIds: string[];
  attempt: number;
  outcome: DeliveryOutcome;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  nextRetryAt: string | null;
  at: string;
}
