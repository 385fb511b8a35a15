import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { refusals as adminRefusals, schema as adminSchema } from '../admin/route-schema.js';
import { ref } from '../contract/components.contract.js';
import * as C from '../contract/console.contract.js';
import type { ConsoleUserService } from './console-user.service.js';

// The management API's refusals (401, and 429 for too many wrong tokens), and 403 for a session whose
// role or orgs do not allow the call.
const refusals = (...statuses: number[]) => adminRefusals(403, ...statuses);

/** The management API's route schema, listed under its own tag in the document. */
const schema = <Parts extends { params?: TSchema; querystring?: TSchema; body?: TSchema }>(
  operationId: string,
  summary: string,
  parts: Parts,
  answers: Record<number, TSchema>,
) => adminSchema(operationId, summary, parts, answers, 'console users');

/**
 * Console users under /admin/v1/users: registered inside the management API's scope, so the admin
 * token (or the session of an admin of every org) opens them and every change is audited.
 */
export async function consoleUserRoutes(
  fastify: FastifyInstance,
  { users, opts }: { users: ConsoleUserService; opts: object },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/admin/v1/users',
    {
      ...opts,
      ...schema(
        'createConsoleUser',
        'Create a console user (no orgIds: every org)',
        { body: C.CreateUserBody },
        { 201: ref('ConsoleUser') as TSchema, ...refusals(400, 409, 413, 415) },
      ),
    },
    async (request, reply) => reply.code(201).send(await users.create(request.body)),
  );
  app.get(
    '/admin/v1/users',
    {
      ...opts,
      ...schema(
        'listConsoleUsers',
        'Console users, by username',
        { querystring: C.UsersQuery },
        {
          200: ref('ConsoleUsers') as TSchema,
          ...refusals(400),
        },
      ),
    },
    async (request) => users.page(request.query),
  );
  app.get(
    '/admin/v1/users/:username',
    {
      ...opts,
      ...schema(
        'getConsoleUser',
        'A console user',
        { params: C.UserParams },
        {
          200: ref('ConsoleUser') as TSchema,
          ...refusals(400, 404),
        },
      ),
    },
    async (request) => users.get(request.params.username),
  );
  app.patch(
    '/admin/v1/users/:username',
    {
      ...opts,
      ...schema(
        'updateConsoleUser',
        "Change a user's role or orgs, or disable it (which signs it out everywhere)",
        { params: C.UserParams, body: C.PatchUserBody },
        { 200: ref('ConsoleUser') as TSchema, ...refusals(400, 404, 413, 415) },
      ),
    },
    async (request) => users.update(request.params.username, request.body),
  );
  app.post(
    '/admin/v1/users/:username/password',
    {
      ...opts,
      ...schema(
        'resetConsoleUserPassword',
        "Set a user's password (which signs it out everywhere)",
        { params: C.UserParams, body: C.ResetPasswordBody },
        { 200: ref('ConsoleUser') as TSchema, ...refusals(400, 404, 413, 415) },
      ),
    },
    async (request) => users.resetPassword(request.params.username, request.body.password),
  );
}
