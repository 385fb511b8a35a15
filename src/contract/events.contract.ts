import { type Static, Type } from 'typebox';
import { DateTime, NullableDateTime, NullableString, Page, PageQuery } from './common.contract.js';
import { DELIVERY_OUTCOMES, EVENT_TYPES, enumSchema } from './enums.contract.js';

/*
 * The event feed and the webhook endpoints of the management API (docs/events.md): every parameter,
 * body and answer, declared once; the routes attach them, the client's types come from them.
 */

export const MAX_FEED_LIMIT = 1_000;
export const DEFAULT_FEED_LIMIT = 100;
export const MAX_BATCH_SIZE = 1_000;

const PathId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const EventTypeSchema = enumSchema(EVENT_TYPES, 'What happened');
const EventTypes = Type.Array(EventTypeSchema, { minItems: 1, maxItems: 16, uniqueItems: true });
const Url = Type.String({
  minLength: 1,
  maxLength: 2000,
  description: 'https, and a public address (see docs/events.md)',
});
const Description = Type.String({ minLength: 1, maxLength: 500, pattern: '^[^\\u0000]*$' });
const BatchSize = Type.Integer({ minimum: 1, maximum: MAX_BATCH_SIZE });
const Cursor = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'A cursor of the feed (nextCursor)',
});

// Requests.

export const WebhookParams = Type.Object({
  orgId: PathId,
  webhookId: Type.String({ pattern: '^wh_[A-Za-z0-9_-]{1,64}$' }),
});

export const FeedQuery = Type.Object({
  after: Type.Optional(
    Type.String({
      maxLength: 100,
      description: 'Read after this cursor; absent: from the oldest kept event',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FEED_LIMIT, default: DEFAULT_FEED_LIMIT })),
  type: Type.Optional(EventTypeSchema),
});
export type FeedQuery = Static<typeof FeedQuery>;

export const CreateWebhookBody = Type.Object(
  {
    url: Url,
    types: Type.Optional(EventTypes),
    description: Type.Optional(Description),
    maxBatchSize: Type.Optional(BatchSize),
  },
  { additionalProperties: false },
);
export type CreateWebhookInput = Static<typeof CreateWebhookBody>;

export const PatchWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    types: Type.Optional(Type.Union([EventTypes, Type.Null()], { description: 'null: every type' })),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
    maxBatchSize: Type.Optional(BatchSize),
  },
  { additionalProperties: false },
);
export type PatchWebhookInput = Static<typeof PatchWebhookBody>;

export const ReplayWebhookBody = Type.Object(
  { after: Type.Optional(Cursor) },
  { additionalProperties: false },
);
export type ReplayWebhookInput = Static<typeof ReplayWebhookBody>;

export const DeliveriesQuery = PageQuery(MAX_FEED_LIMIT, DEFAULT_FEED_LIMIT);

// Answers.

export const EventDataAnswer = Type.Object(
  {
    programId: Type.Integer(),
    promotionId: Type.Integer(),
    promoIdentifier: Type.Optional(Type.String()),
    customerId: Type.Integer(),
    issualId: Type.String(),
    earnedId: Type.Optional(Type.String()),
    source: Type.String({ description: 'The source the request gave for the customer' }),
    requestId: Type.String({ description: 'The request that made the change' }),
    credential: Type.String({ description: 'Who made it: till:<username> or client:<key>' }),
  },
  { additionalProperties: false },
);
export type EventData = Static<typeof EventDataAnswer>;

export const EventAnswer = Type.Object(
  {
    id: Type.String({ description: 'evt_<n>: never changes; receivers de-duplicate by it' }),
    type: EventTypeSchema,
    timestamp: DateTime,
    orgId: Type.Integer(),
    data: EventDataAnswer,
  },
  { additionalProperties: false, description: 'An event, as the feed answers it and a webhook sends it' },
);
export type LoyaltyEvent = Static<typeof EventAnswer>;

export const EventPageAnswer = Type.Object(
  {
    events: Type.Array(EventAnswer),
    nextCursor: Type.String({ description: 'Where to read on from (the same cursor when nothing was new)' }),
  },
  { additionalProperties: false },
);
export type EventPage = Static<typeof EventPageAnswer>;

export const WebhookAnswer = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    description: NullableString,
    types: Type.Array(EventTypeSchema),
    enabled: Type.Boolean(),
    disabledReason: NullableString,
    maxBatchSize: Type.Integer(),
    createdAt: DateTime,
    updatedAt: DateTime,
    secret: Type.Optional(
      Type.String({ description: 'whsec_ and base64: only in the answers of creation and rotation' }),
    ),
    replayFrom: Type.Optional(Type.String({ description: 'The cursor a replay starts after' })),
  },
  { additionalProperties: false, description: 'A webhook endpoint' },
);
export type Webhook = Static<typeof WebhookAnswer>;

export const WebhooksAnswer = Page(WebhookAnswer, 'webhooks');

export const DeliveryAnswer = Type.Object(
  {
    id: Type.String(),
    messageId: Type.String({ description: 'The webhook-id header: the same on every try of a message' }),
    eventIds: Type.Array(Type.String()),
    attempt: Type.Integer(),
    outcome: enumSchema(DELIVERY_OUTCOMES),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    durationMs: Type.Integer(),
    error: NullableString,
    nextRetryAt: NullableDateTime,
    at: DateTime,
  },
  { additionalProperties: false, description: 'One delivery attempt' },
);
export type WebhookDelivery = Static<typeof DeliveryAnswer>;

export const DeliveriesAnswer = Page(DeliveryAnswer, 'deliveries', 'Attempts, newest first');

/** The named schemas of the events part of the document. */
export const EVENTS_COMPONENTS = {
  Event: EventAnswer,
  EventPage: EventPageAnswer,
  Webhook: WebhookAnswer,
  Webhooks: WebhooksAnswer,
  WebhookDeliveries: DeliveriesAnswer,
};
