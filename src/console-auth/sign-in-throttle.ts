import type { Clock } from '../clock.js';

const WINDOW_MS = 15 * 60_000;

/**
 * Failed sign-ins, counted per key (a username, an address) in this process's memory over a window of
 * 15 minutes; past the limit, further attempts are refused before a password is checked.
 */
export function createSignInThrottle(clock: Clock, limit: number, maxKeys = 100_000) {
  const failures = new Map<string, { start: number; count: number }>();
  const current = (key: string) => {
    const entry = failures.get(key);
    if (entry && clock.now() - entry.start >= WINDOW_MS) {
      failures.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    /** Seconds to wait before this key may try again; 0 when it may now. */
    waitSeconds(key: string): number {
      const entry = current(key);
      if (!entry || entry.count < limit) return 0;
      return Math.max(1, Math.ceil((entry.start + WINDOW_MS - clock.now()) / 1000));
    },
    fail(key: string): void {
      const entry = current(key);
      if (entry) entry.count += 1;
      else {
        if (failures.size >= maxKeys) failures.delete(failures.keys().next().value as string);
        failures.set(key, { start: clock.now(), count: 1 });
      }
    },
    succeed(key: string): void {
      failures.delete(key);
    },
  };
}
