import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../clock.js';
import type { Actor } from './actor.js';
import type { CredentialKind, CredentialRepository, StoredCredential } from './credential.repository.js';
import type { SecretBox } from './secret-box.js';
import { verifySecret } from './secret-hash.js';

export interface AuthenticatorDeps {
  credentials: CredentialRepository;
  clock: Clock;
  /** How long a verified credential, or a looked-up API client, is trusted without asking the store. */
  cacheMs: number;
  /** The operator's token signing secret; without one, each org gets a random key kept in the store. */
  jwtSecret?: string | undefined;
  /** Seals the keys kept in the store (LOYALTY_SECRET_KEY). */
  box: SecretBox;
  maxCacheEntries?: number;
  /** The longest token life accepted, in seconds, whatever a token claims (LOYALTY_MAX_TOKEN_TTL_SECONDS). */
  maxTokenTtlSeconds?: number;
}

const ISSUER = 'loyalty-promotions';
const STORED_KID = 'k1';
const CONFIG_KID = 'config';

/** Parses `Basic base64(username:secret)`; undefined when the header is not of that form. */
export function parseBasicHeader(
  header: string | undefined,
): { username: string; secret: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]{1,4096})\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || decoded.includes('\u0000')) return undefined;
  return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** A small time-bounded cache; the oldest entry goes first when it is full. */
class TtlCache<V> {
  private readonly entries = new Map<string, { expiresAt: number; value: V }>();
  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}
  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > this.clock.now()) return hit.value;
    if (hit) this.entries.delete(key);
    return undefined;
  }
  set(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { expiresAt: this.clock.now() + this.ttlMs, value });
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
  deleteWhere(match: (key: string) => boolean): void {
    for (const key of this.entries.keys()) if (match(key)) this.entries.delete(key);
  }
  clear(): void {
    this.entries.clear();
  }
}

function toActor(kind: CredentialKind, c: StoredCredential): Actor {
  return {
    orgId: c.orgId,
    credential: `${kind === 'till' ? 'till' : 'client'}:${c.name}`,
    access: c.access,
    rateLimitPerMinute: c.rateLimitPerMinute,
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

/**
 * Basic credentials of tills and OAuth tokens of API clients. A verified Basic credential is
 * remembered for `cacheMs`, so a busy till pays the slow hash once per lifetime rather than once per
 * call; a changed or disabled credential is honoured at once by the process that changed it, by the
 * others when they hear of it (forget, see credential-events.ts), and within `cacheMs` at worst. A
 * token's signature is checked once per `cacheMs` (and never past its expiry); whether its client is
 * still enabled, as often as for Basic.
 */
export function createAuthenticator({
  credentials,
  clock,
  cacheMs,
  jwtSecret,
  box,
  maxCacheEntries = 10_000,
  maxTokenTtlSeconds = 3600,
}: AuthenticatorDeps) {
  const verified = new TtlCache<Promise<Actor | undefined>>(clock, cacheMs, maxCacheEntries);
  const clients = new TtlCache<Promise<StoredCredential | undefined>>(clock, cacheMs, maxCacheEntries);
  // A token that verified once, with its expiry: a client sends the same token for minutes, and
  // checking its signature again each time cost as much as the rest of authentication together.
  const tokens = new TtlCache<{ orgId: number; clientId: string; expiresAtMs: number; generation: number }>(
    clock,
    cacheMs,
    maxCacheEntries,
  );
  const keys = new Map<number, Promise<Uint8Array>>();
  const configKey = jwtSecret ? new TextEncoder().encode(jwtSecret) : undefined;

  async function checkSecret(
    kind: CredentialKind,
    name: string,
    secret: string,
  ): Promise<StoredCredential | undefined> {
    const found = await credentials.find(kind, name);
    // Hash even for an unknown name, so that timing does not tell which names exist.
    const ok = await verifySecret(secret, found?.secretHash ?? DUMMY_HASH);
    return found && ok && !found.disabled ? found : undefined;
  }

  function client(key: string): Promise<StoredCredential | undefined> {
    let found = clients.get(key);
    if (!found) {
      found = credentials.find('apiClient', key);
      clients.set(key, found);
      found.catch(() => clients.delete(key));
    }
    return found;
  }

  /** The org's signing key; `create` makes and stores one if the org has none yet. */
  function signingKey(orgId: number, create: boolean): Promise<Uint8Array | undefined> {
    if (configKey) return Promise.resolve(configKey);
    const cached = keys.get(orgId);
    if (cached) return cached;
    const key = (async () => {
      const stored =
        (await credentials.findSigningKey(orgId, STORED_KID)) ??
        (create
          ? await credentials.ensureSigningKey(
              orgId,
              STORED_KID,
              box.seal('oauth-signing-key', orgId, randomBytes(32).toString('base64url')),
              clock.now(),
            )
          : undefined);
      if (stored === undefined) return undefined;
      // A key that does not open throws: the start-up check makes that a key rotated away under
      // this process, an error to see (503), never a quiet refusal of every token.
      return new Uint8Array(Buffer.from(box.open('oauth-signing-key', orgId, stored), 'base64url'));
    })();
    // Only a found key is remembered, so that a key made later (by another process) is seen.
    key.then(
      (k) => (k ? keys.set(orgId, key as Promise<Uint8Array>) : undefined),
      () => undefined,
    );
    return key;
  }

  /**
   * The API client a verified token names, if it still exists, belongs to the org, is enabled and
   * has not changed since the token was issued: a token carries its client's `updatedAt` (its
   * generation), so a rotation, a disable (even one undone) or any other change revokes it.
   */
  async function activeClient(
    orgId: number,
    clientId: string,
    generation: number,
  ): Promise<Actor | undefined> {
    const found = await client(clientId);
    if (!found || found.disabled || found.orgId !== orgId || found.updatedAt !== generation) return undefined;
    return toActor('apiClient', found);
  }

  const basicKey = (username: string, secret: string) =>
    `${username}\u0000${createHash('sha256').update(secret).digest('base64')}`;

  return {
    /** A till this process verified recently, without hashing or asking the store; else undefined. */
    cachedBasic(username: string, secret: string): Promise<Actor | undefined> | undefined {
      return verified.get(basicKey(username, secret));
    },

    /** A till by `username` and the `md5hex(password)` it sends. */
    async basic(username: string, secret: string): Promise<Actor | undefined> {
      const cacheKey = basicKey(username, secret);
      const hit = verified.get(cacheKey);
      if (hit) return hit;
      const pending = checkSecret('till', username, secret).then((c) => (c ? toActor('till', c) : undefined));
      verified.set(cacheKey, pending);
      const actor = await pending.catch((err) => {
        verified.delete(cacheKey);
        throw err;
      });
      // Only successes are remembered: a failure is checked afresh next time.
      if (!actor) verified.delete(cacheKey);
      return actor;
    },

    /** A signed token for an API client's key and secret, or undefined when they do not match. */
    async issueToken(
      key: string,
      secret: string,
    ): Promise<{ accessToken: string; ttlSeconds: number } | undefined> {
      const found = await checkSecret('apiClient', key, secret);
      if (!found) return undefined;
      const ttlSeconds = Math.min(found.tokenTtlSeconds ?? 300, maxTokenTtlSeconds);
      const now = Math.floor(clock.now() / 1000);
      const accessToken = await new SignJWT({
        org_id: found.orgId,
        client_id: found.name,
        gen: found.updatedAt,
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: configKey ? CONFIG_KID : STORED_KID })
        .setIssuer(ISSUER)
        .setSubject(found.name)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign((await signingKey(found.orgId, true)) as Uint8Array);
      return { accessToken, ttlSeconds };
    },

    /** The API client a token speaks for, if its signature, expiry and client all hold. */
    async verifyToken(token: string): Promise<Actor | undefined> {
      if (token.length > 4096) return undefined;
      const known = tokens.get(token);
      if (known && known.expiresAtMs > clock.now())
        return activeClient(known.orgId, known.clientId, known.generation);
      let orgId: unknown;
      try {
        // Read unverified only to choose the org's key; nothing is trusted before jwtVerify.
        const header = decodeProtectedHeader(token);
        if (header.alg !== 'HS256') return undefined;
        orgId = decodeJwt(token).org_id;
      } catch {
        return undefined;
      }
      if (typeof orgId !== 'number' || !Number.isSafeInteger(orgId) || orgId <= 0) return undefined;
      // A store failure here is a 503 for the caller, not a refusal: it is not caught below.
      const key = await signingKey(orgId, false);
      if (!key) return undefined;
      let clientId: unknown;
      let generation: unknown;
      let expiresAtMs: number;
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          currentDate: new Date(clock.now()),
          requiredClaims: ['exp', 'iat', 'org_id', 'client_id', 'gen'],
          // Issued at most this long ago...
          maxTokenAge: maxTokenTtlSeconds,
        });
        if (payload.org_id !== orgId) return undefined;
        // ...and meant to live no longer, whatever a forged or an old-configuration token says.
        if ((payload.exp as number) - (payload.iat as number) > maxTokenTtlSeconds) return undefined;
        clientId = payload.client_id;
        generation = payload.gen;
        expiresAtMs = (payload.exp as number) * 1000;
      } catch {
        return undefined;
      }
      if (typeof clientId !== 'string' || typeof generation !== 'number') return undefined;
      tokens.set(token, { orgId, clientId, expiresAtMs, generation });
      return activeClient(orgId, clientId, generation);
    },

    /**
     * Forgets what this process remembers of one credential: a change made by another process is
     * honoured at once when it is reported here (a till's verified secrets, an API client's record
     * and so its token generation). credential-events.ts reports every change any process commits.
     */
    forget(kind: CredentialKind, name: string): void {
      if (kind === 'apiClient') clients.delete(name);
      else verified.deleteWhere((key) => key.startsWith(`${name}\u0000`));
    },

    /** Forgets every remembered credential (after a rotation, a disable or an access change here). */
    clear(): void {
      verified.clear();
      clients.clear();
      tokens.clear();
    },
  };
}

// A real scrypt hash of a random secret, checked against for unknown names.
const DUMMY_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$2Vb1cDpxAGp8Vp1kq3GmYgUKzFtV0ZsJ5w6Aev3jWmA';
