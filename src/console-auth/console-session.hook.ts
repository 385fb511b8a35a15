import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from '../auth/secret-hash.js';
import { AppError } from '../errors.js';
import { consoleMayCall } from './console-access.policy.js';
import type { ConsoleCaller, ConsoleUserService } from './console-user.service.js';

export const SESSION_COOKIE = 'loyalty_session';
export const CSRF_HEADER = 'x-csrf-token';
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session cookie's value, if the request carries one. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}

/** HttpOnly, SameSite=Strict, and Secure whenever the browser reached us over https. */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  value: string,
  maxAgeSeconds: number,
) {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`,
  );
}

/** Who the audit log names for a change: the console user, else the admin token's holder. */
export function auditWho(request: FastifyRequest): string {
  return request.consoleUser ? `user:${request.consoleUser.username}` : `admin@${request.ip}`;
}

/** The org a call names: its path's, else (the audit log) its query's. */
function orgOf(request: FastifyRequest): number | undefined {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const raw = params.orgId ?? query.orgId;
  if (raw === undefined || raw === '') return undefined;
  const id = Number(raw);
  // Not a number: the route's validation refuses it; until then it names no org anyone holds.
  return Number.isSafeInteger(id) ? id : -1;
}

/**
 * Checks the session of a browser call: a live session, the CSRF token on every change (a page of
 * another site can make the browser send the cookie, but cannot read the token), a same-origin
 * Origin when one is sent, and the role and org scope the call needs.
 */
export async function authoriseConsoleCall(
  request: FastifyRequest,
  users: ConsoleUserService,
  /** False for the session's own routes (reading it, signing out), which every role may use. */
  checkRole = true,
): Promise<ConsoleCaller> {
  const cookie = sessionCookie(request);
  const caller = cookie ? await users.resolve(cookie) : undefined;
  if (!caller)
    throw new AppError('unauthorized', 'Sign in to the console: your session has ended or never began');
  if (!READS.has(request.method)) {
    const token = request.headers[CSRF_HEADER];
    if (typeof token !== 'string' || !safeEqual(token, caller.csrfToken)) {
      throw new AppError('forbidden', 'The CSRF token is missing or wrong: reload the console', CSRF_HEADER);
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== request.headers.host) throw new AppError('forbidden', 'Cross-origin changes are refused');
    }
  }
  if (!checkRole) {
    request.consoleUser = caller;
    return caller;
  }
  const decision = consoleMayCall(caller, {
    method: request.method,
    route: request.routeOptions.url ?? request.url,
    orgId: orgOf(request),
  });
  if (!decision.allowed) throw new AppError('forbidden', decision.reason);
  request.consoleUser = caller;
  return caller;
}

/**
 * For the management API: a call without an Authorization header but with a console session acts as
 * that session's user. A call with a header is the admin token's business (checked by the API's own
 * hook); a session never reaches /v2, whose hook reads only the Authorization header.
 */
export function consoleSessionHook(users: ConsoleUserService) {
  return async (request: FastifyRequest) => {
    if (!request.url.startsWith('/admin/') || request.headers.authorization !== undefined) return;
    if (sessionCookie(request) === undefined) return;
    await authoriseConsoleCall(request, users);
  };
}
