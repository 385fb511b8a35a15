/**
 * What to do after one delivery attempt: pure, so that every rule is tested without a receiver.
 * 2xx is delivered; 410 turns the endpoint off; 429, 5xx, a timeout or a network error are tried
 * again with exponential backoff and jitter until the retry period since the first attempt ends;
 * any other answer is not tried again. An attempt not tried again leaves its events kept and shown
 * as failed in the delivery log (a replay sends them again).
 */

/** An attempt's answer, or what went wrong instead (`timedOut`: no answer within the timeout). */
export type AttemptResult = { status: number } | { error: string; timedOut?: boolean };

export type Outcome = 'delivered' | 'retrying' | 'failed' | 'disabled';

export interface RetryPolicy {
  /** Delay before the second attempt, in ms; each later one doubles it. */
  baseMs: number;
  /** The longest delay between two attempts, in ms. */
  maxDelayMs: number;
  /** How long after the first attempt a batch is still tried, in ms (7 days by default). */
  retryForMs: number;
}

export interface Decision {
  outcome: Outcome;
  /** When the next attempt is due (epoch ms), for `retrying`. */
  nextAttemptAt?: number;
}

/** The delay after failed attempt number `attempt` (1 for the first): doubled each time, jittered. */
export function retryDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exponential = policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  const capped = Math.min(exponential, policy.maxDelayMs);
  // Between half and all of it, so that endpoints that failed together do not retry together.
  return Math.round(capped / 2 + (capped / 2) * random());
}

export function decide(
  result: AttemptResult,
  attempt: number,
  firstAttemptAt: number,
  now: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Decision {
  if ('status' in result) {
    if (result.status >= 200 && result.status < 300) return { outcome: 'delivered' };
    if (result.status === 410) return { outcome: 'disabled' };
    const retryable = result.status === 429 || result.status >= 500 || result.status < 200;
    if (!retryable) return { outcome: 'failed' };
  }
  const next = now + retryDelay(attempt, policy, random);
  if (next > firstAttemptAt + policy.retryForMs) return { outcome: 'failed' };
  return { outcome: 'retrying', nextAttemptAt: next };
}
