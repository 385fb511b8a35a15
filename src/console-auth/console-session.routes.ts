import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { adminSchemaErrorFormatter, adminValidatorCompiler } from '../admin/admin-validation.js';
import { requireJson } from '../auth/v2-auth.hook.js';
import type { Clock } from '../clock.js';
import { ref } from '../contract/components.contract.js';
import * as C from '../contract/console.contract.js';
import { AppError } from '../errors.js';
import { CONSOLE_SECURITY } from '../openapi/swagger.js';
import {
  authoriseConsoleCall,
  SESSION_COOKIE,
  sessionCookie,
  setSessionCookie,
} from './console-session.hook.js';
import type { ConsoleUserService, SessionTimes } from './console-user.service.js';
import { createSignInThrottle } from './sign-in-throttle.js';

export interface ConsoleSessionRoutesOptions {
  users: ConsoleUserService;
  clock: Clock;
  times: SessionTimes;
  /** Failed sign-ins per username, and per address, in 15 minutes before further ones are refused. */
  maxFailedSignIns: number;
}

const error = ref('AdminError') as TSchema;
const doc = <Parts extends { body?: TSchema }>(
  operationId: string,
  summary: string,
  parts: Parts,
  response: Record<number, TSchema>,
) => ({
  schema: { operationId, summary, tags: ['console'], security: CONSOLE_SECURITY, ...parts, response },
});
const opts = { config: { envelope: 'admin' as const }, bodyLimit: 16 * 1024 };

/** Signing in and out of the console, and what the page needs to know of its user. */
export async function consoleSessionRoutes(fastify: FastifyInstance, options: ConsoleSessionRoutesOptions) {
  const { users, times } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(adminValidatorCompiler);
  app.setSchemaErrorFormatter(adminSchemaErrorFormatter);
  const throttle = createSignInThrottle(options.clock, options.maxFailedSignIns);
  // Per address too, with room for an office behind one address.
  const addressThrottle = createSignInThrottle(options.clock, options.maxFailedSignIns * 4);

  app.post(
    '/console/api/session',
    {
      ...opts,
      // A JSON body only: a form of another site cannot post one without a CORS preflight.
      onRequest: async (request) => requireJson(request),
      ...doc(
        'signInToConsole',
        'Sign in: sets the HttpOnly session cookie and answers the CSRF token',
        { body: C.SignInBody },
        { 200: ref('ConsoleSession') as TSchema, 400: error, 401: error, 415: error, 429: error },
      ),
    },
    async (request, reply) => {
      const userKey = `user:${request.body.username.toLowerCase()}`;
      const addressKey = `ip:${request.ip}`;
      const wait = Math.max(throttle.waitSeconds(userKey), addressThrottle.waitSeconds(addressKey));
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new AppError('too_many_requests', 'Too many failed sign-ins: try again later');
      }
      const signedIn = await users.signIn(request.body);
      if (!signedIn) {
        throttle.fail(userKey);
        addressThrottle.fail(addressKey);
        throw new AppError('unauthorized', 'Wrong username or password, or the user is disabled');
      }
      throttle.succeed(userKey);
      setSessionCookie(request, reply, signedIn.cookie, Math.floor(times.absoluteMs / 1000));
      return signedIn.session;
    },
  );

  app.get(
    '/console/api/session',
    {
      ...opts,
      ...doc(
        'getConsoleSession',
        'The signed-in user and its CSRF token',
        {},
        { 200: ref('ConsoleSession') as TSchema, 401: error },
      ),
    },
    async (request) => {
      const caller = await authoriseConsoleCall(request, users, false);
      return {
        username: caller.username,
        role: caller.role,
        orgIds: caller.orgIds,
        csrfToken: caller.csrfToken,
        expiresAt: new Date(caller.expiresAt).toISOString(),
      };
    },
  );

  app.delete(
    '/console/api/session',
    {
      ...opts,
      ...doc(
        'signOutOfConsole',
        'Sign out: the session ends and its cookie is cleared',
        {},
        { 204: { type: 'null' } as TSchema, 401: error, 403: error },
      ),
    },
    async (request, reply) => {
      await authoriseConsoleCall(request, users, false);
      const cookie = sessionCookie(request);
      if (cookie) await users.signOut(cookie);
      reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return reply.code(204).send();
    },
  );

  app.get(
    '/console/api/orgs',
    {
      ...opts,
      ...doc(
        'listConsoleOrgs',
        'The orgs the signed-in user may act on',
        {},
        { 200: ref('ConsoleOrgs') as TSchema, 401: error },
      ),
    },
    async (request) => {
      const caller = await authoriseConsoleCall(request, users, false);
      return { orgs: await users.orgsOf(caller) };
    },
  );
}
