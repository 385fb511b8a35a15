/** The time source of the services; tests pass a fixed one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(at: number | string | Date): Clock & { set(at: number | string | Date): void } {
  let current = new Date(at).getTime();
  return {
    now: () => current,
    set(next) {
      current = new Date(next).getTime();
    },
  };
}
