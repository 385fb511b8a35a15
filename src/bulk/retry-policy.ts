import { LoyaltyApiError, LoyaltyNetworkError } from '../client/loyalty-api.error.js';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** Delay before the first retry; it doubles with every further one. */
  baseDelayMs: number;
  /** Longest delay of the backoff itself (a server's Retry-After may ask for more). */
  maxDelayMs: number;
}

/** Longest Retry-After honoured: a server asking for more is waited on for this long, then tried. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** Whether a failed call may succeed when repeated: no answer, a rate limit, or a server failure. */
export function isRetryable(err: unknown): boolean {
  return err instanceof LoyaltyNetworkError || (err instanceof LoyaltyApiError && err.retryable);
}

/**
 * How long to wait after failed attempt number `attempt` (1 = the first call): exponential backoff
 * with jitter (half fixed, half random, so that parallel callers spread out), and never less than
 * the server's Retry-After.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  err: unknown,
  random: () => number = Math.random,
): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = backoff / 2 + (random() * backoff) / 2;
  const asked = err instanceof LoyaltyApiError ? err.retryAfterSeconds : undefined;
  if (asked === undefined) return jittered;
  // A little jitter on top of Retry-After too, so that the callers it stopped do not return as one.
  return Math.min(MAX_RETRY_AFTER_MS, asked * 1000) + random() * Math.min(250, policy.baseDelayMs);
}

/** Waits, unless aborted first (then rejects with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
