import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../auth/actor.js';
import { AppError } from '../errors.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

/** Who asks, the request id, and the Idempotency-Key with a hash of what the request asked. */
export function requestContext(request: FastifyRequest): RequestContext {
  const actor = request.actor;
  if (!actor) throw new Error('an unauthenticated request reached a /v2 handler');
  const key = request.headers['idempotency-key'];
  // Only writes are replayed; a read ignores the header.
  if (key === undefined || request.method !== 'POST') return { actor, requestId: request.id };
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new AppError(400, 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  const requestHash = createHash('sha256')
    .update(`${request.method} ${request.url}\n`)
    .update(JSON.stringify(request.body ?? null))
    .digest('base64url');
  return { actor, requestId: request.id, idempotency: { key, requestHash } };
}
