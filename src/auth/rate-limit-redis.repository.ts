import { Redis } from 'ioredis';
import type { RateLimitRepository } from './rate-limit.repository.js';

/** A window's count outlives the window by a minute, for a process whose clock lags a little. */
const KEEP_MS = 120_000;

export interface RedisRateLimitRepository extends RateLimitRepository {
  /** Connects (at start, so that a wrong REDIS_URL shows in the log at once); never throws. */
  open(onError: (err: unknown) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * The shared request counters in Redis (REDIS_URL): one key per credential and window, added to with
 * INCRBY and expiring on their own, so there is nothing to delete. A command that cannot be sent at
 * once (Redis down, reconnecting) fails at once rather than waiting in a queue: the limiter then
 * counts in memory until Redis is back (see createFailoverRateLimiter).
 */
export function createRedisRateLimitRepository(url: string): RedisRateLimitRepository {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    // Reconnects for ever, at most a second apart.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
  const keyOf = (orgId: number, credential: string, windowStart: number) =>
    `loyalty:rate:${orgId}:${windowStart}:${credential}`;
  return {
    async add(orgId, credential, windowStart, n) {
      const key = keyOf(orgId, credential, windowStart);
      const results = await redis.multi().incrby(key, n).pexpire(key, KEEP_MS).exec();
      const [err, count] = results?.[0] ?? [new Error('Redis answered no result'), null];
      if (err) throw err;
      return Number(count);
    },
    async deleteBefore() {},
    async open(onError) {
      // Told once an outage (ioredis retries every second, each failing until Redis is back).
      let up = true;
      redis.on('ready', () => {
        up = true;
      });
      redis.on('error', (err) => {
        if (up) onError(err);
        up = false;
      });
      await redis.connect().catch(() => undefined);
    },
    async close() {
      redis.disconnect();
    },
  };
}
