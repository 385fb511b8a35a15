import { describe, expect, it } from 'vitest';
import { decide, type RetryPolicy, retryDelay } from '../../src/events/delivery.plan.js';

const DAY = 86_400_000;
const policy: RetryPolicy = { baseMs: 5_000, maxDelayMs: 3_600_000, retryForMs: 7 * DAY };

describe('the delivery plan', () => {
  it('delivers on 2xx, turns the endpoint off on 410, and does not retry another 4xx', () => {
    for (const status of [200, 201, 204, 299])
      expect(decide({ status }, 1, 0, 0, policy).outcome).toBe('delivered');
    expect(decide({ status: 410 }, 1, 0, 0, policy).outcome).toBe('disabled');
    for (const status of [400, 401, 403, 404, 409, 413, 422, 301, 302])
      expect(decide({ status }, 1, 0, 0, policy).outcome, String(status)).toBe('failed');
  });

  it('retries 429, 5xx, timeouts and network errors', () => {
    for (const result of [
      { status: 429 },
      { status: 500 },
      { status: 503 },
      { error: 'no answer within 10000 ms' },
    ]) {
      const d = decide(result, 1, 1_000, 1_000, policy, () => 0.5);
      expect(d.outcome).toBe('retrying');
      expect(d.nextAttemptAt).toBe(1_000 + 3_750);
    }
  });

  it('doubles the delay each attempt up to an hour, jittered between half and all of it', () => {
    expect([1, 2, 3, 4].map((a) => retryDelay(a, policy, () => 1))).toStrictEqual([
      5_000, 10_000, 20_000, 40_000,
    ]);
    expect(retryDelay(1, policy, () => 0)).toBe(2_500);
    expect(retryDelay(30, policy, () => 1)).toBe(3_600_000);
    expect(retryDelay(1000, policy, () => 0)).toBe(1_800_000);
  });

  it('gives up once the next try would fall past the retry period since the first attempt', () => {
    const first = 0;
    expect(decide({ status: 503 }, 200, first, 7 * DAY - 3_600_000, policy, () => 0.5).outcome).toBe(
      'retrying',
    );
    expect(decide({ status: 503 }, 200, first, 7 * DAY - 1_000, policy, () => 0.5).outcome).toBe('failed');
  });
});
