import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Access } from '../db/schema.js';
import { AppError, type ErrorCode } from '../errors.js';
import type { Actor } from './actor.js';
import type { AuthThrottle } from './auth-throttle.js';
import { type Authenticator, parseBasicHeader } from './authenticator.js';
import type { RateLimiter } from './rate-limiter.js';

const GRANTS: Record<'READ' | 'WRITE', readonly Access[]> = { READ: ['READ', 'WRITE'], WRITE: ['WRITE'] };

/** The caller, from (in this order) `X-CAP-API-OAUTH-TOKEN`, a Bearer token, or Basic credentials. */
async function identify(
  auth: Authenticator,
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: AuthThrottle | undefined,
): Promise<Actor | undefined> {
  const capToken = request.headers['x-cap-api-oauth-token'];
  // When this header is present it alone decides, whatever else the request carries.
  if (capToken !== undefined)
    return typeof capToken === 'string' ? auth.verifyToken(capToken.trim()) : undefined;
  const header = request.headers.authorization;
  if (header && /^Bearer\s/i.test(header)) return auth.verifyToken(header.slice(7).trim());
  const basic = parseBasicHeader(header);
  if (!basic) return undefined;
  // A till verified moments ago is answered first, whatever others are failing under its name.
  // (Identical attempts in flight share one hash: each of them still counts as a failure.)
  const cached = auth.cachedBasic(basic.username, basic.secret);
  if (cached) {
    const actor = await cached;
    if (!actor) throttle?.fail(request.ip, basic.username);
    return actor;
  }
  refuseIfThrottled(throttle, reply, request.ip, basic.username);
  const actor = await auth.basic(basic.username, basic.secret);
  if (!actor) throttle?.fail(request.ip, basic.username);
  return actor;
}

function carriesCredentials(request: FastifyRequest): boolean {
  return (
    request.headers.authorization !== undefined || request.headers['x-cap-api-oauth-token'] !== undefined
  );
}

/** 429 with Retry-After when this address has failed too often as this name (before any hashing). */
export function refuseIfThrottled(
  throttle: AuthThrottle | undefined,
  reply: FastifyReply,
  address: string,
  name: string,
  code: ErrorCode = 429,
): void {
  const wait = throttle?.wait(address, name) ?? 0;
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    throw new AppError(code);
  }
}

export interface V2AuthOptions {
  auth: Authenticator;
  limiter: RateLimiter;
  /** Requests a minute for a credential that sets no limit of its own; 0 is none. */
  defaultRateLimit: number;
  /** Failed sign-ins per address and name; without it, none are throttled. */
  throttle?: AuthThrottle;
  /**
   * Benchmarks only: a call that carries no credentials acts as this caller. One that carries some
   * is authenticated as usual, so that one server can take turns of each kind (bench/run.ts).
   */
  fixedActor?: Actor;
}

/**
 * Authenticates a /v2 call, then checks its access level, its rate and its content type: in that
 * order, before the body is read (contract section 4).
 */
export function v2AuthHook({ auth, limiter, defaultRateLimit, fixedActor, throttle }: V2AuthOptions) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const actor =
      fixedActor && !carriesCredentials(request)
        ? fixedActor
        : await identify(auth, request, reply, throttle);
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
