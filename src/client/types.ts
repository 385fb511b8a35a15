/**
 * Request and response shapes of the v2 promotion API and of the OAuth token endpoint, as a client
 * sees them. They describe the wire format, so they stay free of the server's internal types.
 */

/** How a request names its customers. */
export type IdentifierName = 'id' | 'mobile' | 'email';

/** Actions of `enrolAndEarn` and `directEarn`. */
export type GrantAction = 'ENROL' | 'EARN';
/** Actions of `revokeEnrolAndEarn` and `revokeDirectEarn`. */
export type RevokeAction = 'REVOKE_ENROL' | 'REVOKE_EARN';
export type BulkAction = GrantAction | RevokeAction;

/** The promotion a bulk request is about: `promotionId`, `promoIdentifier`, or both (which must agree). */
export interface PromotionDetails {
  programId: number | string;
  promotionId?: number | string;
  promoIdentifier?: string;
}

/** One customer of a bulk request. */
export interface BulkCustomer {
  identifierValue: string | number;
  /** A registered source (`INSTORE`, `ECOMMERCE`, …) or `ALL`. */
  source: string;
  /** `REVOKE_EARN` only: the earns to revoke; absent means all the customer's active earns. */
  earnIds?: (string | number)[];
}

/** The body of a bulk call. `type` defaults to `CUSTOMER`. */
export interface BulkRequest<A extends BulkAction = BulkAction> {
  type?: 'CUSTOMER';
  bulkAction: A;
  promotionDetails: PromotionDetails;
  identifierName: IdentifierName;
  /** At most 100. */
  customers: BulkCustomer[];
}

/** An error or a warning: warnings have the shape of errors. */
export interface ApiMessage {
  status: false;
  code: number;
  message: string;
}

/** What a bulk call did for one customer that did not fail. */
export interface BulkResult {
  entityType: 'CUSTOMER';
  entityId: number;
  promotionId: number;
  promoIdentifier?: string;
  programId: number;
  issualId?: string;
  earnedId?: string;
  /** `REVOKE_ENROL`: the enrolment that was revoked. */
  revokedIssualId?: string;
  /** Revokes: the earns that were revoked. */
  revokedEarnIds?: string[];
}

/** One customer's answer, in request order: `result` when it succeeded, `errors` when it failed. */
export interface BulkItem {
  result?: BulkResult;
  errors: ApiMessage[];
  warnings: ApiMessage[];
}

/** A bulk call's answer (HTTP 200 when no customer failed, 201 when some did). */
export interface BulkResponse {
  response: BulkItem[];
  totalCount: number;
  failureCount: number;
}

/** Names the single customer of `issue` and `promotionData`. */
export interface CustomerQuery {
  identifierName: IdentifierName;
  identifierValue: string | number;
  source: string;
}

/** The body of `issue`: the promotion, by id or identifier. */
export interface IssueRequest {
  programId: number | string;
  promotionId?: number | string;
  promoIdentifier?: string;
}

export interface IssueSideEffect {
  programId: number;
  promotionId: number;
  promoIdentifier?: string;
  issualId?: string;
  earnedId?: string;
  type: 'EARN';
}

export interface IssueResponse {
  warnings: ApiMessage[];
  errors: ApiMessage[];
  sideEffects: IssueSideEffect[];
}

export type CustomerPromotionStatus =
  | 'AVAILABLE_TO_ENROL'
  | 'AVAILABLE_TO_EARN'
  | 'EXPIRED'
  | 'NOT_AVAILABLE';

export interface PromotionDataQuery extends CustomerQuery {
  promotionStatusForCustomer?: Exclude<CustomerPromotionStatus, 'NOT_AVAILABLE'>;
  /** A promotion type or one of its aliases. */
  promotionType?: string;
  /** 1 to 100; the server's default is 20. */
  limit?: number;
  offset?: number;
}

export interface PromotionLimit {
  kpi: 'ISSUALS' | 'EARNS';
  maxLimit: number | null;
  currentCustomerUsage: number;
}

export interface CustomerPromotion {
  programId: number;
  promotionId: number;
  promoIdentifier?: string;
  name: string;
  type: string;
  startDate: string | null;
  endDate: string | null;
  statusForCustomer: CustomerPromotionStatus;
  issual: { issualId: string; createdAt: string } | null;
  earns: { earnedId: string; issualId: string; createdAt: string }[];
  limits: PromotionLimit[];
}

export interface PromotionDataResponse {
  data: {
    customer: { entityType: 'CUSTOMER'; entityId: number };
    promotions: CustomerPromotion[];
    pagination: { limit: number; offset: number; total: number };
  };
  warnings: ApiMessage[];
  errors: ApiMessage[];
}

/** The `data` of `POST /v3/oauth/token/generate`. */
export interface OAuthToken {
  accessToken: string;
  ttlSeconds: number;
}

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
