import type { Clock } from '../clock.js';

const WINDOW_MS = 60_000;

/** Failed sign-ins a minute: from one address for one name, for one name from anywhere, from one address. */
export interface ThrottleLimits {
  perAddressAndName: number;
  /** Looser, so that an attacker elsewhere cannot lock a real user out by failing under their name. */
  perName: number;
  perAddress: number;
}

export const DEFAULT_THROTTLE: Readonly<ThrottleLimits> = Object.freeze({
  perAddressAndName: 10,
  perName: 100,
  perAddress: 100,
});

export type AuthThrottle = ReturnType<typeof createAuthThrottle>;

/**
 * Counts failed sign-ins (Basic, the OAuth token endpoint, the admin token) in fixed one-minute
 * windows in this process's memory. A caller over a limit is refused before any secret is hashed,
 * so a flood of wrong passwords costs the server a map lookup, not an scrypt. Only failures count:
 * a client that signs in correctly is never slowed by its own traffic.
 */
export function createAuthThrottle(
  clock: Clock,
  limits: ThrottleLimits = DEFAULT_THROTTLE,
  maxKeys = 100_000,
) {
  const windows = new Map<string, { start: number; count: number }>();

  function current(key: string): { start: number; count: number } | undefined {
    const w = windows.get(key);
    if (w && clock.now() - w.start < WINDOW_MS) return w;
    if (w) windows.delete(key);
    return undefined;
  }

  const keys = (address: string, name: string) =>
    [
      [`an\u0000${address}\u0000${name}`, limits.perAddressAndName],
      [`n\u0000${name}`, limits.perName],
      [`a\u0000${address}`, limits.perAddress],
    ] as const;

  return {
    /** Seconds to wait before this address may try this name again; 0 when it may now. */
    wait(address: string, name: string): number {
      let wait = 0;
      for (const [key, limit] of keys(address, name)) {
        const w = current(key);
        if (w && w.count >= limit) {
          wait = Math.max(wait, Math.ceil((w.start + WINDOW_MS - clock.now()) / 1000), 1);
        }
      }
      return wait;
    },

    /** Counts one failed sign-in. */
    fail(address: string, name: string): void {
      for (const [key] of keys(address, name)) {
        const w = current(key);
        if (w) w.count += 1;
        else {
          if (windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
          windows.set(key, { start: clock.now(), count: 1 });
        }
      }
    },
  };
}
