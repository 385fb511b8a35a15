import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Actor } from './actor.js';
import type { CredentialRepository } from './credential.repository.js';
import { verifySecret } from './secret-hash.js';

export interface BasicAuthDeps {
  credentials: CredentialRepository;
  clock: Clock;
  /** How long a verified username and secret are trusted without hashing again. */
  cacheMs: number;
  maxCacheEntries?: number;
}

export type BasicAuthService = ReturnType<typeof createBasicAuthService>;

/** Parses `Basic base64(username:secret)`; undefined when the header is not of that form. */
export function parseBasicHeader(
  header: string | undefined,
): { username: string; secret: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]{1,4096})\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * Verifies till credentials (`username:md5hex(password)`) against their slow hash, and remembers a
 * success for `cacheMs` so that a busy till pays the hash once per lifetime, not once per call.
 * Concurrent first calls with the same credentials share one verification.
 */
export function createBasicAuthService({
  credentials,
  clock,
  cacheMs,
  maxCacheEntries = 10_000,
}: BasicAuthDeps) {
  const cache = new Map<string, { expiresAt: number; actor: Promise<Actor | undefined> }>();

  async function verify(username: string, secret: string): Promise<Actor | undefined> {
    const till = await credentials.findTill(username);
    // Hash even for an unknown till, so that timing does not tell which usernames exist.
    const ok = await verifySecret(secret, till?.secretHash ?? DUMMY_HASH);
    if (!till || !ok || till.disabled) return undefined;
    return { orgId: till.orgId, credential: `till:${username}`, access: till.access };
  }

  return {
    async authenticate(username: string, secret: string): Promise<Actor | undefined> {
      const key = `${username}\u0000${createHash('sha256').update(secret).digest('base64')}`;
      const now = clock.now();
      const hit = cache.get(key);
      if (hit && hit.expiresAt > now) return hit.actor;
      const actor = verify(username, secret);
      if (cacheMs > 0) {
        if (cache.size >= maxCacheEntries) cache.delete(cache.keys().next().value as string);
        cache.set(key, { expiresAt: now + cacheMs, actor });
      }
      const result = await actor.catch((err) => {
        cache.delete(key);
        throw err;
      });
      // Only successes are remembered: a failure is checked afresh next time.
      if (!result) cache.delete(key);
      return result;
    },
    /** Forgets every remembered credential (after a rotation or a disable in this process). */
    clear(): void {
      cache.clear();
    },
  };
}

// A real hash of a random secret, used for unknown usernames.
const DUMMY_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$2Vb1cDpxAGp8Vp1kq3GmYgUKzFtV0ZsJ5w6Aev3jWmA';
