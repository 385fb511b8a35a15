import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthThrottle } from '../auth/auth-throttle.js';
import { safeEqual } from '../auth/secret-hash.js';
import { refuseIfThrottled } from '../auth/v2-auth.hook.js';
import { MIN_ADMIN_TOKEN_BYTES } from '../config.js';
import { auditWho } from '../console-auth/console-session.hook.js';
import { AppError } from '../errors.js';

/**
 * The operator's bearer token, for every scope behind it (the management API, events and webhooks,
 * bulk jobs): one check, so that each scope throttles wrong tokens per address the same way. A call
 * with a console session instead (no Authorization header) was already checked for its session, CSRF
 * token, role and org scope by console-session.hook, which ran first and set `consoleUser`.
 */
export function adminTokenHook(adminToken: string | undefined, throttle: AuthThrottle | undefined) {
  // Without a configured token of 32 bytes or more the scope is off: nothing can open it.
  const enabled = adminToken !== undefined && Buffer.byteLength(adminToken) >= MIN_ADMIN_TOKEN_BYTES;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const log = request.log as typeof request.log & { setBindings?: (bindings: object) => void };
    if (enabled && request.consoleUser !== null) {
      log.setBindings?.({ credential: auditWho(request) });
      return;
    }
    const header = request.headers.authorization ?? '';
    const token = /^Bearer\s/i.test(header) ? header.slice(7).trim() : '';
    const address = `admin:${request.ip}`;
    refuseIfThrottled(throttle, reply, address, address, 'too_many_requests');
    if (!enabled || !token || !safeEqual(token, adminToken as string)) {
      throttle?.fail(address, address);
      throw new AppError('unauthorized');
    }
    // Later log lines of the request say who made it (the token itself never).
    log.setBindings?.({ credential: 'admin' });
  };
}
