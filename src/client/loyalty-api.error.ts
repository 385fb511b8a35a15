import type { ApiMessage } from './types.js';

/**
 * The server answered with an HTTP error: a whole-request rejection (400), authentication (401),
 * access (403), a reused Idempotency-Key (422), a rate limit (429), or a server failure (5xx).
 * A bulk call where only some customers failed is not an error: it answers 201 with the items.
 */
export class LoyaltyApiError extends Error {
  /** The API's error items, as sent (empty when the body held none, e.g. a proxy's HTML page). */
  readonly errors: readonly ApiMessage[];
  /** Seconds to wait, from `Retry-After` (429 and 503), when the server sent it. */
  readonly retryAfterSeconds: number | undefined;
  /** The server's `X-Request-Id` for this answer, to find it in the server's log. */
  readonly requestId: string | undefined;

  constructor(
    /** The HTTP status. */
    readonly status: number,
    errors: readonly ApiMessage[],
    /** The parsed body, or its text when it was not JSON. */
    readonly body: unknown,
    options: { retryAfterSeconds?: number; requestId?: string; url: string },
  ) {
    const first = errors[0];
    super(
      first
        ? `HTTP ${status}: ${errors.map((e) => `${e.code} ${e.message}`).join('; ')}`
        : `HTTP ${status} from ${options.url}`,
    );
    this.name = 'LoyaltyApiError';
    this.errors = errors;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.requestId = options.requestId;
  }

  /** The API's codes, in order (e.g. `[8874]`). */
  get codes(): number[] {
    return this.errors.map((e) => e.code);
  }

  /** The API's messages, in order. */
  get messages(): string[] {
    return this.errors.map((e) => e.message);
  }

  /** Whether the same call may succeed later: rate limits and server failures. */
  get retryable(): boolean {
    return this.status === 429 || this.status === 408 || this.status >= 500;
  }
}

/** No answer came: the connection failed or was cut, or the call timed out. Always worth a retry. */
export class LoyaltyNetworkError extends Error {
  constructor(
    message: string,
    /** The URL that was called. */
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LoyaltyNetworkError';
  }

  readonly retryable = true;
}
