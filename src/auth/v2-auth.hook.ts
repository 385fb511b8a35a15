import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Access } from '../db/schema.js';
import { AppError } from '../errors.js';
import type { BasicAuthService } from './basic-auth.service.js';
import { parseBasicHeader } from './basic-auth.service.js';

const GRANTS: Record<'READ' | 'WRITE', readonly Access[]> = { READ: ['READ', 'WRITE'], WRITE: ['WRITE'] };

/**
 * Authenticates a /v2 call, then checks its access level, then its content type: in that order,
 * before the body is read (contract section 4).
 */
export function v2AuthHook(basic: BasicAuthService) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const credentials = parseBasicHeader(request.headers.authorization);
    const actor = credentials
      ? await basic.authenticate(credentials.username, credentials.secret)
      : undefined;
    if (!actor) throw new AppError(401);
    const needed = request.routeOptions.config.access ?? 'WRITE';
    if (!GRANTS[needed].includes(actor.access)) throw new AppError(4000);
    request.actor = actor;
    if (request.method === 'POST') requireJson(request);
  };
}

/** application/json, with or without parameters; anything else, a missing type included, is 415. */
export function requireJson(request: FastifyRequest): void {
  const type = request.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new AppError(415);
}
