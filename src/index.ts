/**
 * The package's library entry: the typed client of the v2 promotion API. The server itself is run
 * with the `loyalty` command.
 */

export { LoyaltyClient, type LoyaltyClientOptions } from './client/loyalty.client.js';
export { LoyaltyApiError, LoyaltyNetworkError } from './client/loyalty-api.error.js';
export type * from './client/types.js';
