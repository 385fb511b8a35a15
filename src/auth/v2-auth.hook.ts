import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Access } from '../db/schema.js';
import { AppError } from '../errors.js';
import type { Actor } from './actor.js';
import { type Authenticator, parseBasicHeader } from './authenticator.js';
import type { RateLimiter } from './rate-limiter.js';

const GRANTS: Record<'READ' | 'WRITE', readonly Access[]> = { READ: ['READ', 'WRITE'], WRITE: ['WRITE'] };

/** The caller, from (in this order) `X-CAP-API-OAUTH-TOKEN`, a Bearer token, or Basic credentials. */
async function identify(auth: Authenticator, request: FastifyRequest): Promise<Actor | undefined> {
  const capToken = request.headers['x-cap-api-oauth-token'];
  // When this header is present it alone decides, whatever else the request carries.
  if (capToken !== undefined)
    return typeof capToken === 'string' ? auth.verifyToken(capToken.trim()) : undefined;
  const header = request.headers.authorization;
  if (header && /^Bearer\s/i.test(header)) return auth.verifyToken(header.slice(7).trim());
  const basic = parseBasicHeader(header);
  return basic ? auth.basic(basic.username, basic.secret) : undefined;
}

export interface V2AuthOptions {
  auth: Authenticator;
  limiter: RateLimiter;
  /** Requests a minute for a credential that sets no limit of its own; 0 is none. */
  defaultRateLimit: number;
  /** Benchmarks only: act as this caller and skip authentication. */
  fixedActor?: Actor;
}

/**
 * Authenticates a /v2 call, then checks its access level, its rate and its content type: in that
 * order, before the body is read (contract section 4).
 */
export function v2AuthHook({ auth, limiter, defaultRateLimit, fixedActor }: V2AuthOptions) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const actor = fixedActor ?? (await identify(auth, request));
    if (!actor) throw new AppError(401);
    const needed = request.routeOptions.config.access ?? 'WRITE';
    if (!GRANTS[needed].includes(actor.access)) throw new AppError(4000);
    const rate = await limiter.take(
      actor.orgId,
      actor.credential,
      actor.rateLimitPerMinute ?? defaultRateLimit,
    );
    if (rate) {
      // draft-ietf-httpapi-ratelimit-headers: the policy (quota a 60 s window) and where it stands.
      reply.header('ratelimit-policy', `"credential";q=${rate.limit};w=60`);
      reply.header('ratelimit', `"credential";r=${rate.remaining};t=${rate.resetSeconds}`);
      if (rate.retryAfter > 0) {
        reply.header('retry-after', String(rate.retryAfter));
        throw new AppError(429);
      }
    }
    request.actor = actor;
    // Every later log line of the request names who made it (never with a secret).
    // (The request's child logger is shared with its reply, so the closing line carries them too.)
    const log = request.log as FastifyBaseLogger & { setBindings?: (bindings: object) => void };
    log.setBindings?.({ credential: actor.credential, orgId: actor.orgId });
    if (request.method === 'POST') requireJson(request);
  };
}

/** application/json, with or without parameters; anything else, a missing type included, is 415. */
export function requireJson(request: FastifyRequest): void {
  const type = request.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new AppError(415);
}
