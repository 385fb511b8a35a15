import type { Clock } from '../clock.js';
import type { Store } from '../db/database.js';
import { createRateLimitRepository, type RateLimitRepository } from './rate-limit.repository.js';

const WINDOW_MS = 60_000;

/** What a request is told of its credential's limit (the IETF RateLimit fields) and whether it may go on. */
export interface RateDecision {
  limit: number;
  /** Requests left in the window after this one. */
  remaining: number;
  /** Seconds until the window ends. */
  resetSeconds: number;
  /** 0 when the request may go on, else the seconds to wait (Retry-After). */
  retryAfter: number;
}

export interface RateLimiter {
  /** Counts one request of the credential; undefined when it has no limit (0 or null). */
  take(
    orgId: number,
    credential: string,
    limit: number | null,
  ): RateDecision | undefined | Promise<RateDecision | undefined>;
}

/**
 * Fixed one-minute windows aligned on the clock's minutes, so that every process agrees on which
 * window a request falls in.
 */
function windowAt(now: number): { start: number; resetSeconds: number } {
  const start = now - (((now % WINDOW_MS) + WINDOW_MS) % WINDOW_MS);
  return { start, resetSeconds: Math.max(1, Math.ceil((start + WINDOW_MS - now) / 1000)) };
}

function decide(limit: number, used: number, resetSeconds: number): RateDecision {
  return {
    limit,
    remaining: Math.max(0, limit - used),
    resetSeconds,
    retryAfter: used > limit ? resetSeconds : 0,
  };
}

/**
 * Counted in this process's memory: for a store that only this process writes (SQLite), at no cost
 * beyond a map lookup.
 */
export function createRateLimiter(clock: Clock, maxKeys = 100_000): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    take(orgId, credential, limit) {
      if (!limit) return undefined;
      const key = `${orgId}\u0000${credential}`;
      const { start, resetSeconds } = windowAt(clock.now());
      let window = windows.get(key);
      if (!window || window.start !== start) {
        if (!window && windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
        window = { start, count: 0 };
        windows.set(key, window);
      }
      window.count += 1;
      return decide(limit, window.count, resetSeconds);
    },
  };
}

/**
 * How many requests a process takes from the shared count at once: 1 under 200 a minute (every
 * request is counted in the store), else a hundredth of the limit, at most 100. A process never
 * lets through a request it has not taken, so all processes together let through at most the
 * limit; what a process took and did not use in its window is lost (at most 1% of the limit each).
 */
export function leaseSize(limit: number): number {
  return Math.max(1, Math.min(100, Math.floor(limit / 100)));
}

interface Lease {
  start: number;
  /** Requests taken from the store and not yet used. */
  left: number;
  /** The shared count when last read. */
  seen: number;
  /** The store said the window is used up: no need to ask again before it ends. */
  full: boolean;
}

/**
 * Counted in the store that every process shares (PostgreSQL): a process takes requests from the
 * window's shared count a lease at a time (one upsert per lease, see leaseSize) and lets them
 * through from memory. Once the count says the window is full, the process refuses without asking
 * again until the next window. Old windows' rows are deleted once a minute per process.
 */
export function createSharedRateLimiter(
  clock: Clock,
  counts: RateLimitRepository,
  onError: (err: unknown) => void = () => undefined,
  maxKeys = 100_000,
): RateLimiter {
  const leases = new Map<string, Lease>();
  let cleanedBefore = 0;
  return {
    async take(orgId, credential, limit) {
      if (!limit) return undefined;
      const key = `${orgId}\u0000${credential}`;
      const { start, resetSeconds } = windowAt(clock.now());
      let lease = leases.get(key);
      if (!lease || lease.start !== start) {
        if (!lease && leases.size >= maxKeys) leases.delete(leases.keys().next().value as string);
        lease = { start, left: 0, seen: 0, full: false };
        leases.set(key, lease);
      }
      if (lease.left === 0 && !lease.full) {
        const size = leaseSize(limit);
        const count = await counts.add(orgId, credential, start, size);
        const granted = Math.max(0, Math.min(size, limit - (count - size)));
        lease.left += granted;
        lease.seen = Math.max(lease.seen, count);
        if (granted < size) lease.full = true;
        if (start > cleanedBefore) {
          cleanedBefore = start;
          counts.deleteBefore(start - WINDOW_MS).catch(onError);
        }
      }
      if (lease.left === 0) return decide(limit, limit + 1, resetSeconds);
      lease.left -= 1;
      // Left in the window: what no process has taken yet, and what this one holds unused.
      const remaining = Math.max(0, limit - lease.seen) + lease.left;
      return { limit, remaining, resetSeconds, retryAfter: 0 };
    },
  };
}

/**
 * The shared limiter while its store answers; while it does not (Redis down), this process's own
 * count, so that requests go on, each process allowing the limit (told once an outage to `onError`).
 */
export function createFailoverRateLimiter(
  shared: RateLimiter,
  local: RateLimiter,
  onError: (err: unknown) => void,
): RateLimiter {
  let failing = false;
  return {
    async take(orgId, credential, limit) {
      try {
        const decision = await shared.take(orgId, credential, limit);
        failing = false;
        return decision;
      } catch (err) {
        if (!failing) onError(err);
        failing = true;
        return local.take(orgId, credential, limit);
      }
    },
  };
}

/**
 * The limiter a deployment uses: counted in Redis when REDIS_URL is set, else in PostgreSQL when
 * several processes share the store, else (SQLite, one process) in memory. Answers it and what
 * closes it.
 */
export async function rateLimiterFor(
  redisUrl: string | undefined,
  store: Store,
  clock: Clock,
  warn: (err: unknown, message: string) => void,
): Promise<{ limiter: RateLimiter; close: () => Promise<void> }> {
  const cleanupFailed = (err: unknown) => warn(err, 'could not delete old rate limit windows');
  if (redisUrl) {
    // Loaded only here: ioredis weighs about 9 MB of every process's memory, and most run without it.
    const { createRedisRateLimitRepository } = await import('./rate-limit-redis.repository.js');
    const redis = createRedisRateLimitRepository(redisUrl);
    await redis.open((err) => warn(err, 'Redis (REDIS_URL) is not answering; rate limits count per process'));
    const shared = createSharedRateLimiter(clock, redis, cleanupFailed);
    const limiter = createFailoverRateLimiter(shared, createRateLimiter(clock), (err) =>
      warn(err, 'rate limits count in this process until Redis (REDIS_URL) answers again'),
    );
    return { limiter, close: () => redis.close() };
  }
  const limiter = store.dialect.sharedByProcesses
    ? createSharedRateLimiter(clock, createRateLimitRepository(store.db), cleanupFailed)
    : createRateLimiter(clock);
  return { limiter, close: async () => undefined };
}
