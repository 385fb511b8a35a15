import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CredentialKind } from '../auth/credential.repository.js';
import { safeEqual } from '../auth/secret-hash.js';
import { requireJson } from '../auth/v2-auth.hook.js';
import { AppError } from '../errors.js';
import { pathId } from './admin-input.js';
import type { Management } from './management.js';

export const ADMIN_BODY_LIMIT = 32 * 1024 * 1024;

export interface AdminRoutesOptions {
  management: Management;
  adminToken: string | undefined;
}

type OrgParams = { orgId: string };
type PromotionParams = OrgParams & { promotionId: string };

const org = (request: FastifyRequest<{ Params: OrgParams }>) => pathId(request.params.orgId, 'orgId');
const promotion = (request: FastifyRequest<{ Params: PromotionParams }>) =>
  pathId(request.params.promotionId, 'promotionId');

/** The management API under /admin/v1, behind the operator's bearer token. */
export async function adminRoutes(app: FastifyInstance, { management, adminToken }: AdminRoutesOptions) {
  const { records: service, credentials } = management;
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer\s/i.test(header) ? header.slice(7).trim() : '';
    // Without a configured token the management API is off: nothing can open it.
    if (!adminToken || !token || !safeEqual(token, adminToken)) throw new AppError('unauthorized');
    // A body must be JSON; a POST without one (a rotation that generates the secret) needs no type.
    const hasBody =
      Number(request.headers['content-length'] ?? 0) > 0 ||
      request.headers['transfer-encoding'] !== undefined;
    if ((request.method === 'POST' || request.method === 'PATCH') && hasBody) requireJson(request);
  });

  const opts = { bodyLimit: ADMIN_BODY_LIMIT, config: { envelope: 'admin' as const } };

  app.post('/admin/v1/orgs', opts, async (request, reply) =>
    reply.code(201).send(await service.createOrg(request.body)),
  );

  app.post<{ Params: OrgParams }>('/admin/v1/orgs/:orgId/programs', opts, async (request, reply) =>
    reply.code(201).send(await service.createProgram(org(request), request.body)),
  );

  app.post<{ Params: OrgParams }>('/admin/v1/orgs/:orgId/promotions', opts, async (request, reply) =>
    reply.code(201).send(await service.createPromotion(org(request), request.body)),
  );

  app.get<{ Params: PromotionParams }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId',
    opts,
    async (request) => service.getPromotion(org(request), promotion(request)),
  );

  app.patch<{ Params: PromotionParams }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId',
    opts,
    async (request) => service.patchPromotion(org(request), promotion(request), request.body),
  );

  app.post<{ Params: OrgParams }>('/admin/v1/orgs/:orgId/customers', opts, async (request, reply) =>
    reply.code(201).send(await service.createCustomers(org(request), request.body)),
  );

  const kinds: [CredentialKind, string][] = [
    ['till', 'tills'],
    ['apiClient', 'api-clients'],
  ];
  for (const [kind, path] of kinds) {
    type NameParams = OrgParams & { name: string };
    app.post<{ Params: OrgParams }>(`/admin/v1/orgs/:orgId/${path}`, opts, async (request, reply) =>
      reply.code(201).send(await credentials.create(kind, org(request), request.body)),
    );
    app.get<{ Params: OrgParams }>(`/admin/v1/orgs/:orgId/${path}`, opts, async (request) =>
      credentials.list(kind, org(request)),
    );
    app.patch<{ Params: NameParams }>(`/admin/v1/orgs/:orgId/${path}/:name`, opts, async (request) =>
      credentials.update(kind, org(request), request.params.name, request.body),
    );
    app.post<{ Params: NameParams }>(`/admin/v1/orgs/:orgId/${path}/:name/rotate`, opts, async (request) =>
      credentials.rotate(kind, org(request), request.params.name, request.body),
    );
  }

  app.get<{ Params: PromotionParams }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId/issuals.csv',
    opts,
    async (request, reply) => {
      const lines = await service.issualReportCsv(org(request), promotion(request));
      const name = `promotion-${request.params.promotionId}-issuals.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(Readable.from(lines));
    },
  );

  app.get<{ Params: PromotionParams; Querystring: { limit?: string; cursor?: string } }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId/issuals',
    opts,
    async (request) => service.issualReport(org(request), promotion(request), request.query),
  );
}
