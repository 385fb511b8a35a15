import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import type { AuthThrottle } from '../auth/auth-throttle.js';
import type { CredentialKind } from '../auth/credential.repository.js';
import { requireJson } from '../auth/v2-auth.hook.js';
import { DEFAULT_IMPORT_MAX_BYTES } from '../config.js';
import { auditWho } from '../console-auth/console-session.hook.js';
import { consoleUserRoutes } from '../console-auth/console-user.routes.js';
import type { ConsoleUserService } from '../console-auth/console-user.service.js';
import * as C from '../contract/admin.contract.js';
import { type EventRoutesOptions, eventRoutes } from '../events/events.routes.js';
import type { EnrolmentService } from '../promotions/enrolment.service.js';
import { adminTokenHook } from './admin-token.hook.js';
import { adminSchemaErrorFormatter, adminValidatorCompiler } from './admin-validation.js';
import { customerRewardRoutes } from './customer-rewards.routes.js';
import { directoryRoutes } from './directory.routes.js';
import type { Management } from './management.js';
import { ADMIN_BODY_LIMIT, answer, refusals, schema, WRITE_REFUSALS } from './route-schema.js';

export { ADMIN_BODY_LIMIT } from './route-schema.js';

export interface AdminRoutesOptions {
  management: Management;
  adminToken: string | undefined;
  /** The event feed and webhook routes, which live in this scope (its token, validation and audit). */
  events?: EventRoutesOptions;
  /** Failed admin tokens per address (the name is always the same, so no per-name ceiling applies). */
  throttle?: AuthThrottle;
  /** Largest customer import file, in bytes. */
  importMaxBytes?: number;
  /** Console users, managed at /admin/v1/users. */
  users?: ConsoleUserService;
  /** One customer's rewards changed by hand (the console's Customers page). */
  enrolment?: EnrolmentService;
}

/** The management API under /admin/v1, behind the operator's bearer token. */
export async function adminRoutes(
  fastify: FastifyInstance,
  { management, adminToken, events, throttle, importMaxBytes, users, enrolment }: AdminRoutesOptions,
) {
  const { records, customers, reports, credentials, audit } = management;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  // The contract validates every request of this scope and a refusal names the field (see admin-validation).
  app.setValidatorCompiler(adminValidatorCompiler);
  app.setSchemaErrorFormatter(adminSchemaErrorFormatter);

  app.addHook('onRequest', adminTokenHook(adminToken, throttle));
  app.addHook('onRequest', async (request) => {
    // A body must be JSON; a POST without one (a rotation that generates the secret) needs no type.
    const hasBody =
      Number(request.headers['content-length'] ?? 0) > 0 ||
      request.headers['transfer-encoding'] !== undefined;
    const csv = (request.routeOptions.config as { csv?: boolean } | undefined)?.csv === true;
    if (csv && /^text\/csv\s*(;|$)/i.test(request.headers['content-type'] ?? '')) return;
    if ((request.method === 'POST' || request.method === 'PATCH') && hasBody) requireJson(request);
  });

  // Every change that succeeded is written to the audit log before its answer leaves.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method === 'GET' || reply.statusCode >= 400 || !request.routeOptions.url) return payload;
    const params = (request.params ?? {}) as Record<string, unknown>;
    let orgId = Number(params.orgId ?? 0);
    if (params.orgId === undefined && typeof payload === 'string') {
      // Creating an org: the log belongs to the org just made.
      orgId = Number((JSON.parse(payload) as { id?: unknown }).id ?? 0);
    }
    try {
      await audit.record({
        orgId,
        who: auditWho(request),
        method: request.method,
        route: request.routeOptions.url,
        params,
        status: reply.statusCode,
        requestId: request.id,
      });
    } catch (err) {
      request.log.error({ err }, 'the audit log could not be written');
    }
    return payload;
  });

  const opts = { bodyLimit: ADMIN_BODY_LIMIT, config: { envelope: 'admin' as const } };
  if (users) await consoleUserRoutes(app, { users, opts });

  app.get(
    '/admin/v1/audit',
    {
      ...opts,
      ...schema(
        'listAuditEntries',
        'The log of management changes, oldest first',
        { querystring: C.AuditQuery },
        { 200: answer('AuditPage'), ...refusals(400) },
      ),
    },
    async (request) => audit.page(request.query),
  );

  app.post(
    '/admin/v1/orgs',
    {
      ...opts,
      ...schema(
        'createOrg',
        'Create an org',
        { body: C.CreateOrgBody },
        { 201: answer('Org'), ...refusals(...WRITE_REFUSALS, 409) },
      ),
    },
    async (request, reply) => reply.code(201).send(await records.createOrg(request.body)),
  );

  app.post(
    '/admin/v1/orgs/:orgId/programs',
    {
      ...opts,
      ...schema(
        'createProgram',
        'Create a program of an org',
        { params: C.OrgParams, body: C.CreateProgramBody },
        { 201: answer('Program'), ...refusals(...WRITE_REFUSALS, 404, 409) },
      ),
    },
    async (request, reply) =>
      reply.code(201).send(await records.createProgram(request.params.orgId, request.body)),
  );

  app.post(
    '/admin/v1/orgs/:orgId/promotions',
    {
      ...opts,
      ...schema(
        'createPromotion',
        'Create a promotion of a program',
        { params: C.OrgParams, body: C.CreatePromotionBody },
        { 201: answer('Promotion'), ...refusals(...WRITE_REFUSALS, 404, 409) },
      ),
    },
    async (request, reply) =>
      reply.code(201).send(await records.createPromotion(request.params.orgId, request.body)),
  );

  app.get(
    '/admin/v1/orgs/:orgId/promotions/:promotionId',
    {
      ...opts,
      ...schema(
        'getPromotion',
        'A promotion',
        { params: C.PromotionParams },
        { 200: answer('Promotion'), ...refusals(400, 404) },
      ),
    },
    async (request) => records.getPromotion(request.params.orgId, request.params.promotionId),
  );

  app.patch(
    '/admin/v1/orgs/:orgId/promotions/:promotionId',
    {
      ...opts,
      ...schema(
        'updatePromotion',
        'Change a promotion (any field but id and programId)',
        { params: C.PromotionParams, body: C.PatchPromotionBody },
        { 200: answer('Promotion'), ...refusals(...WRITE_REFUSALS, 404, 409) },
      ),
    },
    async (request) => records.patchPromotion(request.params.orgId, request.params.promotionId, request.body),
  );

  app.post(
    '/admin/v1/orgs/:orgId/customers',
    {
      ...opts,
      ...schema(
        'createCustomers',
        'Create up to 10,000 customers, all or nothing',
        { params: C.OrgParams, body: C.CreateCustomersBody },
        { 201: answer('Customers'), ...refusals(...WRITE_REFUSALS, 404, 409) },
      ),
    },
    async (request, reply) =>
      reply.code(201).send(await customers.create(request.params.orgId, request.body)),
  );

  const kinds = [
    {
      kind: 'till' as CredentialKind,
      path: 'tills',
      noun: 'Till',
      create: C.CreateTillBody,
      patch: C.PatchTillBody,
      rotate: C.RotateTillBody,
      one: 'Till' as const,
      list: 'Tills' as const,
    },
    {
      kind: 'apiClient' as CredentialKind,
      path: 'api-clients',
      noun: 'ApiClient',
      create: C.CreateApiClientBody,
      patch: C.PatchApiClientBody,
      rotate: C.RotateApiClientBody,
      one: 'ApiClient' as const,
      list: 'ApiClients' as const,
    },
  ];
  for (const k of kinds) {
    const words = k.kind === 'till' ? 'a till' : 'an API client';
    app.post(
      `/admin/v1/orgs/:orgId/${k.path}`,
      {
        ...opts,
        ...schema(
          `create${k.noun}`,
          `Create ${words}`,
          { params: C.OrgParams, body: k.create },
          { 201: answer(k.one), ...refusals(...WRITE_REFUSALS, 404, 409) },
        ),
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(
            await credentials.create(k.kind, request.params.orgId, request.body as C.CreateCredentialInput),
          ),
    );
    app.get(
      `/admin/v1/orgs/:orgId/${k.path}`,
      {
        ...opts,
        ...schema(
          `list${k.noun}s`,
          `The ${k.path} of an org`,
          { params: C.OrgParams, querystring: C.PageQuery },
          { 200: answer(k.list), ...refusals(400, 404) },
        ),
      },
      async (request) => management.directory.credentials(k.kind, request.params.orgId, request.query),
    );
    app.patch(
      `/admin/v1/orgs/:orgId/${k.path}/:name`,
      {
        ...opts,
        ...schema(
          `update${k.noun}`,
          `Change ${words}: access, rate limit, disabled`,
          { params: C.CredentialParams, body: k.patch },
          { 200: answer(k.one), ...refusals(...WRITE_REFUSALS, 404) },
        ),
      },
      async (request) =>
        credentials.update(
          k.kind,
          request.params.orgId,
          request.params.name,
          request.body as C.PatchCredentialInput,
        ),
    );
    app.post(
      `/admin/v1/orgs/:orgId/${k.path}/:name/rotate`,
      {
        ...opts,
        ...schema(
          `rotate${k.noun}Secret`,
          `Give ${words} a new secret: the one sent, or a generated one shown once`,
          { params: C.CredentialParams, body: k.rotate },
          { 200: answer(k.one), ...refusals(...WRITE_REFUSALS, 404) },
        ),
      },
      async (request) =>
        credentials.rotate(
          k.kind,
          request.params.orgId,
          request.params.name,
          request.body as C.RotateCredentialInput,
        ),
    );
  }

  await directoryRoutes(app, {
    management,
    importMaxBytes: importMaxBytes ?? DEFAULT_IMPORT_MAX_BYTES,
    opts,
  });

  app.get(
    '/admin/v1/orgs/:orgId/promotions/:promotionId/issuals.csv',
    {
      ...opts,
      ...schema(
        'downloadIssualReport',
        'The whole enrolment report as CSV, a row per earn (or per issual without earns)',
        { params: C.PromotionParams },
        {
          200: {
            description: 'CSV',
            content: { 'text/csv': { schema: { type: 'string' } } },
          } as unknown as TSchema,
          ...refusals(400, 404),
        },
      ),
    },
    async (request, reply) => {
      const { orgId, promotionId } = request.params;
      const lines = await reports.csv(orgId, promotionId);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="promotion-${promotionId}-issuals.csv"`)
        .send(Readable.from(lines));
    },
  );

  app.get(
    '/admin/v1/orgs/:orgId/promotions/:promotionId/issuals',
    {
      ...opts,
      ...schema(
        'listIssuals',
        "A promotion's enrolment report: issuals oldest first, each with its earns, revoked ones included",
        { params: C.PromotionParams, querystring: C.PageQuery },
        { 200: answer('IssualReport'), ...refusals(400, 404) },
      ),
    },
    async (request) => reports.report(request.params.orgId, request.params.promotionId, request.query),
  );

  if (enrolment) await customerRewardRoutes(app, { enrolment, opts });
  if (events) await app.register(eventRoutes, events);
}
