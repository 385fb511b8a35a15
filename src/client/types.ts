/**
 * Request and response shapes of the v2 promotion API and of the OAuth token endpoint, as a client
 * sees them. They describe the wire format, so they come from the contract (src/contract), the one
 * definition the server's schemas and the OpenAPI document are made from, never from internal types.
 */

export type { ApiMessage } from '../contract/common.contract.js';
export type {
  BulkAction,
  CustomerPromotionStatus,
  GrantAction,
  IdentifierName,
  RevokeAction,
} from '../contract/enums.contract.js';
export type { OAuthToken } from '../contract/oauth.contract.js';
export type {
  BulkCustomer,
  BulkItem,
  BulkRequest,
  BulkResponse,
  BulkResult,
  CustomerPromotion,
  CustomerQuery,
  IssueRefusal,
  IssueRequest,
  IssueResponse,
  IssueSideEffect,
  PromotionDataQuery,
  PromotionDataRefusal,
  PromotionDataResponse,
  PromotionDetails,
  PromotionRestriction,
} from '../contract/v2.contract.js';

/** A till: sends `Basic base64(username:md5hex(password))`. */
export interface BasicCredentials {
  kind: 'basic';
  username: string;
  password: string;
}

/** An API client: the client fetches tokens with key and secret, and renews them itself. */
export interface OAuthCredentials {
  kind: 'oauth';
  key: string;
  secret: string;
}

export type Credentials = BasicCredentials | OAuthCredentials;

/** Options of one call. */
export interface CallOptions {
  /**
   * Sent as `Idempotency-Key` (1 to 255 visible ASCII characters). The server answers a repeat of
   * the same request with the same key, within 24 hours, with the first answer and writes nothing.
   */
  idempotencyKey?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
  /** Sent as `X-Request-Id`, which the server stamps on what it writes and logs. */
  requestId?: string;
}
