import type { FastifyInstance } from 'fastify';
import type { TokenFailure } from '../contract/oauth.contract.js';
import { tokenOperation } from '../openapi/v2.operations.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { Authenticator } from './authenticator.js';
import { refuseIfThrottled, requireJson } from './v2-auth.hook.js';

// The Authorization Flows page's answer to a wrong key or secret (its only error has no status).
const TOKEN_FAILED: TokenFailure = {
  data: null,
  errors: [{ code: 320001, message: 'Invalid client key and secret' }],
};

/** `POST /v3/oauth/token/generate`: an API client's key and secret for a signed, short-lived token. */
export async function oauthRoutes(
  app: FastifyInstance,
  { auth, throttle }: { auth: Authenticator; throttle?: AuthThrottle },
) {
  app.post(
    '/v3/oauth/token/generate',
    {
      bodyLimit: 16 * 1024,
      // Documented, not validated: a body without a text key and secret is refused like wrong
      // credentials (401), not 400.
      config: { envelope: 'oauth', openapi: tokenOperation },
      onRequest: async (request) => requireJson(request),
    },
    async (request, reply) => {
      const body = request.body as Record<string, unknown> | null;
      const key = body && typeof body === 'object' ? body.key : undefined;
      const secret = body && typeof body === 'object' ? body.secret : undefined;
      if (typeof key === 'string') refuseIfThrottled(throttle, reply, request.ip, `client:${key}`);
      const token =
        typeof key === 'string' &&
        typeof secret === 'string' &&
        key.length <= 200 &&
        secret.length <= 200 &&
        !`${key}${secret}`.includes('\u0000')
          ? await auth.issueToken(key, secret)
          : undefined;
      if (!token) {
        if (typeof key === 'string') throttle?.fail(request.ip, `client:${key}`);
        return reply.code(401).send(TOKEN_FAILED);
      }
      return { data: token, errors: null };
    },
  );
}
