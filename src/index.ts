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
export {
  type JobFile,
  type JobSpec,
  LoyaltyJobsClient,
  type LoyaltyJobsClientOptions,
  type WaitOptions,
} from './client/jobs.client.js';
export type * from './client/jobs.types.js';
export { JOB_STATUSES } from './client/jobs.types.js';
export { LoyaltyClient, type LoyaltyClientOptions } from './client/loyalty.client.js';
export { LoyaltyApiError, LoyaltyNetworkError } from './client/loyalty-api.error.js';
export type * from './client/types.js';
