/**
 * The package's library entry: the typed client of the v2 promotion API. The server itself is run
 * with the `loyalty` command.
 */

export {
  LoyaltyEventsClient,
  type LoyaltyEventsClientOptions,
  type TailOptions,
} from './client/events.client.js';
export type * from './client/events.types.js';
export { EVENT_TYPES } from './client/events.types.js';
export { LoyaltyClient, type LoyaltyClientOptions } from './client/loyalty.client.js';
export { LoyaltyApiError, LoyaltyNetworkError } from './client/loyalty-api.error.js';
export type * from './client/types.js';
