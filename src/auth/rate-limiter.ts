import type { Clock } from '../clock.js';

const WINDOW_MS = 60_000;

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/**
 * Requests a minute per credential, in fixed one-minute windows, counted in this process's memory
 * (several processes each allow the limit). A limit of 0 or null means no limit.
 */
export function createRateLimiter(clock: Clock, maxKeys = 100_000) {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    /** Counts one request; answers the seconds to wait when it is over the limit, else 0. */
    take(key: string, limit: number | null): number {
      if (!limit) return 0;
      const now = clock.now();
      let window = windows.get(key);
      if (!window || now - window.start >= WINDOW_MS) {
        if (!window && windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
        window = { start: now, count: 0 };
        windows.set(key, window);
      }
      window.count += 1;
      if (window.count <= limit) return 0;
      return Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000));
    },
  };
}
