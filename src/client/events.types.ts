/** The wire types of the event feed and the webhooks of the management API (docs/events.md). */

export {
  DELIVERY_OUTCOMES,
  type DeliveryOutcome,
  EVENT_TYPES,
  type EventType,
} from '../contract/enums.contract.js';
export type {
  CreateWebhookInput as NewWebhook,
  EventData,
  EventPage,
  LoyaltyEvent,
  PatchWebhookInput as WebhookChanges,
  Webhook,
  WebhookDelivery,
} from '../contract/events.contract.js';
